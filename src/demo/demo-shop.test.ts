import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPostgresStorage } from '../storage/postgres/postgres-storage.js';
import { createSqliteStorage } from '../storage/sqlite/sqlite-storage.js';
import type { Storage } from '../storage/storage.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { testDatabaseUrl } from '../test-support/postgres.js';
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

  it('resumes a load cut short after the calls it stored, in a process of its own, storing none twice', async () => {
    // Cut off at its fourth append, as a Ctrl-C or a crash would.
    let appends = 0;
    const events = new Proxy(world.storage.events, {
      get: (target, key, receiver) =>
        key === 'append'
          ? (...args: Parameters<Storage['events']['append']>) => {
              if (++appends > 3) throw new Error('killed');
              return target.append(...args);
            }
          : Reflect.get(target, key, receiver),
    });
    const cutShort = new Proxy(world.storage, {
      get: (target, key, receiver) => (key === 'events' ? events : Reflect.get(target, key, receiver)),
    });
    await expect(
      loadDemoShop(cutShort, {
        workspaceId: world.workspaceId,
        clock: world.clock,
        contacts: 40,
        days: DAYS,
        waitForPipeline: () => world.settle(),
      }),
    ).rejects.toThrow('killed');
    const storedBefore = (await messageIds()).length;
    expect(storedBefore).toBeGreaterThan(0);

    // Run again an hour later by another process: its duplicate check knows nothing of the first run's.
    world.clock.advance(HOUR);
    const again =
      backend === 'sqlite'
        ? await createSqliteStorage({ path: world.sqlitePath as string, clock: world.clock })
        : await createPostgresStorage({
            url: testDatabaseUrl(),
            schema: world.schema as string,
            poolSize: 2,
          });
    try {
      const summary = await loadDemoShop(again, {
        workspaceId: world.workspaceId,
        clock: world.clock,
        contacts: 40,
        days: DAYS,
        waitForPipeline: () => world.settle(),
      });
      const ids = await messageIds();
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(summary.events);
      // Every contact signed up once, those of the first run and the rest.
      for (let contact = 0; contact < 40; contact++) expect(ids).toContain(`demo-${contact}-0`);
    } finally {
      await again.close();
    }
  });

  /** The message ids of the workspace's client events. */
  async function messageIds(): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await world.storage.events.list(world.workspaceId, { limit: 500, cursor });
      ids.push(...page.items.filter((event) => event.origin === undefined).map((event) => event.messageId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return ids;
  }

  it('keeps the log in receipt order: none of the history is received before what the log received already', async () => {
    await world.send([{ type: 'track', userId: 'a-shopper', event: 'Page Viewed', messageId: 'earlier' }]);
    const [earlier] = (await world.storage.events.list(world.workspaceId, { limit: 1 })).items;
    world.clock.advance(60_000);
    // Another client's event received now, while the history is being loaded, between two appends.
    let reads = 0;
    const events = new Proxy(world.storage.events, {
      get: (target, key, receiver) =>
        key === 'newestReceivedAt'
          ? async () => {
              if (++reads === 3)
                await world.send([
                  { type: 'track', userId: 'b-shopper', event: 'Page Viewed', messageId: 'meanwhile' },
                ]);
              return target.newestReceivedAt();
            }
          : Reflect.get(target, key, receiver),
    });
    await loadDemoShop(
      new Proxy(world.storage, {
        get: (target, key, receiver) => (key === 'events' ? events : Reflect.get(target, key, receiver)),
      }),
      {
        workspaceId: world.workspaceId,
        clock: world.clock,
        contacts: 40,
        days: DAYS,
        waitForPipeline: () => world.settle(),
      },
    );
    expect(reads).toBeGreaterThan(3);

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
    // Listed newest first: each received no earlier than the one before it in the log.
    const outOfOrder = received.filter((at, index) => at < (received[index + 1] ?? at));
    expect(outOfOrder).toEqual([]);
  });
});
