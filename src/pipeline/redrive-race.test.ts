import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SetAsideEvent } from '../core/event.js';
import { rescoreEvent, scoringBatch } from '../scoring/scoring.js';
import { DigestCache } from '../segments/digest-cache.js';
import { segmentMembershipBatch } from '../segments/live-segments.js';
import { createSegment, redecideProfileOfEvent } from '../segments/segments.js';
import { StaleBatchError } from '../storage/storage.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { liftRefusal, refuseWrites } from '../test-support/refusing-trigger.js';
import { track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { type EventRetry, retrySetAsideEvent } from './redrive.js';

/**
 * A consumer's batch that read what it decides from before a retry of one of its set-aside events
 * and writes after it (on SQLite a batch reads before taking the write lock) must not write over
 * what the retry did: it goes stale, and is decided again from fresh reads.
 */
describe.each(BACKENDS)('a batch decided across a retry, on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  /** Runs the pipeline's rounds as its loop does, failed ones included, until it is caught up. */
  async function runPipeline(): Promise<void> {
    const { pipeline } = world.background;
    for (let round = 0; round < 30; ) {
      const progress = await pipeline.runOnce().catch(() => -1);
      if (progress !== 0) round++;
      // On PostgreSQL a round finds nothing while another test's transaction is open: that is no round.
      else if (!(await pipeline.isBehind())) return;
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async function setAsideOf(consumer: string): Promise<SetAsideEvent> {
    const { items } = await world.storage.setAsideEvents.list(world.workspaceId, { limit: 5 });
    const record = items.find((item) => item.consumer === consumer);
    if (!record) throw new Error(`nothing set aside by ${consumer}`);
    return record;
  }

  const retry = (record: SetAsideEvent, retries: Record<string, EventRetry>) =>
    retrySetAsideEvent(world.storage, {
      workspaceId: world.workspaceId,
      id: record.id,
      by: null,
      now: world.clock.now(),
      retries,
    });

  it('goes stale for segments: the contact the retry made a member is not decided again from before it', async () => {
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: {
        name: 'Viewers',
        kind: 'live',
        rule: { type: 'event', event: 'Viewed', atLeast: 1, where: [] },
      },
      now: world.clock.now(),
    });
    const refusal = { name: 'refuse_member', table: 'segment_members' };
    await refuseWrites(world, { ...refusal, on: 'insert', when: 'true' });
    await world.send([track('ann', 'Viewed')]);
    await runPipeline();
    const record = await setAsideOf('segments');
    await liftRefusal(world, refusal);
    const event = await world.storage.setAsideEvents.findEvent(world.workspaceId, record.eventId);
    const span = { after: '0', through: '0' };
    const write = await segmentMembershipBatch(() => world.clock.now(), new DigestCache()).prepare(
      [event as NonNullable<typeof event>],
      world.storage,
      span,
    );

    const outcome = await retry(record, {
      segments: {
        async redo(tx, retried, now) {
          await redecideProfileOfEvent(tx, retried, now);
          return () => undefined;
        },
      },
    });
    expect(outcome.status).toBe('resolved');
    await expect(world.storage.transaction((tx) => write(tx))).rejects.toThrow(StaleBatchError);

    expect(await world.storage.segments.countMembers(segment.id)).toBe(1);
  });

  it('goes stale for scoring: the score is the one the retry left', async () => {
    await world.configure({
      scoring: {
        models: [
          {
            id: 'fit',
            name: 'Fit',
            rules: [
              { id: 'viewed', kind: 'event', event: 'Viewed', where: [], points: 10, repeat: 'every_time' },
            ],
          },
        ],
      },
    });
    await world.send([track('ann', 'Viewed')]);
    await world.settle();
    const ann = await world.profileOf('ann');
    const refusal = { name: 'refuse_award', table: 'score_ledger' };
    await refuseWrites(world, { ...refusal, on: 'insert', when: 'true' });
    await world.send([track('ann', 'Viewed')]);
    await runPipeline();
    const record = await setAsideOf('scoring');
    await liftRefusal(world, refusal);
    // A batch of a third view, decided from a ledger of one award.
    await world.send([track('ann', 'Viewed')]);
    const { items } = await world.storage.events.list(world.workspaceId, { limit: 1 });
    const write = await scoringBatch(() => world.clock.now()).prepare(items, world.storage, {
      after: '0',
      through: '0',
    });

    const outcome = await retry(record, {
      scoring: {
        async redo(tx, retried, now) {
          await rescoreEvent(tx, retried, now);
          return () => undefined;
        },
      },
    });
    expect(outcome.status).toBe('resolved');
    expect((await world.storage.scoring.scores([ann])).get(ann)?.fit?.score).toBe(20);
    await expect(world.storage.transaction((tx) => write(tx))).rejects.toThrow(StaleBatchError);
    expect((await world.storage.scoring.scores([ann])).get(ann)?.fit?.score).toBe(20);
  });
});
