import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { payloadProperties } from '../core/event.js';
import type { SegmentCondition } from '../core/segment-definition.js';
import { listProfileTimeline, PROFILES_CURSOR, profileResolutionBatch } from '../profiles/profiles.js';
import { SCORING_CURSOR, scoringBatch } from '../scoring/scoring-batch.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { onceReadable } from '../test-support/pipeline-batches.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { DigestCache } from './digest-cache.js';
import { runDueSegmentTimers, SEGMENTS_CURSOR, segmentMembershipBatch } from './live-segments.js';
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

  it('decides a batch read behind a backlog as a timer would, so a window it closes no timer opens again', async () => {
    const pinged: SegmentCondition = { type: 'event', event: 'Pinged', within: '1m', atLeast: 1, where: [] };
    const pongingPros: SegmentCondition = {
      all: [
        { type: 'event', event: 'Ponged', within: '1m', atLeast: 1, where: [] },
        { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
      ],
    };
    await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Pinged lately', kind: 'live', rule: pinged },
      now: world.clock.now(),
    });
    const ponging = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Ponging pros', kind: 'live', rule: pongingPros },
      now: world.clock.now(),
    });
    await world.settle();
    await world.send([identify('ada', { plan: 'pro' }), track('ada', 'Pinged')]);
    await world.settle();
    world.clock.advance(20_000);
    await world.send([track('ada', 'Ponged')]);
    await world.settle();
    // At 62 s Ada is seen again; at 65 s a backlog begins. At 90 s the segments consumer reads Ada's
    // identify alone: as of 64 s her pong (20 s) is still in its window, though by the clock it is not.
    world.clock.advance(42_000);
    await world.send([identify('ada', { plan: 'pro', seen: 1 })]);
    world.clock.advance(3000);
    await world.send([track('bo', 'Other')]);
    await resolveAndScore();
    world.clock.advance(25_000);
    const oneEvent = segmentMembershipBatch(() => world.clock.now(), new DigestCache());
    await world.storage.runPipelineBatch(SEGMENTS_CURSOR, 1, oneEvent, world.clock.now(), {
      skipMopsEvents: true,
      notBeyond: SCORING_CURSOR,
    });
    // The ping's timer (due at 60 s) judges as of 64 s too: nothing for it to take back.
    await runDueSegmentTimers(world.storage, { now: world.clock.now() });
    await world.settle();
    const timeline = await listProfileTimeline(
      world.storage,
      world.workspaceId,
      await world.profileOf('ada'),
      {
        limit: 100,
      },
    );
    const ofPonging = (timeline?.items ?? [])
      .filter((event) => payloadProperties(event.payload).segment_id === ponging.id)
      .map((event) => event.name)
      .reverse();
    expect(ofPonging).toEqual(['Segment Entered', 'Segment Exited']);
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
