import type { Worker } from 'node:worker_threads';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureFirstRun } from '../access/access.js';
import { systemClock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { JourneyDefinition } from '../core/journey-definition.js';
import { SEGMENT_ENTERED } from '../core/segment-definition.js';
import { ingest } from '../ingest/ingest.js';
import { createJourney, publishJourney } from '../journeys/journeys.js';
import { createJourneyWork, type JourneyWork } from '../server/background.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { identify } from '../test-support/segment-calls.js';
import {
  BACKENDS,
  createTestDatabase,
  eventually,
  type TestDatabase,
  testConfig,
} from '../test-support/world.js';
import { createSegment } from './segments.js';
import { startSegmentsThread } from './segments-thread-client.js';

/**
 * Live segments kept on a thread of their own (as the server runs them): the thread opens its own
 * storage, follows the scoring cursor, and the journeys of the starting thread act on what it writes.
 */
describe.each(BACKENDS)('segments thread on %s', (backend) => {
  let database: TestDatabase;
  let config: Config;
  let storage: Storage;
  let work: JourneyWork;
  let workspaceId: string;
  /** Every segments thread started, in order. */
  let threads: Worker[];

  beforeEach(async () => {
    database = await createTestDatabase(backend);
    config = testConfig(database);
    storage = await openStorage(config);
    await storage.migrate();
    workspaceId = (await ensureFirstRun(storage, systemClock, { withAdmin: false })).workspace.id;
    threads = [];
    work = createJourneyWork({
      storage,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      onMessagesQueued: () => undefined,
      segmentsThread: config,
      startSegmentsThread: (data) => {
        const thread = startSegmentsThread(data);
        threads.push(thread);
        return thread;
      },
    });
    work.start();
  });
  afterEach(async () => {
    await work.stop();
    await storage.close();
    await database.cleanup();
  });

  const send = (calls: Array<Record<string, unknown>>) =>
    ingest(storage.events, {
      workspaceId,
      endpoint: 'batch',
      body: { batch: calls },
      receivedAt: Date.now(),
    });
  const profileOf = async (userId: string) => {
    const [identity] = await storage.profiles.findIdentities(workspaceId, [{ kind: 'user', value: userId }]);
    if (!identity) throw new Error(`no profile for ${userId}`);
    return identity.profileId;
  };

  it('backfills a saved segment there, decides members on events, and journeys enter on them once drained', async () => {
    await send([identify('ada', { plan: 'pro' }), identify('bo', { plan: 'free' })]);
    await work.pipeline.drain();
    const segment = await createSegment(storage, {
      workspaceId,
      input: { name: 'Pro', kind: 'live', rule: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' } },
      now: Date.now(),
    });
    work.segmentSaved();
    const ready = await eventually(async () => {
      const found = await storage.segments.find(workspaceId, segment.id);
      return found?.status === 'ready' ? found : undefined;
    });
    expect(ready.backfill.done).toBe(2);
    expect(await storage.segments.countMembers(segment.id)).toBe(1);

    const journey = await createJourney(storage, systemClock, {
      workspaceId,
      definition: JourneyDefinition.parse({
        name: 'Welcome to pro',
        entry: { trigger: { type: 'segment', segment: segment.id, on: 'entered' } },
        start: 'tag',
        steps: [
          { id: 'tag', type: 'update_traits', set: { welcomed: true }, next: 'done' },
          { id: 'done', type: 'exit' },
        ],
      }),
    });
    await publishJourney(storage, systemClock, workspaceId, journey.id);

    // Bo upgrades: the thread decides the segment and writes Segment Entered (drain waits for it),
    // and the journey here enters on it.
    await send([identify('bo', { plan: 'pro' })]);
    await work.pipeline.drain();
    const bo = await profileOf('bo');
    const members = await storage.segments.listMembers(segment.id, { limit: 10 });
    expect(members.items.map((item) => item.profileId).sort()).toEqual([await profileOf('ada'), bo].sort());
    const welcomed = await eventually(async () => {
      const [profile] = await storage.profiles.findProfilesByIds([bo]);
      return profile?.traits.welcomed === true ? profile : undefined;
    });
    expect(welcomed.traits).toMatchObject({ plan: 'pro', welcomed: true });
  });

  it('lets a journey branch on the membership the very event that moved it decided', async () => {
    const buyers = await createSegment(storage, {
      workspaceId,
      input: {
        name: 'Buyers',
        kind: 'live',
        rule: { type: 'event', event: 'Order Completed', atLeast: 1, where: [] },
      },
      now: Date.now(),
    });
    work.segmentSaved();
    await eventually(async () =>
      (await storage.segments.find(workspaceId, buyers.id))?.status === 'ready' ? true : undefined,
    );
    const journey = await createJourney(storage, systemClock, {
      workspaceId,
      definition: JourneyDefinition.parse({
        name: 'Thank buyers',
        entry: { trigger: { type: 'event', event: 'Order Completed' } },
        start: 'route',
        steps: [
          {
            id: 'route',
            type: 'branch',
            branches: [{ conditions: [{ source: 'segment', segment: buyers.id, op: 'in' }], next: 'thank' }],
            otherwise: 'puzzled',
          },
          { id: 'thank', type: 'update_traits', set: { thanked: 'as a buyer' }, next: 'done' },
          { id: 'puzzled', type: 'update_traits', set: { thanked: 'not a buyer yet' }, next: 'done' },
          { id: 'done', type: 'exit' },
        ],
      }),
    });
    await publishJourney(storage, systemClock, workspaceId, journey.id);

    // Several buyers at once, as a busy shop sends them: each one's first order makes them a buyer.
    const users = Array.from({ length: 20 }, (_, i) => `buyer-${i}`);
    await send(users.map((userId) => ({ type: 'track', userId, event: 'Order Completed', properties: {} })));
    await work.pipeline.drain();
    const profiles = await storage.profiles.findProfilesByIds(await Promise.all(users.map(profileOf)));
    expect(profiles.map((profile) => profile.traits.thanked)).toEqual(users.map(() => 'as a buyer'));
  });

  it('starts a new thread when the thread dies, which goes on from its cursor', async () => {
    const segment = await createSegment(storage, {
      workspaceId,
      input: { name: 'Pro', kind: 'live', rule: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' } },
      now: Date.now(),
    });
    work.segmentSaved();
    await eventually(async () =>
      (await storage.segments.find(workspaceId, segment.id))?.status === 'ready' ? true : undefined,
    );
    await send([identify('ada', { plan: 'pro' })]);
    await work.pipeline.drain();
    expect(await storage.segments.countMembers(segment.id)).toBe(1);

    // The thread stops as a crash would (no close, nothing flushed). A new one starts by itself, for
    // timers and backfills, even when no event comes to wake it.
    const [first] = threads;
    await first?.terminate();
    await eventually(async () => (threads.length === 2 ? true : undefined));
    await send([identify('bo', { plan: 'pro' }), identify('cy', { plan: 'free' })]);
    await work.pipeline.drain();

    expect(threads).toHaveLength(2);
    const members = await storage.segments.listMembers(segment.id, { limit: 10 });
    expect(members.items.map((item) => item.profileId).sort()).toEqual(
      [await profileOf('ada'), await profileOf('bo')].sort(),
    );
    // Each entry is written once: neither lost nor repeated across the restart.
    const events = await storage.events.list(workspaceId, { limit: 100 });
    const entered = events.items.filter((event) => event.name === SEGMENT_ENTERED);
    expect(entered.map((event) => event.userId).sort()).toEqual(['ada', 'bo']);
  });
});
