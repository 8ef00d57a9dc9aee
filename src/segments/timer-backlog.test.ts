import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SegmentCondition } from '../core/segment-definition.js';
import { listProfileTimeline, PROFILES_CURSOR, profileResolutionBatch } from '../profiles/profiles.js';
import { SCORING_CURSOR, scoringBatch } from '../scoring/scoring-batch.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { onceReadable } from '../test-support/pipeline-batches.js';
import { track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { runDueSegmentTimers } from './live-segments.js';
import { createSegment, previewSegment } from './segments.js';

const HOUR = 3_600_000;

describe.each(BACKENDS)('a segment timer behind a backlog of the segments consumer on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  const members = async (segmentId: string) =>
    (await world.storage.segments.listMembers(segmentId, { limit: 100 })).items.map((item) => item.profileId);
  /** Profiles and scoring read what was sent; the segments consumer, behind them, has not yet. */
  const resolveAndScore = async () => {
    const now = world.clock.now();
    await onceReadable(() =>
      world.storage.runPipelineBatch(
        PROFILES_CURSOR,
        1000,
        profileResolutionBatch(() => now),
        now,
        {
          skipMopsEvents: true,
        },
      ),
    );
    await world.storage.runPipelineBatch(
      SCORING_CURSOR,
      1000,
      scoringBatch(() => now),
      now,
      {
        skipMopsEvents: true,
        notBeyond: PROFILES_CURSOR,
      },
    );
  };

  it('finds events in a window though a timer behind the backlog wrote its changes dated long before', async () => {
    const pinged: SegmentCondition = { type: 'event', event: 'Pinged', within: '1m', atLeast: 1, where: [] };
    await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Pinged lately', kind: 'live', rule: pinged },
      now: world.clock.now(),
    });
    await world.settle();
    await world.send([track('ada', 'Pinged')]);
    await world.settle();
    world.clock.advance(61_000);
    // The segments consumer falls two hours behind; meanwhile Cy buys.
    await world.send([track('bo', 'Other')]);
    await resolveAndScore();
    world.clock.advance(2 * HOUR);
    await world.send([track('cy', 'Bought')]);
    await resolveAndScore();
    world.clock.advance(10 * 60_000);
    // Ada's timer, judged through the backlog's start: her Segment Exited is dated two hours back.
    expect((await runDueSegmentTimers(world.storage, { now: world.clock.now() })).taken).toBeGreaterThan(0);

    const cy = await world.profileOf('cy');
    const bought: SegmentCondition = { type: 'event', event: 'Bought', within: '1h', atLeast: 1, where: [] };
    const preview = await previewSegment(world.storage, {
      workspaceId: world.workspaceId,
      rule: bought,
      now: world.clock.now(),
    });
    expect(preview.sample).toEqual([cy]);
    await world.settle();
    const buyers = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Bought lately', kind: 'live', rule: bought },
      now: world.clock.now(),
    });
    await world.settle();
    expect(await members(buyers.id)).toEqual([cy]);
  });

  it('keeps a member whose event is still in the window, though a later one waits to be read', async () => {
    const rule: SegmentCondition = { type: 'event', event: 'Pinged', within: '1m', atLeast: 1, where: [] };
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Pinged lately', kind: 'live', rule },
      now: world.clock.now(),
    });
    await world.settle();
    await world.send([track('ada', 'Pinged')]);
    await world.settle();
    const ada = await world.profileOf('ada');
    world.clock.advance(30_000);
    // In the window until 90 s; the first ping's timer falls due at 60 s.
    await world.send([track('ada', 'Pinged')]);
    await world.settle();
    world.clock.advance(31_000);
    // A backlog begins at 61 s; Ada pings again at 62 s, read by profiles and scoring only.
    await world.send([track('bo', 'Other')]);
    world.clock.advance(1000);
    await world.send([track('ada', 'Pinged')]);
    await resolveAndScore();
    world.clock.advance(1000);

    // Judged as of 61 s, Ada pinged 31 s before: still a member, whatever came later.
    expect((await runDueSegmentTimers(world.storage, { now: world.clock.now() })).taken).toBeGreaterThan(0);
    expect(await members(segment.id)).toEqual([ada]);
    await world.settle();
    expect(await members(segment.id)).toEqual([ada]);
    // Entered once, never left and entered again.
    const timeline = await listProfileTimeline(world.storage, world.workspaceId, ada, { limit: 100 });
    expect(timeline?.items.map((event) => event.name).filter((name) => name?.startsWith('Segment '))).toEqual(
      ['Segment Entered'],
    );
  });
});
