import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonReceiver } from '../../src/test-support/json-receiver.js';
import { basicAuth } from '../../src/test-support/world.js';
import { type ConsoleWorld, clippedSelects, startConsoleWorld, wideElements } from './harness.js';

interface HandOffPage {
  items: Array<{ profileId: string; owner: string; status: string }>;
}

/**
 * The scoring screen in a real browser against a real server: build a score model (checked before
 * saving), send events that earn points and see the distribution chart count them, set up the MQL
 * hand-off with a short SLA to a loopback CRM, watch a contact's hand-off appear and then breach its
 * SLA, and read it in Italian. Screenshots land in artifacts/screenshots.
 */
describe('scoring screen (Chromium)', () => {
  let consoleWorld: ConsoleWorld;
  let page: Page;
  let crm: JsonReceiver<{ type?: string }>;

  beforeAll(async () => {
    consoleWorld = await startConsoleWorld();
    page = consoleWorld.page;
    crm = await new JsonReceiver<{ type?: string }>().start();
    // The CRM's webhook destination belongs to the settings screen; here it comes through the API.
    const current = await consoleWorld.api<Record<string, unknown>>('GET', '/settings');
    const saved = await consoleWorld.api('PUT', '/settings', {
      ...current.body,
      webhooks: {
        destinations: [{ id: 'crm', url: crm.baseUrl }],
        allowPrivateNetworks: true,
        maxAttempts: 3,
      },
    });
    expect(saved.status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await crm?.stop();
    await consoleWorld?.close();
  });

  const shot = (name: string) => consoleWorld.shot(name);
  let sequence = 0;
  /** Sends Segment calls through the public ingest API with the write key, as a website would. */
  async function send(calls: Array<Record<string, unknown>>) {
    const { world } = consoleWorld;
    const timestamp = new Date().toISOString();
    const batch = calls.map((call) => ({ timestamp, messageId: `scoring-e2e-${++sequence}`, ...call }));
    const response = await fetch(`${world.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basicAuth(world.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
    expect(response.status).toBe(200);
  }
  const pageView = (userId: string, path: string) => ({
    type: 'track',
    userId,
    event: 'Page Viewed',
    properties: { path },
  });

  it('builds a model, charts the scores events earn, hands an MQL to sales and shows the missed SLA, in English and Italian', async () => {
    await consoleWorld.logIn();
    await page.getByRole('link', { name: 'Scoring' }).click();
    await page.getByRole('heading', { name: 'Scoring' }).waitFor();
    await page.getByText('No score models yet').waitFor();
    await shot('scoring-empty');

    // A model with one event rule: pricing-page views, fading with a half-life.
    await page.getByRole('button', { name: 'New model' }).click();
    await page.getByLabel('Model name').fill('Engagement');
    await page.getByLabel('Event name').fill('Page Viewed');
    await page.getByLabel('Points (negative to take away)').fill('ten');
    await page.getByLabel('Half-life (optional, e.g. 30d)').fill('30 days');
    await page.getByRole('button', { name: 'Add property filter' }).click();
    await page.getByLabel('Property (e.g. path)').fill('path');
    await page.getByLabel('Comparison').selectOption('contains');
    await page.getByRole('button', { name: 'Save model' }).click();
    // Checked before sending: each error sits under its field.
    await page.getByText('Fix the highlighted fields before saving.').waitFor();
    const errorOf = async (label: string) => {
      const described = await page.getByLabel(label).getAttribute('aria-describedby');
      return described ? page.locator(`[id="${described}"]`).textContent() : null;
    };
    expect(await errorOf('Points (negative to take away)')).toBe(
      'Must be a number, without thousands separators (1000, 2.5)',
    );
    expect(await errorOf('Half-life (optional, e.g. 30d)')).toBe(
      'A number and a unit: 30s, 15m, 12h, 30d or 2w',
    );
    expect(await errorOf('Value')).toBe('Required');
    await shot('scoring-model-errors');
    await page.getByLabel('Points (negative to take away)').fill('10');
    await page.getByLabel('Half-life (optional, e.g. 30d)').fill('30d');
    await page.getByLabel('Value').fill('/pricing');
    await page.getByRole('button', { name: 'Save model' }).click();
    await page.getByText('Model saved').waitFor();
    await page.getByText('No contact has a score under Engagement yet').waitFor();

    // What the browser built is what the server keeps.
    const settings = await consoleWorld.api<{ scoring: { models: unknown[] } }>('GET', '/settings');
    expect(settings.body.scoring.models).toEqual([
      {
        id: 'engagement',
        name: 'Engagement',
        rules: [
          {
            id: 'rule_1',
            kind: 'event',
            event: 'Page Viewed',
            where: [{ path: 'path', op: 'contains', value: '/pricing' }],
            points: 10,
            repeat: 'every_time',
            halfLife: '30d',
          },
        ],
      },
    ]);

    // Ada views pricing twice (20) and the blog (nothing); Bo views pricing once (10).
    await send([
      pageView('ada', '/pricing'),
      pageView('ada', '/pricing/teams'),
      pageView('ada', '/blog'),
      pageView('bo', '/pricing'),
    ]);
    const summary = page.getByTestId('distribution-summary-engagement');
    await expect
      .poll(() => summary.textContent().catch(() => null), { timeout: 30_000 })
      .toBe('2 contacts scored; the most (1): 10 to under 20.');
    await page.getByText('Show as a table').click();
    const cells = page.getByTestId('distribution-engagement').locator('tbody td');
    expect(await cells.allTextContents()).toEqual(['10 to under 20', '1', '20 to under 30', '1']);
    expect(await page.getByTestId('distribution-engagement').locator('.recharts-bar-rectangle').count()).toBe(
      2,
    );
    await shot('scoring-models');

    // Lifecycle: 50 engagement points make an MQL, handed to Marco, who must accept within 3 seconds.
    await page.getByRole('link', { name: 'Lifecycle and hand-off' }).click();
    await page.getByLabel('Keep lifecycle stages').check();
    await page.getByRole('button', { name: 'Add stage rule' }).click();
    await page.getByLabel('Score model').selectOption('engagement');
    await page.getByLabel('Score at least').fill('50');
    await page.getByLabel('To stage').selectOption('mql');
    await page.getByLabel('Hand contacts over to sales').check();
    await page.getByLabel('Sales must accept within (SLA, e.g. 2d)').fill('3 seconds');
    await page.getByLabel('CRM webhook destination').selectOption('crm');
    await page.getByLabel('Owner id').fill('marco');
    await page.getByLabel('Name', { exact: true }).fill('Marco');
    await page.getByLabel('E-mail').fill('marco@example');
    await page.getByRole('button', { name: 'Save lifecycle and hand-off' }).click();
    expect(await errorOf('Sales must accept within (SLA, e.g. 2d)')).toBe(
      'A number and a unit: 30s, 15m, 12h, 30d or 2w',
    );
    expect(await errorOf('E-mail')).toBe('Must be an e-mail address');
    await page.getByLabel('Sales must accept within (SLA, e.g. 2d)').fill('3s');
    await page.getByLabel('E-mail').fill('marco@example.com');
    await page.getByRole('button', { name: 'Save lifecycle and hand-off' }).click();
    await page.getByText('Lifecycle and hand-off saved').waitFor();
    await shot('scoring-lifecycle');
    const intentSettings = await consoleWorld.api<Record<string, unknown>>('GET', '/settings');
    expect(intentSettings.body.lifecycle).toMatchObject({
      rules: [{ kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 }],
    });
    expect(intentSettings.body.handOff).toEqual({
      stage: 'mql',
      owners: [{ id: 'marco', name: 'Marco', email: 'marco@example.com' }],
      assignment: [],
      destination: 'crm',
      acceptWithin: '3s',
      recycleOnMiss: false,
    });
    // The SMTP settings made by the harness survive: the page changed its own parts only.
    expect(intentSettings.body.smtp).toMatchObject({ host: '127.0.0.1' });

    await page.getByRole('link', { name: 'Hand-offs' }).click();
    await page.getByText('No hand-offs yet').waitFor();

    // Cy views five pricing pages: 50 points, an MQL.
    await send([
      { type: 'identify', userId: 'cy', traits: { email: 'cy@example.com' } },
      ...Array.from({ length: 5 }, (_, i) => pageView('cy', `/pricing/${i}`)),
    ]);
    const table = page.getByTestId('hand-offs');
    await expect
      .poll(
        () =>
          table
            .locator('tbody tr')
            .first()
            .textContent()
            .catch(() => null),
        { timeout: 30_000 },
      )
      .toMatch(/marco/);
    const handOffs = await consoleWorld.api<HandOffPage>('GET', '/hand-offs');
    const [handOff] = handOffs.body.items;
    expect(handOffs.body.items).toHaveLength(1);
    expect(await table.getByRole('link').getAttribute('href')).toBe(`/contacts/${handOff?.profileId}`);
    // The contact shows as who it is, not as a profile id.
    expect(await table.getByRole('link').textContent()).toBe('cy@example.com');

    // Nobody accepts it: once the SLA runs out it shows as breached, and the CRM heard of both.
    await page.getByLabel('Status').selectOption('breached');
    await expect
      .poll(
        () =>
          table
            .locator('tbody tr')
            .first()
            .textContent()
            .catch(() => null),
        { timeout: 30_000 },
      )
      .toMatch(/marco.*SLA breached/);
    await expect
      .poll(() => crm.received.map((body) => body.type), { timeout: 30_000 })
      .toEqual(['mops.hand_off.created', 'mops.hand_off.sla_missed']);
    await page.getByLabel('Status').selectOption('accepted');
    await page.getByText('No hand-offs with this status.').waitFor();
    await page.getByLabel('Status').selectOption('breached');
    await table.waitFor();
    await shot('scoring-hand-offs');

    // Cy holds a stage: the lifecycle cannot go, and the refusal says why without pointing at a
    // field that is not there.
    await page.getByRole('link', { name: 'Lifecycle and hand-off' }).click();
    await page.getByLabel('Keep lifecycle stages').uncheck();
    await page.getByRole('button', { name: 'Save lifecycle and hand-off' }).click();
    const refusal = page.locator('.intent-form [role="alert"]');
    await expect.poll(() => refusal.textContent(), { timeout: 15_000 }).toMatch(/Contacts are at/);
    expect(await refusal.textContent()).not.toContain('highlighted');
    await page.getByRole('link', { name: 'Hand-offs' }).click();
    await table.waitFor();

    await page.getByLabel('Language').selectOption('it');
    await page.getByRole('heading', { name: 'Punteggi' }).waitFor();
    await page.getByRole('columnheader', { name: 'Da accettare entro' }).waitFor();
    expect(await table.locator('.badge').first().textContent()).toBe('SLA mancato');
    await shot('scoring-hand-offs-it');
    await page.getByRole('link', { name: 'Modelli di punteggio' }).click();
    await expect
      .poll(() => page.getByTestId('distribution-summary-engagement').textContent())
      .toBe('3 contatti con punteggio; i più (1): da 10 a meno di 20.');
    await shot('scoring-models-it');

    await page.getByRole('link', { name: 'Passaggi alle vendite' }).click();
    await table.getByRole('link').click();
    await page.waitForURL(`**/contacts/${handOff?.profileId}`);

    // The contact's own page shows the hand-off too, and sends a rejected lead back by hand.
    await page.getByRole('tab', { name: 'Storico delle fasi' }).click();
    const own = page.getByTestId('contact-hand-offs');
    await own.waitFor();
    // Why it moved, in Italian too: the reasons the server records are read, not shown in English.
    await page
      .locator('table.stage-history')
      .getByText(/^punteggio Engagement arrivato a 50$/)
      .waitFor();
    expect(await own.locator('tbody tr').first().textContent()).toMatch(/Marco.*SLA mancato/);
    await shot('contact-hand-offs-it');
    await page.getByRole('button', { name: 'Riporta a lead' }).click();
    // Nothing moves until it is confirmed.
    await page.getByRole('alertdialog').getByText('Riportare questo contatto da mql a lead?').waitFor();
    await page.getByRole('button', { name: 'Annulla' }).click();
    expect(await page.getByRole('alertdialog').count()).toBe(0);
    expect(
      (await consoleWorld.api<{ stage: string }>('GET', `/profiles/${handOff?.profileId}/intent`)).body.stage,
    ).toBe('mql');
    await page.getByRole('button', { name: 'Riporta a lead' }).click();
    await page.getByRole('button', { name: 'Sì, riporta a lead' }).click();
    await page.getByText('Riportato a lead.').waitFor();
    const intent = await consoleWorld.api<{ stage: string }>('GET', `/profiles/${handOff?.profileId}/intent`);
    expect(intent.body.stage).toBe('lead');
    // Its SLA had run out, but the CRM still had the lead with Marco: it hears of the recycle too.
    await expect
      .poll(() => crm.received.map((body) => body.type), { timeout: 30_000 })
      .toContain('mops.hand_off.recycled');

    // Its missed SLA stays findable, with when it ran out, whatever became of the hand-off since.
    await page.getByRole('link', { name: 'Punteggi' }).click();
    await page.getByRole('link', { name: 'Passaggi alle vendite' }).click();
    await page.getByLabel('Stato').selectOption('missed');
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 30_000 }).toBe(1);
    const missedAt = await table.locator('tbody tr td').nth(5).textContent();
    expect(missedAt).toMatch(/\d/);
    await page.getByRole('columnheader', { name: 'SLA mancato il' }).waitFor();
  }, 180_000);

  it('counts the calls to the CRM among the messages, and each channel on its own', async () => {
    await page.goto(`${consoleWorld.world.url}/dashboard`);
    const summary = () => page.getByTestId('messages-chart-summary').textContent();
    // The hand-off, its missed SLA, and the recycle by hand after it: the CRM hears of each.
    await expect.poll(summary).toBe('Inviati: 3 · aperti: 0 · cliccati: 0 · rimbalzati: 0 · non riusciti: 0');
    await page.getByLabel('Canale').selectOption('email');
    await page.getByText('Nessun messaggio in questo periodo').waitFor();
    await page.getByLabel('Canale').selectOption('webhook');
    await expect.poll(summary).toBe('Inviati: 3 · aperti: 0 · cliccati: 0 · rimbalzati: 0 · non riusciti: 0');
  });

  it('draws the lifecycle funnel: who reached each stage in the range, and who is at each now', async () => {
    const { world, api } = consoleWorld;
    await page.goto(`${world.url}/dashboard`);
    await page.getByLabel(/^(Language|Lingua)$/).selectOption('en');
    const chart = page.getByTestId('lifecycle-chart');
    await chart.getByRole('button', { name: 'Show data table' }).click();
    const rows = chart.locator('tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThan(0);
    const table = (await rows.evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    )) as string[][];
    const { stages } = (await api<{ lifecycle: { stages: string[] } }>('GET', '/settings')).body.lifecycle;
    expect(table.map(([stage]) => stage)).toEqual(stages);
    // Each stage's contacts now, as the contacts list counts them at that stage.
    for (const [stage, , now] of table) {
      const listed = await api<{ items: unknown[] }>('GET', `/profiles?stage=${stage}&limit=100`);
      expect(Number(now), `${stage} now`).toBe(listed.body.items.length);
    }
    // Today a lead reached MQL and was handed to sales (then sent back): MQL was reached.
    expect(Number(table.find(([stage]) => stage === 'mql')?.[1])).toBeGreaterThanOrEqual(1);
    expect(await page.getByTestId('lifecycle-chart-summary').textContent()).toMatch(
      /^In this range \d+ moved forward into a stage \(.*mql \d+.*\); now \d+ are at one\.$/,
    );
    await shot('dashboard-lifecycle');
  });

  it('fits every page a marketer opens on a phone (390 px) without the page scrolling sideways', async () => {
    const { world } = consoleWorld;
    const [handOff] = (await consoleWorld.api<HandOffPage>('GET', '/hand-offs')).body.items;
    const journey = await consoleWorld.api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'On a phone',
        entry: { trigger: { type: 'event', event: 'Signed Up' } },
        start: 'done',
        steps: [{ id: 'done', type: 'exit' }],
      },
    });
    expect(journey.status).toBe(201);
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      // What sticks out on each page, innermost first: an empty list when nothing does.
      const overflows: Record<string, string[]> = {};
      for (const path of [
        '/dashboard',
        '/journeys',
        '/contacts',
        '/contacts/import',
        `/contacts/${handOff?.profileId}`,
        '/segments',
        '/segments/new?kind=live',
        '/scoring',
        '/scoring?tab=lifecycle',
        '/scoring?tab=hand-offs',
        '/settings',
        `/journeys/${journey.body.id}`,
      ]) {
        await page.goto(`${world.url}${path}`);
        await page.locator('main h1').first().waitFor();
        await page.waitForLoadState('networkidle');
        overflows[path] = await wideElements(page);
      }
      expect(Object.entries(overflows).filter(([, wide]) => wide.length > 0)).toEqual([]);
      // The journey builder's canvas keeps room to draw on (the last page opened).
      const canvas = await page.locator('.canvas').boundingBox();
      expect(canvas?.height).toBeGreaterThan(300);
      expect(canvas?.width).toBeGreaterThan(300);
      await page.goto(`${world.url}/scoring?tab=hand-offs`);
      await page.locator('main h1').first().waitFor();
      await shot('phone-hand-offs');
      // The whole navigation and the log-out stay within reach.
      await page.getByRole('button', { name: /Esci|Log out/ }).click({ trial: true });
    } finally {
      await page.setViewportSize({ width: 1500, height: 950 });
    }
  }, 120_000);

  it('shows every choice of every select whole on a 1280 px screen, in English and Italian', async () => {
    const { world, api } = consoleWorld;
    const [handOff] = (await api<HandOffPage>('GET', '/hand-offs')).body.items;
    const template = await api<{ id: string }>('POST', '/templates', {
      name: 'Welcome',
      subject: 'Welcome',
      mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section></mj-body></mjml>',
    });
    expect(template.status).toBe(201);
    // A step of every kind whose panel has choices, and a branch asking what a branch can ask.
    const journey = await api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'On a laptop',
        entry: { trigger: { type: 'event', event: 'Signed Up' } },
        start: 'welcome',
        steps: [
          { id: 'welcome', type: 'send_email', template: template.body.id, next: 'wait_for_event_1' },
          {
            id: 'wait_for_event_1',
            type: 'wait_for_event',
            event: 'Demo Requested',
            timeout: '3d',
            next: 'branch_1',
            timeoutNext: 'branch_1',
          },
          {
            id: 'branch_1',
            type: 'branch',
            branches: [
              {
                conditions: [
                  { source: 'message', step: 'welcome', op: 'not_opened' },
                  { source: 'lifecycle', op: 'not_in', stages: ['mql'] },
                  { source: 'score', model: 'engagement', op: 'gte', value: 20 },
                ],
                next: 'crm',
              },
            ],
            otherwise: 'done',
          },
          { id: 'crm', type: 'webhook', destination: 'crm', next: 'done' },
          { id: 'done', type: 'exit' },
        ],
      },
    });
    expect(journey.status).toBe(201);
    const laptop = { width: 1280, height: 800 };
    await page.setViewportSize(laptop);
    try {
      const clipped: Record<string, string[]> = {};
      for (const language of ['en', 'it']) {
        await page.goto(`${world.url}/dashboard`);
        await page.getByLabel(/^(Language|Lingua)$/).selectOption(language);
        const paths = [
          '/dashboard',
          '/journeys',
          '/templates',
          `/templates/${template.body.id}`,
          '/contacts',
          `/contacts/${handOff?.profileId}?tab=stages`,
          '/segments',
          '/segments/new?kind=live',
          '/scoring',
          '/scoring?tab=lifecycle',
          '/scoring?tab=hand-offs',
          ...['email', 'sms', 'webhooks', 'topics', 'limits', 'users'].map((tab) => `/settings?tab=${tab}`),
        ];
        // Three browser windows check the pages side by side (each mostly waits for its requests to
        // settle). The others start from this one's log-in and language; windows of their own, as a
        // second tab of one would slow this one's animation frames (and so each click) to one a second.
        const others = await Promise.all(
          [1, 2].map(async () =>
            (
              await page
                .context()
                .browser()!
                .newContext({ storageState: await page.context().storageState(), viewport: laptop })
            ).newPage(),
          ),
        );
        const windows = [page, ...others];
        try {
          await Promise.all(
            windows.map(async (window, index) => {
              for (const path of paths.filter((_, at) => at % windows.length === index)) {
                await window.goto(`${world.url}${path}`);
                await window.locator('main h1').first().waitFor();
                await window.waitForLoadState('networkidle');
                expect(await window.locator('html').getAttribute('lang')).toBe(language);
                clipped[`${language} ${path}`] = await clippedSelects(window);
              }
            }),
          );
        } finally {
          for (const other of others) await other.context().close();
        }
        // The journey builder's side panel, step by step.
        await page.goto(`${world.url}/journeys/${journey.body.id}`);
        for (const node of ['entry', 'welcome', 'wait_for_event_1', 'crm', 'branch_1']) {
          await page.getByTestId(`node-${node}`).click();
          await page.waitForLoadState('networkidle');
          clipped[`${language} journey step ${node}`] = await clippedSelects(page);
        }
        await shot(`laptop-journey-branch-${language}`);
      }
      expect(Object.entries(clipped).filter(([, cut]) => cut.length > 0)).toEqual([]);
      expect(Object.keys(clipped)).toHaveLength(2 * (17 + 5));
    } finally {
      await page.setViewportSize({ width: 1500, height: 950 });
    }
  }, 120_000);

  /** The text a screen reader reads after a control's name: its hint, or its error. */
  async function descriptionOf(control: ReturnType<Page['getByLabel']>): Promise<string | null> {
    const described = await control.getAttribute('aria-describedby');
    return described ? page.locator(`[id="${described}"]`).textContent() : null;
  }

  it('sets the SLA to count only business hours, checked on its fields, and shows them again', async () => {
    const { world } = consoleWorld;
    await page.goto(`${world.url}/scoring`);
    await page.getByLabel(/^(Language|Lingua)$/).selectOption('en');
    await page.getByRole('link', { name: 'Lifecycle and hand-off' }).click();
    await page.getByLabel('Count only business hours').check();
    await page.getByText(/in the workspace’s time zone \(UTC\)/).waitFor();
    // Monday to Friday are offered; sales here works Saturdays instead of Fridays.
    await page.getByLabel('Friday').uncheck();
    await page.getByLabel('Saturday').check();
    await page.getByLabel('From (HH:MM)').fill('8:00');
    await page.getByLabel('To (HH:MM)').fill('18:30');
    await page.getByRole('button', { name: 'Save lifecycle and hand-off' }).click();
    const from = page.getByLabel('From (HH:MM)');
    const described = await from.getAttribute('aria-describedby');
    await expect
      .poll(async () => (described ? page.locator(`[id="${described}"]`).textContent() : null))
      .toBe('A time of day, HH:MM (24-hour)');
    await from.fill('08:00');

    // What the server would refuse is told at its field before anything is sent: an SLA past 52
    // weeks of these hours (5 days of 10.5 hours: 2,730 hours), no working day, an end before the start.
    const save = page.getByRole('button', { name: 'Save lifecycle and hand-off' });
    const sla = page.getByLabel('Sales must accept within (SLA, e.g. 2d)');
    // And what the SLA comes to in these hours, as it is typed.
    await sla.fill('21h');
    await expect
      .poll(() => descriptionOf(sla))
      .toBe(
        'Counted in business time: a day is a working day (2d with 09:00–17:00 is 16 business hours), an hour a business hour. Here 21h is 21 business hours: 2 working days of 08:00–18:30.',
      );
    await sla.fill('2731h');
    await save.click();
    await expect.poll(() => descriptionOf(sla)).toBe('At most 52 weeks of the business hours below: 260d');
    expect(await sla.getAttribute('aria-invalid')).toBe('true');
    await shot('scoring-business-hours-errors');
    for (const day of ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Saturday'])
      await page.getByLabel(day).uncheck();
    await page.getByLabel('To (HH:MM)').fill('07:00');
    await save.click();
    const days = page.getByRole('group', { name: 'Working days' });
    await expect.poll(() => descriptionOf(days)).toBe('Tick at least one day');
    expect(await descriptionOf(page.getByLabel('To (HH:MM)'))).toBe('Must be after the start, the same day');
    // The SLA is no longer what is wrong: the hours are.
    expect(await sla.getAttribute('aria-invalid')).toBe('false');
    const unsaved = await consoleWorld.api<{ handOff: Record<string, unknown> }>('GET', '/settings');
    expect(unsaved.body.handOff).not.toHaveProperty('businessHours');
    for (const day of ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Saturday'])
      await page.getByLabel(day).check();
    await page.getByLabel('To (HH:MM)').fill('18:30');
    await sla.fill('3s');
    await save.click();
    await page.getByText('Lifecycle and hand-off saved').waitFor();
    const settings = await consoleWorld.api<{ handOff: Record<string, unknown> }>('GET', '/settings');
    expect(settings.body.handOff).toMatchObject({
      acceptWithin: '3s',
      businessHours: { days: ['mon', 'tue', 'wed', 'thu', 'sat'], start: '08:00', end: '18:30' },
    });
    await shot('scoring-business-hours');

    // Read back after a reload, and in Italian.
    await page.reload();
    await page
      .getByLabel('Lingua', { exact: true })
      .or(page.getByLabel('Language', { exact: true }))
      .waitFor();
    await page.getByLabel(/^(Language|Lingua)$/).selectOption('it');
    expect(await page.getByLabel('Conta solo l’orario lavorativo').isChecked()).toBe(true);
    expect(await page.getByLabel('sabato').isChecked()).toBe(true);
    expect(await page.getByLabel('venerdì').isChecked()).toBe(false);
    expect(await page.getByLabel('Alle (HH:MM)', { exact: true }).inputValue()).toBe('18:30');
  });
  it('asks for engagement and fit together in one stage rule, each model once, and takes the condition away again', async () => {
    const { world } = consoleWorld;
    const before = await consoleWorld.api<{ scoring: { models: unknown[] } }>('GET', '/settings');
    const fit = {
      id: 'fit',
      name: 'Fit',
      rules: [
        {
          id: 'italy',
          kind: 'fit',
          when: { type: 'trait', path: 'country', op: 'eq', value: 'IT' },
          points: 30,
        },
      ],
    };
    const withFit = await consoleWorld.api('PATCH', '/settings', {
      scoring: { models: [...before.body.scoring.models, fit] },
    });
    expect(withFit.status).toBe(200);
    await page.goto(`${world.url}/scoring`);
    await page.getByLabel(/^(Language|Lingua)$/).selectOption('en');
    await page.getByRole('link', { name: 'Lifecycle and hand-off' }).click();
    const rule = page.getByRole('group', { name: 'Stage rule 1' });
    await rule.getByRole('button', { name: 'Add a score condition' }).click();
    const condition = rule.getByRole('group', { name: 'And score 1' });
    await rule.getByText('All of these scores must reach their thresholds at the same time.').waitFor();
    // The rule's own model again is refused before anything is sent.
    await condition.getByLabel('Score model').selectOption('engagement');
    await condition.getByLabel('Score at least').fill('30');
    const save = page.getByRole('button', { name: 'Save lifecycle and hand-off' });
    await save.click();
    await expect.poll(() => descriptionOf(condition.getByLabel('Score model'))).toBe('Used twice');
    await condition.getByLabel('Score model').selectOption('fit');
    await save.click();
    await page.getByText('Lifecycle and hand-off saved').waitFor();
    await shot('scoring-lifecycle-two-scores');
    const saved = await consoleWorld.api<{ lifecycle: { rules: unknown[] } }>('GET', '/settings');
    expect(saved.body.lifecycle.rules).toEqual([
      { kind: 'score', to: 'mql', model: 'engagement', atLeast: 50, and: [{ model: 'fit', atLeast: 30 }] },
    ]);

    // Shown again after a reload; taken away, the rule asks for engagement alone once more.
    await page.reload();
    await page.getByRole('link', { name: 'Lifecycle and hand-off' }).click();
    expect(await condition.getByLabel('Score model').inputValue()).toBe('fit');
    expect(await condition.getByLabel('Score at least').inputValue()).toBe('30');
    await rule.getByRole('button', { name: 'Remove score condition 1' }).click();
    await save.click();
    await page.getByText('Lifecycle and hand-off saved').waitFor();
    const restored = await consoleWorld.api<{ lifecycle: { rules: unknown[] } }>('GET', '/settings');
    expect(restored.body.lifecycle.rules).toEqual([
      { kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 },
    ]);
    // The tests after this one edit the workspace's one model.
    const withoutFit = await consoleWorld.api('PATCH', '/settings', { scoring: before.body.scoring });
    expect(withoutFit.status).toBe(200);
  });

  it('refuses a half-life of 0 or past 520 weeks at its field, in English and Italian', async () => {
    await page.goto(`${consoleWorld.world.url}/scoring`);
    await page.getByLabel(/^(Language|Lingua)$/).selectOption('en');
    await page.getByRole('button', { name: 'Edit' }).click();
    const halfLife = page.getByLabel('Half-life (optional, e.g. 30d)');
    await halfLife.fill('521w');
    await page.getByRole('button', { name: 'Save model' }).click();
    await expect.poll(() => descriptionOf(halfLife)).toBe('At most 520w (ten years)');
    await halfLife.fill('0d');
    await page.getByRole('button', { name: 'Save model' }).click();
    await expect.poll(() => descriptionOf(halfLife)).toBe('At least 1m (one minute)');
    await page.getByLabel('Language').selectOption('it');
    expect(await descriptionOf(page.getByLabel('Emivita (facoltativa, ad es. 30d)'))).toBe(
      'Almeno 1m (un minuto)',
    );
    const settings = await consoleWorld.api<{ scoring: { models: unknown[] } }>('GET', '/settings');
    expect(settings.body.scoring.models).toMatchObject([{ rules: [{ halfLife: '30d' }] }]);
  });

  it('names the CRM destination by id, with its URL beneath, so the choice reads whole on an 800 px screen', async () => {
    const { world, api } = consoleWorld;
    const current = await api<{ webhooks: { destinations: Array<{ id: string; url: string }> } }>(
      'GET',
      '/settings',
    );
    const longUrl = 'https://hooks.example-crm.com/services/mops/hand-offs/production';
    const added = await api('PUT', '/settings', {
      ...current.body,
      webhooks: {
        ...current.body.webhooks,
        destinations: [...current.body.webhooks.destinations, { id: 'salesforce', url: longUrl }],
      },
    });
    expect(added.status).toBe(200);
    try {
      await page.setViewportSize({ width: 800, height: 768 });
      await page.goto(`${world.url}/scoring?tab=lifecycle`);
      await page.getByLabel(/^(Language|Lingua)$/).selectOption('en');
      const destination = page.getByLabel('CRM webhook destination');
      await destination.selectOption('salesforce');
      expect(await clippedSelects(page)).toEqual([]);
      expect(await descriptionOf(destination)).toBe(
        `Calls ${longUrl}. The CRM hears of each hand-off and missed SLA here; destinations are set in Settings.`,
      );
      expect(await wideElements(page)).toEqual([]);
      await shot('scoring-destination-800');
    } finally {
      await page.setViewportSize({ width: 1500, height: 950 });
    }
  });
  it('applies a model to past events from its card, and shows how it went', async () => {
    const { world } = consoleWorld;
    // Dee attended two webinars before any rule gave points for it.
    await send([
      { type: 'track', userId: 'dee', event: 'Webinar Attended' },
      { type: 'track', userId: 'dee', event: 'Webinar Attended' },
    ]);
    await expect
      .poll(async () => {
        const metrics = await (await fetch(`${world.url}/metrics`)).text();
        const lags = [...metrics.matchAll(/mops_pipeline_lag_events\{consumer="\w+"\} (\d+)/g)];
        return lags.length === 4 && lags.every((lag) => lag[1] === '0');
      })
      .toBe(true);
    // Then came a model giving points for it.
    const current = await consoleWorld.api<{ scoring: { models: unknown[] } }>('GET', '/settings');
    const webinars = {
      id: 'webinars',
      name: 'Webinars',
      rules: [{ id: 'webinar', kind: 'event', event: 'Webinar Attended', points: 5 }],
    };
    const saved = await consoleWorld.api('PUT', '/settings', {
      ...current.body,
      scoring: { models: [...current.body.scoring.models, webinars] },
    });
    expect(saved.status).toBe(200);

    await page.goto(`${world.url}/scoring`);
    await page.getByLabel(/^(Language|Lingua)$/).selectOption('en');
    const card = page.getByRole('article', { name: 'Webinars' });
    await card.getByRole('heading', { name: 'Past events' }).waitFor();
    await card.getByLabel('Events from').selectOption('30d');
    await card.getByRole('button', { name: 'Apply to past events: Webinars' }).click();
    await card
      .getByText(/^Last applied .* — contacts whose score changed: 1, points: 10, awards: 2$/)
      .waitFor({ timeout: 30_000 });
    // The chart counts the scores the replay stored.
    const summary = page.getByTestId('distribution-summary-webinars');
    await expect
      .poll(() => summary.textContent().catch(() => null), { timeout: 15_000 })
      .toMatch(/: 10 to under 20\.$/);
    await shot('scoring-past-events');
    const replays = await consoleWorld.api<{ items: Array<{ since: string | null; status: string }> }>(
      'GET',
      '/scoring/models/webinars/replays',
    );
    expect(replays.body.items[0]).toMatchObject({ status: 'done', since: expect.any(String) });
  });
});
