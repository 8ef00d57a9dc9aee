import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { journeyTimersJudgedThrough } from '../journeys/engine.js';
import { recycleProfile } from '../scoring/scoring.js';
import { createSegmentUpkeep } from '../segments/segment-upkeep.js';
import { createSegment } from '../segments/segments.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { REMINDER_AN_HOUR_AFTER_SIGN_UP } from '../test-support/journeys.js';
import { liftRefusal, REFUSAL, refuseWrites } from '../test-support/refusing-trigger.js';
import { track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { dismissSetAsideTimer, retrySetAsideTimer } from './redrive.js';
import type { TimerScheduler } from './timer-scheduler.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Runs the scheduler's rounds as its loop does (a failed round is tried again), until nothing is due. */
async function runUntilNothingDue(scheduler: TimerScheduler): Promise<void> {
  for (let round = 0; round < 50; round++) if ((await scheduler.runOnce().catch(() => -1)) === 0) return;
  throw new Error('timers were still due after 50 rounds');
}

/**
 * A timer set aside (a trigger refusing its writes, every time) can be put back once the cause is
 * mended: it fires at its original due time, at once when that is past; or it is dismissed.
 */
describe.each(BACKENDS)('retrying a set-aside timer, on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  const unresolved = async () =>
    (await world.storage.setAsideTimers.list(world.workspaceId, { limit: 10 })).items;
  const resolved = async () =>
    (await world.storage.setAsideTimers.list(world.workspaceId, { limit: 10 }, { isResolved: true })).items;
  const request = (id: number) => ({
    workspaceId: world.workspaceId,
    id,
    by: 'user:usr_ops',
    now: world.clock.now(),
  });
  const reminded = async (userId: string) =>
    (await world.storage.profiles.find(world.workspaceId, await world.profileOf(userId)))?.traits.reminded;
  const refusal = { name: 'refuse_transition', table: 'journey_transitions' };

  /** Ann's one-hour wait set aside: her instance's moves are refused while it is due. */
  async function setAsideAnnsWait(): Promise<{ journeyId: string; setAsideId: number }> {
    const journeyId = await world.publish(REMINDER_AN_HOUR_AFTER_SIGN_UP);
    await world.send([track('ann', 'Signed Up')]);
    await world.settle();
    const ann = await world.profileOf('ann');
    await refuseWrites(world, {
      ...refusal,
      on: 'insert',
      when: `new.instance_id in (select id from journey_instances where profile_id = '${ann}')`,
    });
    world.clock.advance(HOUR + 1000);
    await runUntilNothingDue(world.background.scheduler);
    const [record] = await unresolved();
    expect(record).toEqual(
      expect.objectContaining({ kind: 'journey', reason: expect.stringContaining(REFUSAL) }),
    );
    return { journeyId, setAsideId: record?.id ?? 0 };
  }

  it('puts a journey wait back with its due time: it fires at once, and the record is marked retried', async () => {
    const { setAsideId } = await setAsideAnnsWait();
    const dueAt = (await unresolved())[0]?.dueAt;
    await liftRefusal(world, refusal);
    world.clock.advance(DAY);

    const outcome = await retrySetAsideTimer(world.storage, request(setAsideId));
    expect(outcome).toEqual({
      status: 'resolved',
      record: expect.objectContaining({
        id: setAsideId,
        resolution: { how: 'retried', at: world.clock.now(), by: 'user:usr_ops' },
      }),
    });
    expect(await world.storage.journeys.nextTimerDue()).toBe(dueAt);
    await runUntilNothingDue(world.background.scheduler);
    expect(await reminded('ann')).toBe(true);
    expect(await unresolved()).toEqual([]);
    expect(await resolved()).toEqual([
      expect.objectContaining({ id: setAsideId, resolution: expect.objectContaining({ how: 'retried' }) }),
    ]);
    expect(await retrySetAsideTimer(world.storage, request(setAsideId))).toEqual({
      status: 'already resolved',
      record: expect.objectContaining({ id: setAsideId }),
    });
  });

  it('sets a timer retried aside again, as a new record, when it still fails every time', async () => {
    const { setAsideId } = await setAsideAnnsWait();

    expect((await retrySetAsideTimer(world.storage, request(setAsideId))).status).toBe('resolved');
    await runUntilNothingDue(world.background.scheduler);

    const [again] = await unresolved();
    expect(again).toEqual(
      expect.objectContaining({ kind: 'journey', reason: expect.stringContaining(REFUSAL) }),
    );
    expect(again?.id).not.toBe(setAsideId);
    expect(await reminded('ann')).toBeUndefined();
  });

  it('refuses to put back the wait of an instance that ended since, and dismisses it', async () => {
    const { journeyId, setAsideId } = await setAsideAnnsWait();
    await liftRefusal(world, refusal);
    await world.background.engine.exitAll(world.workspaceId, journeyId, 'ended by hand');

    expect(await retrySetAsideTimer(world.storage, request(setAsideId))).toEqual({
      status: 'refused',
      reason: expect.stringMatching(/has exited since: nothing waits for this timer/),
    });
    expect(await world.storage.journeys.nextTimerDue()).toBeUndefined();
    expect((await unresolved()).map((record) => record.id)).toEqual([setAsideId]);

    const dismissed = await dismissSetAsideTimer(world.storage, request(setAsideId));
    expect(dismissed).toEqual({
      status: 'resolved',
      record: expect.objectContaining({ resolution: expect.objectContaining({ how: 'dismissed' }) }),
    });
    expect(await unresolved()).toEqual([]);
    expect((await dismissSetAsideTimer(world.storage, request(setAsideId))).status).toBe('already resolved');
  });

  it('finds no record of another workspace', async () => {
    const { setAsideId } = await setAsideAnnsWait();
    const elsewhere = { ...request(setAsideId), workspaceId: 'ws_other' };
    expect(await retrySetAsideTimer(world.storage, elsewhere)).toEqual({ status: 'not found' });
    expect(await dismissSetAsideTimer(world.storage, elsewhere)).toEqual({ status: 'not found' });
    expect((await unresolved()).map((record) => record.id)).toEqual([setAsideId]);
  });

  it('puts a segment window timer back: the profile leaves the window it stayed in', async () => {
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: {
        name: 'Recent checkouts',
        kind: 'live',
        rule: { type: 'event', event: 'Checkout Started', within: '1d', atLeast: 1, where: [] },
      },
      now: world.clock.now(),
    });
    await world.send([track('ann', 'Checkout Started')]);
    await world.settle();
    const ann = await world.profileOf('ann');
    const leaving = { name: 'refuse_leaving', table: 'segment_members' };
    await refuseWrites(world, { ...leaving, on: 'delete', when: `old.profile_id = '${ann}'` });
    world.clock.advance(DAY + 1000);
    const upkeep = createSegmentUpkeep({
      storage: world.storage,
      clock: world.clock,
      logger: pino({ level: 'silent' }),
      onDecided: () => undefined,
    });
    await runUntilNothingDue(upkeep.timers);
    const [record] = await unresolved();
    expect(record).toEqual(expect.objectContaining({ kind: 'segment', subject: ann }));
    await liftRefusal(world, leaving);

    expect((await retrySetAsideTimer(world.storage, request(record?.id ?? 0))).status).toBe('resolved');
    expect(await world.storage.segments.nextTimerDue()).toBe(record?.dueAt);
    await runUntilNothingDue(upkeep.timers);
    expect(await world.storage.segments.countMembers(segment.id)).toBe(0);
  });

  it('puts a stage timer back: the lead whose move was refused reaches MQL, the others at their time', async () => {
    await world.configure({
      scoring: {
        models: [
          {
            id: 'engagement',
            name: 'Engagement',
            rules: [
              { id: 'demo', kind: 'event', event: 'Demo Requested', points: 40 },
              { id: 'careers', kind: 'event', event: 'Careers Viewed', points: -20, halfLife: '1d' },
            ],
          },
        ],
      },
      lifecycle: {
        stages: ['lead', 'mql', 'sql'],
        rules: [{ kind: 'score', to: 'mql', model: 'engagement', atLeast: 30 }],
        recycleTo: 'lead',
      },
    });
    // 40 − 20 halving daily: each reaches 30 a day on, by time alone.
    await world.send(
      ['ann', 'bob'].flatMap((userId) => [track(userId, 'Careers Viewed'), track(userId, 'Demo Requested')]),
    );
    await world.settle();
    const ann = await world.profileOf('ann');
    const moving = { name: 'refuse_stage', table: 'profile_stages' };
    await refuseWrites(world, { ...moving, on: 'insert', when: `new.profile_id = '${ann}'` });
    world.clock.advance(DAY + 1000);
    await runUntilNothingDue(world.background.stageTimers);
    const stage = async (userId: string) =>
      (await world.storage.scoring.stages([await world.profileOf(userId)])).get(
        await world.profileOf(userId),
      );
    expect(await stage('bob')).toBe('mql');
    expect(await stage('ann')).toBeUndefined();
    const [record] = await unresolved();
    expect(record).toEqual(
      expect.objectContaining({ kind: 'stage', subject: ann, reason: expect.stringContaining(REFUSAL) }),
    );
    expect(await world.storage.scoring.nextStageTimerDue()).toBeUndefined();
    // Journey timers wait for the stage timers due before them: not for one set aside.
    await world.background.pipeline.drain();
    const now = world.clock.now();
    expect(await journeyTimersJudgedThrough(world.storage, now)).toBe(now);
    await liftRefusal(world, moving);

    expect((await retrySetAsideTimer(world.storage, request(record?.id ?? 0))).status).toBe('resolved');
    expect(await world.storage.scoring.nextStageTimerDue()).toBe(record?.dueAt);
    await runUntilNothingDue(world.background.stageTimers);
    expect(await stage('ann')).toBe('mql');
  });

  /** Ann's hand-off, whose SLA ran out, set aside: marking it breached is refused while it is due. */
  async function setAsideAnnsHandOff() {
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
    await world.send([track('ann', 'Demo Requested')]);
    await world.settle();
    const ann = await world.profileOf('ann');
    const breach = { name: 'refuse_breach', table: 'hand_offs' };
    await refuseWrites(world, {
      ...breach,
      on: 'update',
      when: `old.profile_id = '${ann}' and new.status <> 'pending'`,
    });
    world.clock.advance(2 * DAY + 1000);
    await runUntilNothingDue(world.background.handOffTimers);
    const [record] = await unresolved();
    expect(record).toEqual(expect.objectContaining({ kind: 'hand-off' }));
    await liftRefusal(world, breach);
    const handOffs = async () =>
      (await world.storage.scoring.listHandOffs(world.workspaceId, { profileId: ann }, { limit: 5 })).items;
    return { ann, setAsideId: record?.id ?? 0, handOffs };
  }

  it('judges a hand-off’s SLA again once retried: the missed hand-off is breached', async () => {
    const { setAsideId, handOffs } = await setAsideAnnsHandOff();

    expect((await retrySetAsideTimer(world.storage, request(setAsideId))).status).toBe('resolved');
    await runUntilNothingDue(world.background.handOffTimers);
    expect((await handOffs()).map((handOff) => handOff.status)).toEqual(['breached']);
  });

  it('leaves a dismissed hand-off’s SLA unjudged: it stays pending', async () => {
    const { setAsideId, handOffs } = await setAsideAnnsHandOff();

    expect((await dismissSetAsideTimer(world.storage, request(setAsideId))).status).toBe('resolved');
    await runUntilNothingDue(world.background.handOffTimers);
    expect((await handOffs()).map((handOff) => handOff.status)).toEqual(['pending']);
    expect(await world.storage.scoring.nextHandOffDue()).toBeUndefined();
  });

  it('refuses to retry the SLA of a hand-off no longer pending', async () => {
    const { ann, setAsideId, handOffs } = await setAsideAnnsHandOff();
    await recycleProfile(world.storage, {
      workspaceId: world.workspaceId,
      profileId: ann,
      reason: 'by hand',
      now: world.clock.now(),
    });
    expect((await handOffs()).map((handOff) => handOff.status)).toEqual(['recycled']);

    expect(await retrySetAsideTimer(world.storage, request(setAsideId))).toEqual({
      status: 'refused',
      reason: expect.stringContaining('is recycled now: there is no SLA left to judge'),
    });
    expect((await unresolved()).map((record) => record.id)).toEqual([setAsideId]);
  });
});
