import { readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth } from '../../src/test-support/world.js';
import { type ConsoleWorld, clippedSelects, startConsoleWorld } from './harness.js';

const DAY_MS = 86_400_000;

/**
 * Segments in a real browser against a real server: contacts and events sent through /v1/batch, a
 * live segment built with nested AND/OR in the condition builder, its live count and sample, saving
 * and the backfill to the right members; a static list filled from an uploaded CSV; all in Italian.
 */
describe('segments (Chromium)', () => {
  let consoleWorld: ConsoleWorld;
  let page: Page;

  beforeAll(async () => {
    consoleWorld = await startConsoleWorld();
    page = consoleWorld.page;
    const { world } = consoleWorld;
    const identify = (userId: string, plan: string) => ({
      type: 'identify',
      userId,
      traits: { email: `${userId}@example.com`, plan },
    });
    const track = (userId: string, event: string, daysAgo = 0) => ({
      type: 'track',
      userId,
      event,
      timestamp: new Date(Date.now() - daysAgo * DAY_MS).toISOString(),
    });
    const response = await fetch(`${world.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basicAuth(world.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [
          // pro, ordered this week: in.
          identify('ada', 'pro'),
          track('ada', 'Order Completed', 2),
          // pro, signed in: in.
          identify('bob', 'pro'),
          track('bob', 'Signed In'),
          // pro, did nothing: out.
          identify('cyd', 'pro'),
          // ordered, but on the free plan: out.
          identify('dan', 'free'),
          track('dan', 'Order Completed'),
          // pro, but ordered 60 days ago, outside the 30-day window: out.
          identify('eve', 'pro'),
          track('eve', 'Order Completed', 60),
        ],
      }),
    });
    expect(response.status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await consoleWorld?.close();
  });

  const node = (path: string) => page.getByTestId(`node-${path}`);

  it('builds a live segment with nested AND/OR, previews it, saves it and sees it backfilled', async () => {
    // The pipeline has caught up once the server sees every contact and event.
    const countOf = async (rule: unknown) => {
      const { body } = await consoleWorld.api<{ count: number; total: number }>('POST', '/segments/preview', {
        rule,
      });
      return { count: body.count, total: body.total };
    };
    await expect
      .poll(
        async () => [
          await countOf({ type: 'event', event: 'Order Completed' }),
          await countOf({ type: 'event', event: 'Signed In' }),
          await countOf({ type: 'trait', path: 'plan', op: 'exists' }),
        ],
        { timeout: 30_000 },
      )
      .toEqual([
        { count: 3, total: 5 },
        { count: 1, total: 5 },
        { count: 5, total: 5 },
      ]);
    await consoleWorld.logIn();
    await page.getByRole('link', { name: 'Segments' }).click();
    await page.getByText('No segments yet').waitFor();
    await consoleWorld.shot('segments-empty');

    await page.getByRole('link', { name: 'New live segment' }).click();
    await page.getByRole('heading', { name: 'New live segment' }).waitFor();
    // Checked before sending: the empty name and the empty condition say what they need, all counted.
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByText('Fix the marked fields before saving (3)').waitFor();
    expect(await node('rule.0').getByRole('alert').allTextContents()).toEqual(['Required', 'Required']);

    await page.getByLabel('Name', { exact: true }).fill('Active pro customers');
    // plan = pro AND (Order Completed at least once in 30 days OR Signed In)
    await node('rule.0').getByLabel('Trait', { exact: true }).fill('plan');
    await node('rule.0').getByLabel('Value', { exact: true }).fill('pro');
    await node('rule').getByRole('button', { name: 'Add group' }).click();
    expect(await node('rule.1').getByLabel('Contacts must match').inputValue()).toBe('any');
    await node('rule.1.0').getByLabel('Event name').fill('Order Completed');
    await node('rule.1.0').getByLabel('At least (times)').fill('1');
    await node('rule.1.0').getByLabel('In the last (empty = ever)').fill('30 days');
    await node('rule.1').getByRole('button', { name: 'Add condition' }).click();
    await node('rule.1.1').getByLabel('Condition').selectOption('event');
    await node('rule.1.1').getByLabel('Event name').fill('Signed In');
    // A window the server would refuse is caught in place, and the preview waits for it.
    await page.getByRole('button', { name: 'Create' }).click();
    await node('rule.1.0').getByText('A number and a unit: 30m, 12h, 30d or 1w').waitFor();
    expect(await page.getByText('Complete the conditions to see how many contacts match.').isVisible()).toBe(
      true,
    );
    await node('rule.1.0').getByLabel('In the last (empty = ever)').fill('30d');

    // The live count and sample are what was sent: Ada and Bob, of five contacts.
    await expect
      .poll(() => page.getByTestId('preview-count').textContent(), { timeout: 15_000 })
      .toBe('2 of 5 contacts match');
    expect((await page.getByTestId('preview-sample').getByRole('link').allTextContents()).sort()).toEqual([
      'ada@example.com',
      'bob@example.com',
    ]);
    expect(await page.getByTestId('preview-sample').getByRole('link').first().getAttribute('href')).toMatch(
      /^\/contacts\/./,
    );
    await consoleWorld.shot('segment-builder');

    // What only the server refuses lands on the condition and the box it names (rule.all.1.any.0.atLeast).
    const atLeast = node('rule.1.0').getByLabel('At least (times)');
    await atLeast.fill('2000000');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => atLeast.getAttribute('aria-invalid')).toBe('true');
    // Worded by the console from what the server found (too big, and the bound), not Zod's English.
    expect(await node('rule.1.0').getByRole('alert').textContent()).toBe('At most 1,000,000');
    await consoleWorld.shot('segment-server-error');
    await atLeast.fill('1');
    // The server's error goes once the box changes (react-query resets it on its next tick).
    await expect.poll(() => atLeast.getAttribute('aria-invalid')).toBe('false');

    await page.getByRole('button', { name: 'Create' }).click();
    await expect
      .poll(() => page.getByTestId('segment-status').textContent(), { timeout: 30_000 })
      .toBe('Ready: 2 members');
    // Opened as itself once created, it still says it was saved.
    expect(page.url()).toMatch(/\/segments\/seg_/);
    expect(await page.locator('.notice').filter({ hasText: 'Segment saved' }).count()).toBe(1);
    await expect.poll(() => page.getByTestId('segment-members').locator('tbody tr').count()).toBe(2);
    // Members show as who they are, not as profile ids.
    expect(await page.getByTestId('segment-members').getByRole('link').allTextContents()).toEqual(
      expect.arrayContaining(['ada@example.com', 'bob@example.com']),
    );
    await consoleWorld.shot('segment-ready');
    // Said once: a reload opens the segment without it.
    await page.reload();
    await expect.poll(() => page.getByTestId('segment-status').textContent()).toBe('Ready: 2 members');
    expect(await page.locator('.notice').filter({ hasText: 'Segment saved' }).count()).toBe(0);

    // What the builder drew is the rule the server keeps.
    const saved = (
      await consoleWorld.api<{ items: Array<{ rule: unknown; members: number }> }>('GET', '/segments')
    ).body.items;
    expect(saved).toEqual([
      expect.objectContaining({
        members: 2,
        rule: {
          all: [
            { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
            {
              any: [
                { type: 'event', event: 'Order Completed', where: [], within: '30d', atLeast: 1 },
                { type: 'event', event: 'Signed In', where: [], atLeast: 1 },
              ],
            },
          ],
        },
      }),
    ]);

    // Reopened, the builder shows the saved rule again.
    await page.reload();
    expect(await node('rule.1.1').getByLabel('Event name').inputValue()).toBe('Signed In');
    expect(await node('rule.1.0').getByLabel('In the last (empty = ever)').inputValue()).toBe('30d');

    // Reopened, nothing has changed: no warning. A changed rule says saving reports whom it moves, and
    // it does: Eve, who ordered 60 days ago, enters with a 90-day window.
    expect(await page.getByTestId('rule-change-hint').count()).toBe(0);
    await node('rule.1.0').getByLabel('In the last (empty = ever)').fill('90d');
    expect(await page.getByTestId('rule-change-hint').textContent()).toMatch(
      /“Segment Entered”.*It has 2 members now\.$/,
    );
    await consoleWorld.shot('segment-rule-change');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => page.getByTestId('segment-status').textContent(), { timeout: 30_000 })
      .toBe('Ready: 3 members');
    const eve = (await consoleWorld.api<{ items: Array<{ id: string }> }>('GET', '/profiles?q=eve')).body
      .items[0];
    await expect
      .poll(async () => {
        const events = await consoleWorld.api<{ items: Array<{ name: string | null }> }>(
          'GET',
          `/profiles/${eve?.id}/events`,
        );
        return events.body.items.map((event) => event.name).filter((name) => name?.startsWith('Segment'));
      })
      .toEqual(['Segment Entered']);

    // Live: Cyd signs in while the page is open, and the page counts her without a reload.
    const signedIn = await fetch(`${consoleWorld.world.url}/v1/track`, {
      method: 'POST',
      headers: { authorization: basicAuth(consoleWorld.world.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'cyd', event: 'Signed In' }),
    });
    expect(signedIn.status).toBe(200);
    await expect
      .poll(() => page.getByTestId('segment-status').textContent(), { timeout: 30_000 })
      .toBe('Ready: 4 members');
    await expect.poll(() => page.getByTestId('segment-members').locator('tbody tr').count()).toBe(4);

    await page.getByRole('link', { name: 'All segments' }).click();
    const row = page.getByTestId('segments').getByRole('row', { name: /Active pro customers/ });
    // The list may show what it last read for a moment, while it reads again.
    await expect
      .poll(() => row.getByRole('cell').allTextContents(), { timeout: 15_000 })
      .toEqual(expect.arrayContaining(['Active pro customers', 'Live', '4', 'Ready']));
    await consoleWorld.shot('segments-list');
  }, 120_000);

  it('fills a static list from an uploaded CSV and reports the rows that match no contact', async () => {
    await page.getByRole('link', { name: 'New static list' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Fair visitors');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'Upload contacts' }).waitFor();
    await page.getByText('No members yet: upload a CSV file of contacts above.').waitFor();

    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByText('Choose a CSV file first').waitFor();
    await page.getByLabel('CSV file').setInputFiles({
      name: 'visitors.csv',
      mimeType: 'text/csv',
      // Ada twice: one contact matched, the second row counted as repeated.
      buffer: Buffer.from(
        'user_id,company\nada,Acme\nghost-1,Nowhere\ncyd,Initech\nghost-2,Void\nada,Acme\n',
      ),
    });
    await page.getByRole('button', { name: 'Upload' }).click();
    // Each count after its label: no sentence to agree with a count of one ("1 ripetute").
    await page
      .getByText('Rows: 5 · contacts matched: 2 · unmatched: 2 · repeated: 1 · added to the list: 2')
      .waitFor();
    const unmatched = await page.getByTestId('unmatched-rows').locator('tbody tr').allTextContents();
    expect(unmatched).toEqual(['3ghost-1', '5ghost-2']);
    await expect.poll(() => page.getByTestId('segment-members').locator('tbody tr').count()).toBe(2);
    await consoleWorld.shot('segment-static-upload');
    // The members go to a spreadsheet as the admin's session downloads them.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download as CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('Fair-visitors.csv');
    const rows = parseCsv(readFileSync(await download.path()), { bom: true, columns: true }) as Array<
      Record<string, string>
    >;
    expect(Object.keys(rows[0] ?? {})).toEqual([
      'profile_id',
      'user_id',
      'anonymous_id',
      'entered_at',
      'email',
      'first_name',
      'last_name',
      'phone',
      'company',
    ]);
    expect(rows.map((row) => row.user_id).sort()).toEqual(['ada', 'cyd']);

    await page.getByLabel('Language').selectOption('it');
    await page.getByRole('heading', { name: 'Carica contatti' }).waitFor();
    await page
      .getByText('Righe: 5 · contatti trovati: 2 · non trovate: 2 · ripetute: 1 · aggiunti alla lista: 2')
      .waitFor();
    // What the server finds wrong with a file, named by reason: said in Italian too.
    const refusedFile = async (csv: string) => {
      await page.getByLabel('File CSV').setInputFiles({
        name: 'visitors.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(csv),
      });
      await page.getByRole('button', { name: 'Carica', exact: true }).click();
      const file = page.getByLabel('File CSV');
      await expect.poll(() => file.getAttribute('aria-invalid'), { timeout: 15_000 }).toBe('true');
      const text = await page.locator(`[id="${await file.getAttribute('aria-describedby')}"]`).textContent();
      // The next upload starts from a field with no error.
      await page.reload();
      await page.getByRole('heading', { name: 'Carica contatti' }).waitFor();
      return text;
    };
    expect(await refusedFile('user_id,company\n')).toBe(
      'Il file ha un’intestazione ma nessuna riga: serve una riga per contatto.',
    );
    expect(await refusedFile('user_id;company\nada;Acme\n')).toMatch(
      /^L’intestazione \(userid;company\) non ha una colonna user_id, anonymous_id o email, e le colonne sembrano separate da punti e virgola/,
    );
    await page.getByRole('link', { name: 'Tutti i segmenti' }).click();
    await page.getByRole('heading', { name: 'Segmenti' }).waitFor();
    await page.getByRole('cell', { name: 'Lista statica' }).waitFor();
    await consoleWorld.shot('segments-it');
    await page.getByRole('link', { name: 'Active pro customers' }).click();
    await page.getByRole('heading', { name: 'Condizioni' }).waitFor();
    await expect
      .poll(() => page.getByTestId('preview-count').textContent(), { timeout: 15_000 })
      .toBe('4 contatti su 5 corrispondono');
    await consoleWorld.shot('segment-builder-it');
    // A refusal only the server makes, in Italian too, with the number as Italian writes it.
    const atLeastIt = node('rule.1.0').getByLabel('Almeno (volte)');
    await atLeastIt.fill('2000000');
    await page.getByRole('button', { name: 'Salva', exact: true }).click();
    await expect.poll(() => atLeastIt.getAttribute('aria-invalid')).toBe('true');
    expect(await node('rule.1.0').getByRole('alert').textContent()).toBe('Al massimo 1.000.000');
    // The preview says so once, pointing at the condition, not with the server's field path.
    await expect
      .poll(() => page.getByTestId('preview-refused').textContent(), { timeout: 15_000 })
      .toBe('Niente da contare finché la condizione segnata nella regola non è corretta.');
  }, 120_000);

  it('checks the 5,000 values of the in lists and a filter path starting properties. beside their boxes, sending nothing', async () => {
    const { world } = consoleWorld;
    await page.goto(`${world.url}/segments`);
    await page.getByLabel(/^(Language|Lingua)$/).selectOption('en');
    // Whatever the builder sends about segments is seen here: nothing until the rule is right.
    const sent: string[] = [];
    const recordSegmentCall = (request: { method(): string; url(): string }) => {
      if (request.method() !== 'GET' && /\/segments(\/|$)/.test(new URL(request.url()).pathname))
        sent.push(`${request.method()} ${new URL(request.url()).pathname}`);
    };
    page.on('request', recordSegmentCall);
    try {
      await page.goto(`${world.url}/segments/new?kind=live`);
      await page.getByLabel('Name', { exact: true }).fill('Postcodes ordering');
      const postcodes = (count: number) => Array.from({ length: count }, (_, i) => 10_000 + i).join(', ');
      // Filled so that the rule is never complete on the way (a complete one would be previewed).
      await node('rule.0').getByLabel('Trait', { exact: true }).fill('postcode');
      await node('rule').getByRole('button', { name: 'Add condition' }).click();
      await node('rule.1').getByLabel('Condition').selectOption('event');
      await node('rule.1').getByLabel('Event name').fill('Order Completed');
      await node('rule.1').getByRole('button', { name: 'Add property filter' }).click();
      const filter = node('rule.1').getByTestId('filter-0');
      await filter.getByLabel('Property').fill('properties.postcode');
      await filter.getByLabel('Operator').selectOption('in');
      await filter.getByLabel('Value', { exact: true }).fill(postcodes(1001));
      await node('rule.0').getByLabel('Operator').selectOption('in');
      await node('rule.0').getByLabel('Value', { exact: true }).fill(postcodes(4000));

      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByText('Fix the marked fields before saving (2)').waitFor();
      expect(await filter.getByRole('alert').allTextContents()).toEqual([
        'Paths are read inside the event’s properties: leave out “properties.” (total, not properties.total)',
        'The lists of a segment hold at most 5,000 values in all: this one takes them past it',
      ]);
      expect(await filter.getByLabel('Property').getAttribute('aria-invalid')).toBe('true');
      expect(sent).toEqual([]);
      await consoleWorld.shot('segment-in-list-limit');

      // 5,000 in all, and the path inside the properties: the rule the server takes.
      await filter.getByLabel('Property').fill('postcode');
      await filter.getByLabel('Value', { exact: true }).fill(postcodes(1000));
      expect(await node('rule').getByRole('alert').count()).toBe(0);
      await page.getByRole('button', { name: 'Create' }).click();
      await expect.poll(() => page.getByTestId('segment-status').count(), { timeout: 15_000 }).toBe(1);
      expect(sent).toContain(`POST /api/workspaces/${world.workspaceId}/segments`);
    } finally {
      page.off('request', recordSegmentCall);
    }
  }, 120_000);

  it('shows every choice of every kind of condition whole, on a laptop and a small laptop, in English and Italian', async () => {
    const { world } = consoleWorld;
    const clipped: Record<string, string[]> = {};
    try {
      for (const language of ['en', 'it']) {
        await page.goto(`${world.url}/segments`);
        await page.getByLabel(/^(Language|Lingua)$/).selectOption(language);
        for (const width of [1280, 1024]) {
          await page.setViewportSize({ width, height: 800 });
          await page.goto(`${world.url}/segments/new?kind=live`);
          // The first condition's kind: each kind brings its own fields (e.g. "did not perform").
          const kind = page.locator('.rule-condition-head select').first();
          await kind.waitFor();
          for (const label of await kind.locator('option').allTextContents()) {
            await kind.selectOption({ label });
            clipped[`${language} ${width} ${label}`] = await clippedSelects(page);
          }
          // An event's name shows whole beside its counts.
          await kind.selectOption('event');
          const eventName = page.locator('.rule-fields input:not([inputmode])').first();
          await eventName.fill('Order Completed');
          const overflow = await eventName.evaluate((input) => input.scrollWidth - input.clientWidth);
          clipped[`${language} ${width} event name`] =
            overflow > 0 ? [`Order Completed (${overflow} px short)`] : [];
        }
      }
    } finally {
      await page.setViewportSize({ width: 1500, height: 950 });
    }
    expect(Object.entries(clipped).filter(([, cut]) => cut.length > 0)).toEqual([]);
  }, 120_000);
});
