import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { REFUSAL, refuseWrites } from '../test-support/refusing-trigger.js';
import { identify } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { createSegmentUpkeep } from './segment-upkeep.js';
import { createSegment, getSegment } from './segments.js';

/**
 * A trigger refusing one segment's member makes that segment's backfill fail every time, as a bug on
 * its rule or data would: the backfills of every other segment must go on, and the failing one end
 * with its error shown, not be run again and again.
 */
describe.each(BACKENDS)('a segment backfill that fails every time, on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  const pros = (name: string) =>
    createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name, kind: 'live', rule: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' } },
      now: world.clock.now(),
    });

  it('stops with its error, and the backfills after it run', async () => {
    await world.send(['ann', 'poison', 'bob'].map((userId) => identify(userId, { plan: 'pro' })));
    await world.settle();
    const poison = await world.profileOf('poison');
    const failing = await pros('Pros');
    await refuseWrites(world, {
      name: 'refuse_member',
      table: 'segment_members',
      on: 'insert',
      when: `new.segment_id = '${failing.id}' and new.profile_id = '${poison}'`,
    });
    world.clock.advance(1000);
    const other = await pros('Pros too');

    const upkeep = createSegmentUpkeep({
      storage: world.storage,
      clock: world.clock,
      logger: pino({ level: 'silent' }),
      onDecided: () => undefined,
    });
    // As the scheduler runs them: again at each poll, while any is pending.
    for (let run = 0; run < 10; run++) await upkeep.backfills.runOnce().catch(() => 0);

    expect(await getSegment(world.storage, world.workspaceId, other.id)).toMatchObject({
      status: 'ready',
      members: 3,
    });
    const failed = await getSegment(world.storage, world.workspaceId, failing.id);
    expect(failed).toMatchObject({
      status: 'backfilling',
      backfill: { failure: expect.stringContaining(REFUSAL) },
    });
    expect(await world.storage.segments.listBackfilling()).toEqual([]);

    // Saved again (the cause mended), it is backfilled afresh.
    await world.storage.segments.update({ id: failing.id, at: world.clock.now(), isNewVersion: true });
    expect(await world.storage.segments.listBackfilling()).toEqual([
      expect.objectContaining({ id: failing.id, backfill: expect.objectContaining({ failure: null }) }),
    ]);
  });

  it.runIf(backend === 'postgres')(
    'is never stopped for a failure of the database itself, however often it comes',
    async () => {
      await world.send(['ann', 'unlucky'].map((userId) => identify(userId, { plan: 'pro' })));
      await world.settle();
      const unlucky = await world.profileOf('unlucky');
      const segment = await pros('Pros');
      // A serialization failure, as a busy server gives, every time this member is written.
      await refuseWrites(world, {
        name: 'fail_serialization',
        table: 'segment_members',
        on: 'insert',
        when: `new.profile_id = '${unlucky}'`,
        sqlState: '40001',
      });
      const upkeep = createSegmentUpkeep({
        storage: world.storage,
        clock: world.clock,
        logger: pino({ level: 'silent' }),
        onDecided: () => undefined,
      });
      for (let run = 0; run < 10; run++) await upkeep.backfills.runOnce().catch(() => 0);

      expect(await world.storage.segments.listBackfilling()).toEqual([
        expect.objectContaining({ id: segment.id, backfill: expect.objectContaining({ failure: null }) }),
      ]);
    },
  );
});
