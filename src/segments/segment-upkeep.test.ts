import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventPipeline } from '../pipeline/pipeline.js';
import { listProfileTimeline, PROFILES_CURSOR, profileResolutionBatch } from '../profiles/profiles.js';
import { SCORING_CURSOR, scoringBatch } from '../scoring/scoring-batch.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { onceReadable } from '../test-support/pipeline-batches.js';
import { track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { createSegmentUpkeep } from './segment-upkeep.js';
import { createSegment } from './segments.js';

const DAY = 86_400_000;

describe.each(BACKENDS)('segment upkeep on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  it('lets a batch and the timers deciding the same profile take turns: one Segment Exited, not two', async () => {
    const { storage, clock } = world;
    const segment = await createSegment(storage, {
      workspaceId: world.workspaceId,
      input: {
        name: 'Checkout abandoners',
        kind: 'live',
        rule: {
          all: [
            { type: 'event', event: 'Checkout Started', within: '1d', atLeast: 1, where: [] },
            { not: { type: 'event', event: 'Order Completed', within: '1d', atLeast: 1, where: [] } },
          ],
        },
      },
      now: clock.now(),
    });
    await world.send([track('ada', 'Checkout Started')]);
    await world.settle();
    const ada = await world.profileOf('ada');
    expect(await storage.segments.countMembers(segment.id)).toBe(1);

    // A day later ada's timer is due (the checkout left the window) and an order comes in: the
    // batch with the order and the timer both take ada out of the segment.
    clock.advance(DAY + 1000);
    await world.send([track('ada', 'Order Completed')]);
    await onceReadable(() =>
      storage.runPipelineBatch(
        PROFILES_CURSOR,
        1000,
        profileResolutionBatch(() => clock.now()),
        clock.now(),
      ),
    );
    await storage.runPipelineBatch(
      SCORING_CURSOR,
      1000,
      scoringBatch(() => clock.now()),
      clock.now(),
      {
        notBeyond: PROFILES_CURSOR,
      },
    );

    // The timers are asked to run while the batch is between its reads and its writes.
    const upkeep = createSegmentUpkeep({
      storage,
      clock,
      logger: pino({ level: 'silent' }),
      onDecided: () => undefined,
    });
    const decide = upkeep.consumer.batch;
    let timersRun: Promise<number> | undefined;
    upkeep.consumer.batch = {
      async prepare(events, reader, span) {
        const write = await decide.prepare(events, reader, span);
        timersRun = upkeep.runDueTimers();
        await new Promise((resolve) => setTimeout(resolve, 100));
        return write;
      },
    };
    const pipeline = new EventPipeline({
      storage,
      clock,
      logger: pino({ level: 'silent' }),
      consumers: [upkeep.consumer],
    });
    expect(await pipeline.runOnce()).toBeGreaterThan(0);
    expect(await timersRun).toBe(1);

    expect(await storage.segments.countMembers(segment.id)).toBe(0);
    const timeline = await listProfileTimeline(storage, world.workspaceId, ada, { limit: 50 });
    const segmentEvents = (timeline?.items ?? [])
      .map((event) => event.name)
      .filter((name) => name?.startsWith('Segment '));
    expect(segmentEvents).toEqual(['Segment Exited', 'Segment Entered']);
  });
});
