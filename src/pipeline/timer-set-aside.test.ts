import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { journeyTimersJudgedThrough } from '../journeys/engine.js';
import { createSegmentUpkeep } from '../segments/segment-upkeep.js';
import { createSegment } from '../segments/segments.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { REMINDER_AN_HOUR_AFTER_SIGN_UP } from '../test-support/journeys.js';
import { REFUSAL, refuseWrites } from '../test-support/refusing-trigger.js';
import { track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import type { TimerScheduler } from './timer-scheduler.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Runs the scheduler's rounds as its loop does (a failed round is tried again), until nothing is due;
 * how many rounds failed.
 */
async function runUntilNothingDue(scheduler: TimerScheduler): Promise<number> {
  let failures = 0;
  for (let round = 0; round < 50; round++) {
    const handled = await scheduler.runOnce().catch(() => {
      failures++;
      return -1;
    });
    if (handled === 0) return failures;
  }
  throw new Error('timers were still due after 50 rounds');
}

/**
 * A trigger refusing one profile's writes makes running that profile's timer fail every time, as a bug
 * on its data would: the scheduler must set that timer aside and fire the others, not take the same
 * failing round again forever.
 */
describe.each(BACKENDS)('a timer that fails every time, on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  const setAside = async () =>
    (await world.storage.setAsideTimers.list(world.workspaceId, { limit: 10 })).items;

  it('is set aside with its error, and the journey timers due beside it fire', async () => {
    await world.publish(REMINDER_AN_HOUR_AFTER_SIGN_UP);
    await world.send(['ann', 'poison', 'bob'].map((userId) => track(userId, 'Signed Up')));
    await world.settle();
    const poison = await world.profileOf('poison');
    await refuseWrites(world, {
      name: 'refuse_transition',
      table: 'journey_transitions',
      on: 'insert',
      when: `new.instance_id in (select id from journey_instances where profile_id = '${poison}')`,
    });

    world.clock.advance(HOUR + 1000);
    expect(await runUntilNothingDue(world.background.scheduler)).toBeGreaterThan(0);

    for (const userId of ['ann', 'bob']) {
      const profile = await world.storage.profiles.find(world.workspaceId, await world.profileOf(userId));
      expect(profile?.traits.reminded).toBe(true);
    }
    const stuck = await world.storage.profiles.find(world.workspaceId, poison);
    expect(stuck?.traits.reminded).toBeUndefined();
    expect(await setAside()).toEqual([
      expect.objectContaining({
        kind: 'journey',
        token: expect.any(String),
        reason: expect.stringContaining(REFUSAL),
      }),
    ]);
    expect(await world.storage.journeys.nextTimerDue()).toBeUndefined();
  });

  it.runIf(backend === 'postgres')(
    'is never set aside for a failure of the database itself, however often it comes',
    async () => {
      await world.publish(REMINDER_AN_HOUR_AFTER_SIGN_UP);
      // Ann's timer falls due first: the unlucky one, tried again for as long as the database fails
      // it, holds up those due after it (as the pipeline waits for the database on an event).
      await world.send([track('ann', 'Signed Up')]);
      await world.advance(1000);
      await world.send([track('unlucky', 'Signed Up')]);
      await world.settle();
      const unlucky = await world.profileOf('unlucky');
      // A serialization failure, as a busy server gives, every time this instance moves.
      await refuseWrites(world, {
        name: 'fail_serialization',
        table: 'journey_transitions',
        on: 'insert',
        when: `new.instance_id in (select id from journey_instances where profile_id = '${unlucky}')`,
        sqlState: '40001',
      });

      world.clock.advance(HOUR + 1000);
      for (let round = 0; round < 20; round++)
        await world.background.scheduler.runOnce().catch(() => undefined);

      const ann = await world.storage.profiles.find(world.workspaceId, await world.profileOf('ann'));
      expect(ann?.traits.reminded).toBe(true);
      expect(await setAside()).toEqual([]);
      expect(await world.storage.journeys.nextTimerDue()).toBeLessThan(world.clock.now());
    },
  );

  it('is set aside with its error, and the segment window timers due beside it fire', async () => {
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: {
        name: 'Recent checkouts',
        kind: 'live',
        rule: { type: 'event', event: 'Checkout Started', within: '1d', atLeast: 1, where: [] },
      },
      now: world.clock.now(),
    });
    await world.send(['ann', 'poison', 'bob'].map((userId) => track(userId, 'Checkout Started')));
    await world.settle();
    expect(await world.storage.segments.countMembers(segment.id)).toBe(3);
    const poison = await world.profileOf('poison');
    await refuseWrites(world, {
      name: 'refuse_leaving',
      table: 'segment_members',
      on: 'delete',
      when: `old.profile_id = '${poison}'`,
    });

    world.clock.advance(DAY + 1000);
    const upkeep = createSegmentUpkeep({
      storage: world.storage,
      clock: world.clock,
      logger: pino({ level: 'silent' }),
      onDecided: () => undefined,
    });
    expect(await runUntilNothingDue(upkeep.timers)).toBeGreaterThan(0);

    const { items: members } = await world.storage.segments.listMembers(segment.id, { limit: 10 });
    expect(members.map((member) => member.profileId)).toEqual([poison]);
    expect(await setAside()).toEqual([
      expect.objectContaining({ kind: 'segment', subject: poison, reason: expect.stringContaining(REFUSAL) }),
    ]);
    expect(await world.storage.segments.nextTimerDue()).toBeUndefined();
    // Journey timers wait for the segment timers due before them: not for one set aside.
    await world.background.pipeline.drain();
    const now = world.clock.now();
    expect(await journeyTimersJudgedThrough(world.storage, now)).toBe(now);
  });

  it('is set aside with its error, and the hand-off SLAs due beside it are judged', async () => {
    await world.configure({
      scoring: {
        models: [
          {
            id: 'engagement',
            name: 'Engagement',
            rules: [{ id: 'demo', kind: 'event', event: 'Demo Requested', points: 50, repeat: 'once' }],
          },
        ],
      },
      lifecycle: {
        stages: ['lead', 'mql', 'sql'],
        rules: [{ kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 }],
        recycleTo: 'lead',
      },
      handOff: {
        stage: 'mql',
        owners: [{ id: 'marco', name: 'Marco', email: 'marco@example.com' }],
        assignment: [],
        acceptWithin: '2d',
        recycleOnMiss: false,
      },
    });
    await world.send(['ann', 'poison', 'bob'].map((userId) => track(userId, 'Demo Requested')));
    await world.settle();
    const poison = await world.profileOf('poison');
    await refuseWrites(world, {
      name: 'refuse_breach',
      table: 'hand_offs',
      on: 'update',
      when: `old.profile_id = '${poison}' and new.status <> 'pending'`,
    });

    world.clock.advance(2 * DAY + 1000);
    expect(await runUntilNothingDue(world.background.handOffTimers)).toBeGreaterThan(0);

    const statuses = async (userId: string) =>
      (await world.storage.scoring.pendingHandOffs(await world.profileOf(userId))).map(
        (handOff) => handOff.status,
      );
    expect(await statuses('ann')).toEqual([]);
    expect(await statuses('bob')).toEqual([]);
    // Still pending: sales may accept it yet, but its SLA is no longer judged, nor waited for.
    expect(await statuses('poison')).toEqual(['pending']);
    expect(await setAside()).toEqual([
      expect.objectContaining({ kind: 'hand-off', reason: expect.stringContaining(REFUSAL) }),
    ]);
    expect(await world.storage.scoring.nextHandOffDue()).toBeUndefined();
    // Journey timers wait for the SLA checks due before them: not for one set aside.
    await world.background.pipeline.drain();
    const now = world.clock.now();
    expect(await journeyTimersJudgedThrough(world.storage, now)).toBe(now);
  });
});
