import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { BACKENDS } from '../test-support/world.js';
import { loadDemoShop } from './demo-shop.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe.each(BACKENDS)('the demo shop in a workspace set up already, on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  it('loads beside a lifecycle of its own without an MQL stage, leaving out the segment on that stage', async () => {
    const lifecycle = { stages: ['visitor', 'buyer'], rules: [], recycleTo: 'visitor' };
    await world.configure({ lifecycle });

    const summary = await loadDemoShop(world.storage, {
      workspaceId: world.workspaceId,
      clock: world.clock,
      contacts: 10,
      days: 2,
      waitForPipeline: () => world.settle(),
    });

    const names = (await world.storage.segments.list(world.workspaceId)).map((segment) => segment.name);
    expect(names).not.toContain('Marketing-qualified');
    expect(names).toContain('Hot leads');
    expect(summary.segments).toHaveLength(5);
    expect(summary.journeys).toHaveLength(2);
    expect((await world.storage.settings.get(world.workspaceId)).lifecycle).toEqual(lifecycle);
  });
});

describe.each(BACKENDS)('the demo shop’s month of history, on %s', (backend) => {
  const DAYS = 30;
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  const load = () =>
    loadDemoShop(world.storage, {
      workspaceId: world.workspaceId,
      clock: world.clock,
      contacts: 40,
      days: DAYS,
      waitForPipeline: () => world.settle(),
    });

  /** Contacts the lifecycle funnel counts as reaching a stage (any) in [from, now]. */
  const reachedSince = async (from: number) => {
    const { lifecycle } = await world.storage.settings.get(world.workspaceId);
    const { reached } = await world.storage.dashboard.lifecycleCounts({
      workspaceId: world.workspaceId,
      stages: lifecycle?.stages ?? [],
      from,
      to: world.clock.now() + 1,
    });
    return [...reached.values()].reduce((sum, count) => sum + count, 0);
  };

  it('dates each stage move when the event that made it happened, over the month, not at the load', async () => {
    await load();

    const now = world.clock.now();
    const overTheMonth = await reachedSince(now - (DAYS + 1) * DAY);
    // Each of the 40 signed up (a lead), and then some.
    expect(overTheMonth).toBeGreaterThan(40);
    expect(await reachedSince(now - DAY)).toBeLessThan(overTheMonth / 2);
    // A contact became a lead when it signed up (its first call), received within the hour.
    const profile = await world.storage.profiles.find(world.workspaceId, await world.profileOf('demo-3'));
    const [lead] = await world.storage.scoring.stageHistory(profile?.id ?? '');
    expect(lead?.to).toBe('lead');
    expect(profile?.firstSeenAt).toBeLessThan(now - DAY);
    expect((lead?.at ?? 0) - (profile?.firstSeenAt ?? 0)).toBeGreaterThanOrEqual(0);
    expect((lead?.at ?? 0) - (profile?.firstSeenAt ?? 0)).toBeLessThanOrEqual(HOUR);
  });

  it('keeps the log in receipt order: none of the history is received before what the log received already', async () => {
    await world.send([{ type: 'track', userId: 'a-shopper', event: 'Page Viewed', messageId: 'earlier' }]);
    const [earlier] = (await world.storage.events.list(world.workspaceId, { limit: 1 })).items;
    world.clock.advance(60_000);
    await load();

    const received: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await world.storage.events.list(world.workspaceId, { limit: 500, cursor });
      // Clients' events: Mops's own are dated by what they record, and kept out of the receipt order.
      received.push(
        ...page.items.filter((event) => event.origin === undefined).map((event) => event.receivedAt),
      );
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(received.length).toBeGreaterThan(40 * 3);
    expect(Math.min(...received)).toBe(earlier?.receivedAt);
  });
});
