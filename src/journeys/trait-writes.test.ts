import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROFILES_CURSOR, profileResolutionBatch } from '../profiles/profiles.js';
import type { PipelineBatch, Storage, StorageTx } from '../storage/storage.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { onceReadable } from '../test-support/pipeline-batches.js';
import { someoneWaitsForRow, testDatabaseUrl } from '../test-support/postgres.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';

const HOUR = 3_600_000;

/**
 * A journey's update_traits step and identity resolution both write a profile's traits, each from a
 * read made before its write: neither may lose what the other set in between.
 */
describe.each(BACKENDS)('trait writes beside identity resolution on %s', (backend) => {
  let world: JourneyWorld;
  let restoreTransaction = () => {};

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
    await world.publish({
      name: 'Welcome',
      entry: { trigger: { type: 'event', event: 'Signed Up' } },
      start: 'later',
      steps: [
        { id: 'later', type: 'wait', duration: '1h', next: 'tag' },
        { id: 'tag', type: 'update_traits', set: { welcomed: true }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([identify('u1', { plan: 'free' }), track('u1', 'Signed Up')]);
    await world.settle();
    // The timer is due before the identify below arrives: it may fire before that is read.
    world.clock.advance(HOUR + 1000);
  });
  afterEach(async () => {
    restoreTransaction();
    await world.close();
  });

  const resolveProfiles = (batch: PipelineBatch<void>) =>
    onceReadable(() =>
      world.storage.runPipelineBatch(PROFILES_CURSOR, 1000, batch, world.clock.now(), {
        skipMopsEvents: true,
      }),
    );
  /** Identity resolution with the journey's due update_traits committed between its reads and its writes. */
  const resolutionWithJourneyBetween = (): PipelineBatch<void> => {
    const resolution = profileResolutionBatch(() => world.clock.now());
    let hasRunJourney = false;
    return {
      async prepare(events, reader, span) {
        const write = await resolution.prepare(events, reader, span);
        if (!hasRunJourney) {
          hasRunJourney = true;
          expect(await world.background.engine.runDueTimers()).toBe(1);
        }
        return write;
      },
    };
  };
  const traitsOfU1 = async () =>
    (await world.storage.profiles.find(world.workspaceId, await world.profileOf('u1')))?.traits;

  it('decides an identify again when the journey set traits after it was read', async () => {
    await world.send([identify('u1', { name: 'Ann' })]);
    const withJourneyBetween = resolutionWithJourneyBetween();

    expect((await resolveProfiles(withJourneyBetween)).status).toBe('stale');
    expect((await resolveProfiles(withJourneyBetween)).status).toBe('done');
    await world.settle();
    expect(await traitsOfU1()).toEqual({ plan: 'free', name: 'Ann', welcomed: true });
  });

  it('lets an identify that only saw the profile again write beside a journey’s trait change', async () => {
    await world.send([track('u1', 'Viewed')]);
    const withJourneyBetween = resolutionWithJourneyBetween();
    expect((await resolveProfiles(withJourneyBetween)).status).toBe('done');
    await world.settle();
    expect(await traitsOfU1()).toEqual({ plan: 'free', welcomed: true });
    const profile = await world.storage.profiles.find(world.workspaceId, await world.profileOf('u1'));
    expect(profile?.lastSeenAt).toBe(world.clock.now());
  });

  it('writes nothing when the journey sets what the profile already holds', async () => {
    await world.send([identify('u1', { welcomed: true })]);
    // Resolved by whichever gets to it first, the background pipeline or this drain.
    await world.background.pipeline.drain();
    const before = await world.storage.profiles.find(world.workspaceId, await world.profileOf('u1'));
    expect(await world.background.engine.runDueTimers()).toBe(1);
    const after = await world.storage.profiles.find(world.workspaceId, await world.profileOf('u1'));
    expect(after?.revision).toBe(before?.revision);
  });

  // On SQLite the journey's transaction holds the write lock from its first read: nothing commits in
  // between. On PostgreSQL another process's identity resolution can.
  it.runIf(backend === 'postgres')(
    'sets the journey’s traits over an identify committed after the journey read the profile',
    async () => {
      await world.send([identify('u1', { name: 'Ann' })]);
      let hasResolved = false;
      restoreTransaction = resolvingAfterFirstRead(world.storage, async () => {
        if (hasResolved) return;
        hasResolved = true;
        expect((await resolveProfiles(profileResolutionBatch(() => world.clock.now()))).status).toBe('done');
      });
      expect(await world.background.engine.runDueTimers()).toBe(1);
      expect(hasResolved).toBe(true);
      restoreTransaction();
      restoreTransaction = () => {};
      await world.settle();
      expect(await traitsOfU1()).toEqual({ plan: 'free', name: 'Ann', welcomed: true });
    },
  );

  it.runIf(backend === 'postgres')(
    'holds the profile row from its read to its write, so resolution beside it waits and decides again',
    async () => {
      await world.send([identify('u1', { name: 'Ann' })]);
      const client = new pg.Client({ connectionString: testDatabaseUrl() });
      await client.connect();
      let resolution: Promise<{ status: string }> | undefined;
      let whileLocked: string | undefined;
      const original = world.storage.transaction;
      world.storage.transaction = <T>(work: (tx: StorageTx) => Promise<T>) =>
        original.call(world.storage, (tx: StorageTx) => {
          const profiles = Object.create(tx.profiles) as StorageTx['profiles'];
          profiles.updateTraits = async (profile, changes) => {
            resolution ??= resolveProfiles(profileResolutionBatch(() => world.clock.now()));
            whileLocked = await Promise.race([
              resolution.then(() => 'resolution finished'),
              someoneWaitsForRow(client, { schema: world.schema as string, table: 'profiles' }).then(
                () => 'resolution waits',
              ),
            ]);
            return tx.profiles.updateTraits(profile, changes);
          };
          return work({ ...tx, profiles } as StorageTx);
        }) as Promise<T>;
      restoreTransaction = () => {
        world.storage.transaction = original;
      };
      try {
        expect(await world.background.engine.runDueTimers()).toBe(1);
      } finally {
        await client.end();
      }
      expect(whileLocked).toBe('resolution waits');
      expect((await resolution)?.status).toBe('stale');
      await world.settle();
      expect(await traitsOfU1()).toEqual({ plan: 'free', name: 'Ann', welcomed: true });
    },
  );
});

/**
 * Wraps the storage's transactions so that, right after a transaction reads a profile, `between`
 * runs on another connection; returns what undoes the wrapping.
 */
function resolvingAfterFirstRead(storage: Storage, between: () => Promise<void>): () => void {
  const original = storage.transaction;
  storage.transaction = <T>(work: (tx: StorageTx) => Promise<T>) =>
    original.call(storage, (tx: StorageTx) => {
      const profiles = Object.create(tx.profiles) as StorageTx['profiles'];
      profiles.find = async (workspaceId, id) => {
        const found = await tx.profiles.find(workspaceId, id);
        await between();
        return found;
      };
      return work({ ...tx, profiles } as StorageTx);
    }) as Promise<T>;
  return () => {
    storage.transaction = original;
  };
}
