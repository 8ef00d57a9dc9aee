import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liftRefusalOf, REFUSAL, refuseRowsOf } from '../../src/test-support/refuse-rows.js';
import { basicAuth } from '../../src/test-support/world.js';
import { type ConsoleWorld, startConsoleWorld } from './harness.js';

interface Totals {
  totals: { received: number; generated: number; rejected: number };
}

/**
 * The dashboard in a real browser: events sent with the write key (one of them invalid) and a journey
 * that converts a contact show up in the charts' text alternatives; the range changes; the rejected
 * call is listed with its reason; and it all reads in Italian.
 */
describe('dashboard (Chromium)', () => {
  let consoleWorld: ConsoleWorld;
  let page: Page;

  beforeAll(async () => {
    consoleWorld = await startConsoleWorld();
    page = consoleWorld.page;
  }, 120_000);

  afterAll(async () => {
    await consoleWorld?.close();
  });

  async function send(batch: unknown[]) {
    const response = await fetch(`${consoleWorld.world.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basicAuth(consoleWorld.world.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
    expect(response.status).toBe(200);
  }

  const lastHour = () => {
    const to = Date.now() + 60_000;
    return `?from=${new Date(to - 3_600_000).toISOString()}&to=${new Date(to).toISOString()}`;
  };
  const summary = (testId: string) => page.getByTestId(`${testId}-summary`).textContent();

  it('shows events, conversion, funnels and rejected calls over a chosen range, in English and Italian', async () => {
    const { api } = consoleWorld;
    await send([
      { type: 'identify', userId: 'ada', traits: { email: 'ada@example.com' } },
      { type: 'track', userId: 'ada', event: 'Viewed Product' },
      { type: 'track', userId: 'ada', event: 'Viewed Product' },
      { type: 'track', userId: 'ada' },
    ]);
    let adaId: string | undefined;
    await expect
      // The pipeline's work: under load, longer than the poll's default second.
      .poll(
        async () => {
          adaId = (await api<{ items: Array<{ id: string }> }>('GET', '/profiles?q=ada')).body.items[0]?.id;
          return adaId;
        },
        { timeout: 30_000 },
      )
      .toBeTruthy();

    const created = await api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'Welcome',
        entry: { trigger: { type: 'manual' } },
        goal: { event: 'Order Completed', conditions: [] },
        start: 'pause',
        steps: [
          { id: 'pause', type: 'wait', duration: '1d', next: 'done' },
          { id: 'done', type: 'exit' },
        ],
      },
    });
    expect(created.status).toBe(201);
    const journeyId = created.body.id;
    expect((await api('POST', `/journeys/${journeyId}/publish`)).status).toBe(200);
    expect((await api('POST', `/journeys/${journeyId}/enrol`, { profileId: adaId })).status).toBe(201);
    await send([{ type: 'track', userId: 'ada', event: 'Order Completed' }]);
    await expect
      .poll(
        async () => (await api<{ converted: number }>('GET', `/journeys/${journeyId}/report`)).body.converted,
        { timeout: 30_000 },
      )
      .toBe(1);
    const counted = await api<Totals>('GET', `/dashboard/events${lastHour()}`);
    expect(counted.body.totals).toEqual({ received: 4, generated: 0, rejected: 1 });

    await consoleWorld.logIn();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await expect.poll(() => summary('events-chart')).toBe('Received: 4 · written by Mops: 0 · rejected: 1');
    expect(await page.getByTestId('dashboard-range').textContent()).toMatch(/per hour$/);
    await page.getByText('No messages in this range').waitFor();
    expect(await summary('conversion-chart')).toBe(
      'Journeys with entries: 1 · best: Welcome, 100% converted',
    );
    expect(await summary('funnel-chart')).toBe('Welcome: 1 entered the first step, 0 reached the last (0%)');
    expect(await page.locator('.dash-chart svg').count()).toBeGreaterThanOrEqual(3);

    // The text alternative as a table: one row per bucket, the counts in it adding up.
    const events = page.getByTestId('events-chart');
    await events.getByRole('button', { name: 'Show data table' }).click();
    const receivedCells = await events.locator('tbody tr td:nth-child(2)').allTextContents();
    expect(receivedCells).toHaveLength(24);
    expect(receivedCells.reduce((sum, cell) => sum + Number(cell), 0)).toBe(4);
    const funnel = page.getByTestId('funnel-chart');
    await funnel.getByRole('button', { name: 'Show data table' }).click();
    const firstStep = await funnel.locator('tbody tr').first().locator('td').allTextContents();
    expect([firstStep[0], firstStep[1], firstStep[3]]).toEqual(['pause (Wait)', '1', '100%']);

    // The rejected call, with why and where.
    const rejected = page.getByRole('region', { name: 'Rejected events' });
    await rejected.getByText('event is required for track').waitFor();
    expect(await rejected.locator('tbody tr').count()).toBe(1);
    expect(await rejected.locator('tbody td code').first().textContent()).toMatch(/event$/);
    await consoleWorld.shot('dashboard');
    // On a narrow window the wide table scrolls in its card; the page itself does not scroll sideways.
    const viewport = page.viewportSize();
    await page.setViewportSize({ width: 800, height: 768 });
    await expect
      .poll(() => page.evaluate<number>('document.documentElement.scrollWidth'))
      .toBeLessThanOrEqual(800);
    if (viewport) await page.setViewportSize(viewport);

    // Another range: the last hour, per minute; then a custom one, checked before it applies.
    await page.getByLabel('Show', { exact: true }).selectOption({ label: 'Last hour' });
    await expect.poll(() => page.getByTestId('dashboard-range').textContent()).toMatch(/per minute$/);
    await expect.poll(() => summary('events-chart')).toBe('Received: 4 · written by Mops: 0 · rejected: 1');
    await page.getByLabel('Show', { exact: true }).selectOption({ label: 'Custom range' });
    await page.getByLabel('From', { exact: true }).fill('2026-01-02T10:00');
    await page.getByLabel('To', { exact: true }).fill('2026-01-01T10:00');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Must be after the start').waitFor();
    await page.getByLabel('To', { exact: true }).fill('2026-01-02T12:00');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.getByTestId('dashboard-range').textContent()).toMatch(/per minute$/);
    await page.getByText(/No events in this range/).waitFor();
    // The rejected calls follow the range too: none was received then.
    await page.getByText('No rejected events in this range').waitFor();
    await consoleWorld.shot('dashboard-custom-range');

    await page.getByLabel('Show', { exact: true }).selectOption({ label: 'Last 7 days' });
    await page.getByLabel('Language').selectOption('it');
    await page.getByRole('heading', { name: 'Cruscotto' }).waitFor();
    await expect.poll(() => summary('events-chart')).toBe('Ricevuti: 4 · scritti da Mops: 0 · rifiutati: 1');
    expect(await page.getByTestId('dashboard-range').textContent()).toMatch(/^Dal .+ al .+, per ora$/);
    expect(await summary('conversion-chart')).toBe(
      'Percorsi con ingressi: 1 · il migliore: Welcome, 100% convertiti',
    );
    // Counts that agree with one contact as with many.
    expect(await summary('funnel-chart')).toBe('Welcome: primo passo raggiunto da 1, ultimo da 0 (0%)');
    await page.getByRole('region', { name: 'Eventi rifiutati' }).waitFor();
    await consoleWorld.shot('dashboard-it');
  });

  it('warns of an event set aside, only once there is one, with the step and the error', async () => {
    // Nothing set aside so far: no card at all.
    await page.getByRole('region', { name: 'Eventi rifiutati' }).waitFor();
    expect(await page.getByRole('region', { name: 'Eventi messi da parte' }).count()).toBe(0);

    await refuseRowsOf(consoleWorld.world, 'profiles', 'poison');
    await send([{ type: 'track', userId: 'poison', event: 'Signed Up', messageId: 'poisoned-call' }]);
    await expect
      .poll(
        async () =>
          (await consoleWorld.api<{ items: unknown[] }>('GET', '/set-aside-events')).body.items.length,
        { timeout: 30_000 },
      )
      .toBe(1);
    await page.getByRole('button', { name: 'Aggiorna' }).click();
    const card = page.getByRole('region', { name: 'Eventi messi da parte' });
    await card.waitFor();
    expect(await card.locator('tbody tr td').allTextContents()).toEqual([
      expect.any(String),
      'Risoluzione dei contatti',
      'Signed Up',
      'poisoned-call',
      expect.stringContaining(REFUSAL),
      // Contact resolution cannot be redone out of order: it may only be dismissed.
      'Archivia',
    ]);
    await page.getByLabel('Lingua').selectOption('en');
    await page.getByRole('region', { name: 'Events set aside' }).getByText('Contact resolution').waitFor();
    await consoleWorld.shot('dashboard-set-aside');
  }, 60_000);

  it('warns of a timer set aside, with its kind, what it was of, when it was due and the error', async () => {
    const { api } = consoleWorld;
    expect(await page.getByRole('region', { name: 'Timers set aside' }).count()).toBe(0);
    const created = await api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'Trial reminder',
        entry: { trigger: { type: 'event', event: 'Trial Started' } },
        start: 'pause',
        steps: [
          { id: 'pause', type: 'wait', duration: '2s', next: 'remind' },
          { id: 'remind', type: 'update_traits', set: { reminded: true }, next: 'done' },
          { id: 'done', type: 'exit' },
        ],
      },
    });
    expect((await api('POST', `/journeys/${created.body.id}/publish`)).status).toBe(200);
    // Moving on from the wait fails for this contact every time: the timer, not the event, is at fault.
    await refuseRowsOf(consoleWorld.world, 'journey_transitions', 'late', "new.step_id = 'remind'");
    await send([{ type: 'track', userId: 'late', event: 'Trial Started' }]);
    await expect
      .poll(async () => (await api<{ items: unknown[] }>('GET', '/set-aside-timers')).body.items.length, {
        timeout: 30_000,
      })
      .toBe(1);
    await page.getByRole('button', { name: 'Refresh' }).click();
    const card = page.getByRole('region', { name: 'Timers set aside' });
    await card.waitFor();
    const cells = await card.locator('tbody tr td').allTextContents();
    expect(cells).toEqual([
      expect.any(String),
      'Journey wait',
      expect.stringMatching(/^\S+ \(\S+\)$/),
      expect.any(String),
      expect.stringContaining(REFUSAL),
      'RetryDismiss',
    ]);
    await consoleWorld.shot('dashboard-set-aside-timer');
  }, 60_000);

  it('retries the timer once mended, and the journey goes on; dismisses the event, kept for audit', async () => {
    const { api } = consoleWorld;
    const timers = page.getByRole('region', { name: 'Timers set aside' });
    // Mended: retried, the wait fires at once (its due time is past) and the contact moves on.
    await liftRefusalOf(consoleWorld.world, 'journey_transitions');
    await timers.getByRole('button', { name: 'Retry' }).click();
    await timers.getByRole('status').getByText('Retried: the timer is back').waitFor();
    await expect
      .poll(
        async () => {
          const { body } = await api<{ items: Array<{ userId: string; traits: Record<string, unknown> }> }>(
            'GET',
            '/profiles?q=late',
          );
          return body.items.find((profile) => profile.userId === 'late')?.traits.reminded;
        },
        { timeout: 30_000 },
      )
      .toBe(true);
    expect(await timers.locator('tbody tr').count()).toBe(0);
    await consoleWorld.shot('dashboard-set-aside-timer-retried');

    const events = page.getByRole('region', { name: 'Events set aside' });
    await events.getByRole('button', { name: 'Dismiss' }).click();
    await events.getByRole('status').getByText('Dismissed').waitFor();
    const resolved = await api<{ items: Array<{ resolution: string; resolvedBy: string }> }>(
      'GET',
      '/set-aside-events?resolved=true',
    );
    expect(resolved.body.items).toEqual([
      expect.objectContaining({ resolution: 'dismissed', resolvedBy: expect.stringMatching(/^user:/) }),
    ]);
    await page.reload();
    await page.getByRole('region', { name: 'Rejected events' }).waitFor();
    expect(await page.getByRole('region', { name: 'Events set aside' }).count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Timers set aside' }).count()).toBe(0);
  }, 60_000);

  it("names every step of a long journey's funnel where it can be read, clear of the others, on a laptop", async () => {
    const { api } = consoleWorld;
    const created = await api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'Pricing nurture',
        entry: { trigger: { type: 'manual' } },
        start: 'first_nudge',
        steps: [
          { id: 'first_nudge', type: 'wait', duration: '1d', next: 'second_nudge' },
          { id: 'second_nudge', type: 'wait', duration: '1d', next: 'third_nudge' },
          { id: 'third_nudge', type: 'wait', duration: '1d', next: 'fourth_nudge' },
          { id: 'fourth_nudge', type: 'wait', duration: '1d', next: 'fifth_nudge' },
          { id: 'fifth_nudge', type: 'wait', duration: '1d', next: 'exit_1' },
          { id: 'exit_1', type: 'exit' },
        ],
      },
    });
    expect(created.status).toBe(201);
    expect((await api('POST', `/journeys/${created.body.id}/publish`)).status).toBe(200);
    // Ada on its first step: a funnel with entries is drawn.
    const ada = (await api<{ items: Array<{ id: string }> }>('GET', '/profiles?q=ada')).body.items[0];
    const enrolled = await api('POST', `/journeys/${created.body.id}/enrol`, { profileId: ada?.id });
    expect(enrolled.status).toBe(201);
    await page.setViewportSize({ width: 1280, height: 800 });
    try {
      await page.reload();
      const funnel = page.getByTestId('funnel-chart');
      await funnel
        .getByRole('combobox', { name: 'Journey', exact: true })
        .selectOption({ label: 'Pricing nurture' });
      const ticks = funnel.locator('text.recharts-cartesian-axis-tick-value');
      await expect.poll(() => ticks.allTextContents()).toContainEqual(expect.stringContaining('third_nudge'));
      const boxes = await ticks.evaluateAll((texts) =>
        texts.map((text) => {
          const box = text.getBoundingClientRect();
          return { text: text.textContent ?? '', x: box.x, y: box.y, width: box.width, height: box.height };
        }),
      );
      const overlapping = boxes.flatMap((a, index) =>
        boxes
          .slice(index + 1)
          .filter(
            (b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height,
          )
          .map((b) => `${a.text} × ${b.text}`),
      );
      expect(overlapping).toEqual([]);
      await consoleWorld.shot('dashboard-long-funnel');
    } finally {
      await page.setViewportSize({ width: 1500, height: 950 });
    }
  }, 60_000);
});
