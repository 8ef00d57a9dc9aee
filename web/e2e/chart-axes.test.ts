import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRawSql } from '../../src/test-support/raw-sql.js';
import { databaseOf } from '../../src/test-support/refuse-rows.js';
import { basicAuth } from '../../src/test-support/world.js';
import { type ConsoleWorld, startConsoleWorld } from './harness.js';

/** More events in one hour than a fixed-width axis has room to label ("120,000"). */
const EVENTS_IN_AN_HOUR = 120_000;
/** More contacts in one score range than the distribution's axis had room for at its font ("15,000"). */
const CONTACTS_IN_A_RANGE = 15_000;

/**
 * Chart axes label every count in full, however large: a busy workspace's hourly event counts once
 * lost their first digit to a fixed-width axis ("20,000" for 120,000).
 */
describe('chart axes (Chromium)', () => {
  let consoleWorld: ConsoleWorld;
  let page: Page;

  beforeAll(async () => {
    consoleWorld = await startConsoleWorld();
    page = consoleWorld.page;
    await consoleWorld.logIn();
  }, 120_000);

  afterAll(async () => {
    await consoleWorld?.close();
  });

  /** The y-axis labels of a chart, and how far each reaches left of the chart's drawing. */
  async function yAxisLabels(testId: string) {
    const chart = page.getByTestId(testId);
    await chart.locator('.recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value').first().waitFor();
    return chart.evaluate((figure) => {
      const left = figure.querySelector('.recharts-wrapper')?.getBoundingClientRect().left ?? 0;
      return [
        ...figure.querySelectorAll('.recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value'),
      ].map((label) => ({
        text: label.textContent ?? '',
        overhang: left - label.getBoundingClientRect().left,
      }));
    });
  }

  it('labels an hour of 120,000 events in full, clear of the chart’s edge', {
    timeout: 120_000,
  }, async () => {
    const { world } = consoleWorld;
    // Stored as a busy hour would leave them; how they were sent is not what is tested here.
    const values = (receivedAt: string) =>
      `select '${world.workspaceId}', 'bulk-' || i, 'track', 'Page Viewed', 'bulk-visitor', null, ${receivedAt}, ${receivedAt}, null, ${receivedAt}, '{}'`;
    const columns =
      'workspace_id, message_id, type, name, user_id, anonymous_id, timestamp, original_timestamp, sent_at, received_at, payload';
    // All at one instant: spread over a couple of minutes, they were split between two hours' bars
    // whenever the run began just after an hour struck, and the axis stopped short of six digits.
    const receivedAt = String(Date.now() - 1000);
    await runRawSql(databaseOf(world), {
      sqlite: `with recursive n(i) as (select 1 union all select i + 1 from n where i < ${EVENTS_IN_AN_HOUR})
        insert into events (${columns}) ${values(receivedAt)} from n`,
      postgres: `insert into events (${columns}) ${values(receivedAt)} from generate_series(1, ${EVENTS_IN_AN_HOUR}) as i`,
    });

    await page.goto(`${world.url}/dashboard`);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await expect
      .poll(() => page.getByTestId('events-chart-summary').textContent())
      .toMatch(/^Received: 120,000 /);
    const labels = await yAxisLabels('events-chart');
    // Six digits at the top of the axis, whatever round numbers the chart picks.
    expect(labels.map((label) => label.text)).toContainEqual(expect.stringMatching(/^\d{3},\d{3}$/));
    expect(labels.filter((label) => label.overhang > 0)).toEqual([]);
    await consoleWorld.shot('dashboard-busy-hour');
  });

  it('labels a score range of 15,000 contacts in full', { timeout: 120_000 }, async () => {
    const { api, world } = consoleWorld;
    const models = [
      {
        id: 'engagement',
        name: 'Engagement',
        rules: [{ id: 'visit', kind: 'event', event: 'Page Viewed', points: 5 }],
      },
    ];
    expect((await api('PATCH', '/settings', { scoring: { models } })).status).toBe(200);
    const sent = await fetch(`${world.url}/v1/track`, {
      method: 'POST',
      headers: { authorization: basicAuth(world.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'ada', event: 'Page Viewed' }),
    });
    expect(sent.status).toBe(200);
    const scored = async () =>
      (
        await api<{ buckets: Array<{ count: number }> }>('GET', '/scoring/models/engagement/distribution')
      ).body.buckets.reduce((sum, bucket) => sum + bucket.count, 0);
    await expect.poll(scored).toBe(1);
    // Ada's stored score copied to as many more contacts, as scoring them one by one would leave it.
    await runRawSql(databaseOf(world), {
      sqlite: `with recursive n(i) as (select 1 union all select i + 1 from n where i < ${CONTACTS_IN_A_RANGE - 1})
        insert into profile_scores (profile_id, model, workspace_id, score, updated_at, model_revision)
        select 'prof_bulk_' || i, model, workspace_id, score, updated_at, model_revision from profile_scores, n`,
      postgres: `insert into profile_scores (profile_id, model, workspace_id, score, updated_at, model_revision)
        select 'prof_bulk_' || i, model, workspace_id, score, updated_at, model_revision
        from profile_scores, generate_series(1, ${CONTACTS_IN_A_RANGE - 1}) as i`,
    });
    await expect.poll(scored).toBe(CONTACTS_IN_A_RANGE);

    await page.goto(`${world.url}/scoring`);
    await expect
      .poll(() => page.getByTestId('distribution-summary-engagement').textContent())
      .toMatch(/^15,000 contacts scored/);
    const labels = await yAxisLabels('distribution-engagement');
    expect(labels.map((label) => label.text)).toContainEqual(expect.stringMatching(/^\d{2},\d{3}$/));
    expect(labels.filter((label) => label.overhang > 0)).toEqual([]);
    await consoleWorld.shot('scoring-distribution-crowded');
  });
});
