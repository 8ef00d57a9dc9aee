import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RejectedEvent } from '../core/event.js';
import { trackEvent } from '../test-support/events.js';
import { createTestSchema } from '../test-support/postgres.js';
import { createPostgresStorage } from './postgres/postgres-storage.js';
import { createSqliteStorage } from './sqlite/sqlite-storage.js';
import type { Storage } from './storage.js';

const BASE = Date.UTC(2026, 4, 1);
const MINUTE = 60_000;
const EVENTS = 600;

/** A small deterministic random source, so a failure can be replayed. */
function seeded(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const backends: Array<[string, () => Promise<{ storage: Storage; cleanup(): Promise<void> }>]> = [
  [
    'sqlite',
    async () => ({ storage: await createSqliteStorage({ path: ':memory:' }), cleanup: async () => {} }),
  ],
  [
    'postgres',
    async () => {
      const schema = await createTestSchema();
      return {
        storage: await createPostgresStorage({ url: schema.url, schema: schema.schema, poolSize: 2 }),
        cleanup: () => schema.drop(),
      };
    },
  ],
];

/**
 * Receipt times follow ids only nearly (clock steps of up to a minute here): counts over any range
 * must still be exact, though they find their rows through the ids.
 */
describe.each(backends)('dashboard counts on %s', (_name, open) => {
  let storage: Storage;
  let cleanup: () => Promise<void>;
  const received: Array<{ workspaceId: string; at: number; isRejected: boolean }> = [];

  beforeAll(async () => {
    ({ storage, cleanup } = await open());
    await storage.migrate();
    const random = seeded(7);
    for (let start = 0; start < EVENTS; start += 100) {
      const events = [];
      const rejected: RejectedEvent[] = [];
      for (let i = start; i < start + 100; i++) {
        const at = BASE + i * 10_000 + Math.round((random() - 0.5) * 2 * MINUTE);
        const workspaceId = random() < 0.8 ? 'ws_1' : 'ws_2';
        if (random() < 0.1) {
          rejected.push({
            workspaceId,
            receivedAt: at,
            messageId: null,
            reason: 'bad',
            field: null,
            payload: '{}',
          });
          received.push({ workspaceId, at, isRejected: true });
        } else {
          events.push(trackEvent({ workspaceId, receivedAt: at, messageId: `m${i}` }));
          received.push({ workspaceId, at, isRejected: false });
        }
      }
      await storage.events.append({ events, rejected });
    }
  });

  afterAll(async () => {
    await storage?.close();
    await cleanup?.();
  });

  it('counts exactly what was received in each of many ranges, per bucket', async () => {
    const random = seeded(11);
    for (let round = 0; round < 30; round++) {
      const from = BASE - 5 * MINUTE + Math.floor(random() * EVENTS * 10_000);
      const to = from + MINUTE + Math.floor(random() * 30 * MINUTE);
      const bucketMs = random() < 0.5 ? MINUTE : 5 * MINUTE;
      const expected = new Map<number, { received: number; rejected: number }>();
      for (const event of received) {
        if (event.workspaceId !== 'ws_1' || event.at < from || event.at >= to) continue;
        const bucket = Math.floor((event.at - from) / bucketMs);
        const counts = expected.get(bucket) ?? { received: 0, rejected: 0 };
        if (event.isRejected) counts.rejected += 1;
        else counts.received += 1;
        expected.set(bucket, counts);
      }

      const counted = await storage.dashboard.eventCounts({ workspaceId: 'ws_1', from, to, bucketMs });

      expect(counted).toEqual(
        [...expected.entries()]
          .sort(([a], [b]) => a - b)
          .map(([bucket, counts]) => ({ bucket, generated: 0, ...counts })),
      );
    }
  });

  it('answers nothing for an empty log or a range before it', async () => {
    expect(
      await storage.dashboard.eventCounts({ workspaceId: 'ws_1', from: 0, to: MINUTE, bucketMs: MINUTE }),
    ).toEqual([]);
    expect(
      await storage.dashboard.messageCounts({
        workspaceId: 'ws_1',
        from: BASE,
        to: BASE + MINUTE,
        bucketMs: MINUTE,
      }),
    ).toEqual([]);
  });
});
