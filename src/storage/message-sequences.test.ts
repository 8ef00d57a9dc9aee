import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../core/ids.js';
import { type Message, newMessage } from '../core/journey.js';
import { createTestSchema } from '../test-support/postgres.js';
import { createPostgresStorage } from './postgres/postgres-storage.js';
import { createSqliteStorage } from './sqlite/sqlite-storage.js';
import type { Storage } from './storage.js';

const NOW = Date.UTC(2026, 11, 4, 9, 0, 0);
const LEASE_MS = 60_000;

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

describe.each(backends)('message sequences on %s', (_name, open) => {
  let storage: Storage;
  let cleanup: () => Promise<void>;
  const workspaceId = newId('ws');
  const lead = newId('prf');

  beforeEach(async () => {
    ({ storage, cleanup } = await open());
    await storage.migrate();
  });
  afterEach(async () => {
    await storage.close();
    await cleanup();
  });

  /** A webhook call queued now, in `sequence` (null: none); ids follow the order calls are made in. */
  const call = (options: { profileId?: string; sequence?: string | null } = {}): Message =>
    newMessage(
      {
        workspaceId,
        profileId: options.profileId ?? lead,
        channel: 'webhook',
        idempotencyKey: newId('key'),
        context: {},
        sequence: options.sequence === undefined ? 'hand-off:crm' : options.sequence,
      },
      NOW,
    );
  const claim = async (claimant: string, now = NOW) =>
    (await storage.messages.claimDue({ now, limit: 10, leaseMs: LEASE_MS, claimant }))
      .map((m) => m.id)
      .sort();
  const settle = async (message: Message, claimant: string, outcome: Partial<Message>) =>
    storage.messages.settleAll([{ ...message, updatedAt: NOW, ...outcome }], claimant);

  it('claims a later message of a lead’s sequence only once the earlier one is sent, on any worker', async () => {
    const created = call();
    const recycled = call();
    const othersLead = call({ profileId: newId('prf') });
    const elsewhere = call({ sequence: 'hand-off:other-crm' });
    const unordered = call({ sequence: null });
    await storage.messages.insertMany([created, recycled, othersLead, elsewhere, unordered]);

    // Other leads, other destinations and messages of no sequence go side by side.
    expect(await claim('a')).toEqual([created.id, othersLead.id, elsewhere.id, unordered.id].sort());
    // Another worker finds the earlier call being sent, and leaves the later one.
    expect(await claim('b')).toEqual([]);
    // The earlier call waits out its back-off: the later one waits behind it, due as it is.
    await settle(created, 'a', { status: 'deferred', reason: 'retrying: 503', nextAttemptAt: NOW + 30_000 });
    expect(await claim('b', NOW + 1)).toEqual([]);
    expect(await claim('b', NOW + 30_000)).toEqual([created.id]);
    await settle(created, 'b', { status: 'sent', sentAt: NOW + 30_000, nextAttemptAt: null });
    expect(await claim('c', NOW + 30_000)).toEqual([recycled.id]);
  });

  it('lets a later message go once the earlier one failed for good, and holds the rest behind a re-drive of it', async () => {
    const created = call();
    const accepted = call();
    const recycled = call();
    await storage.messages.insertMany([created, accepted, recycled]);
    expect(await claim('a')).toEqual([created.id]);
    // Dead-lettered (the CRM answered 400): it blocks the lead no longer.
    await settle(created, 'a', { status: 'failed', reason: '400', nextAttemptAt: null });
    expect(await claim('b')).toEqual([accepted.id]);
    await settle(accepted, 'b', { status: 'sent', sentAt: NOW, nextAttemptAt: null });
    // Re-driven, it is the earliest unsettled call again: what is still waiting goes after it.
    await storage.messages.requeueFailed({
      workspaceId,
      channel: 'webhook',
      ids: [created.id],
      now: NOW + 1,
    });
    expect(await claim('c', NOW + 1)).toEqual([created.id]);
    expect(await claim('d', NOW + 1)).toEqual([]);
    await settle(created, 'c', { status: 'sent', sentAt: NOW + 1, nextAttemptAt: null });
    expect(await claim('d', NOW + 1)).toEqual([recycled.id]);
  });

  it('sends the earlier message again first when the worker sending it died, not the later one', async () => {
    const created = call();
    const recycled = call();
    await storage.messages.insertMany([created, recycled]);
    expect(await claim('a')).toEqual([created.id]);
    // Worker `a` died mid-send: its lease runs out, and the call it held goes first again.
    expect(await claim('b', NOW + LEASE_MS + 1)).toEqual([created.id]);
    expect(await claim('c', NOW + LEASE_MS + 2)).toEqual([]);
  });
});
