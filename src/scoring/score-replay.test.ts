import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../core/errors.js';
import { PAST_EVENTS_SCORED } from '../core/score-replay.js';
import { EventPipeline } from '../pipeline/pipeline.js';
import { retrySetAsideEvent } from '../pipeline/redrive.js';
import { listProfileTimeline, PROFILES_CURSOR, profileResolutionBatch } from '../profiles/profiles.js';
import { createSegment } from '../segments/segments.js';
import { eventRetries } from '../server/event-retries.js';
import type { Storage } from '../storage/storage.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { untilEventsReadable } from '../test-support/readable-events.js';
import { liftRefusal, refuseWrites } from '../test-support/refusing-trigger.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { cancelScoreReplay, replayNextPage, requestScoreReplay, runScoreReplays } from './score-replay.js';
import { profileIntent } from './scoring.js';
import { SCORING_CURSOR } from './scoring-batch.js';

const DAY = 86_400_000;

const ENGAGEMENT = {
  id: 'engagement',
  name: 'Engagement',
  rules: [
    { id: 'pricing', kind: 'event', event: 'Pricing Viewed', points: 10, cap: 30 },
    { id: 'demo', kind: 'event', event: 'Demo Requested', points: 40, repeat: 'once' },
    { id: 'careers', kind: 'event', event: 'Careers Viewed', points: -15, halfLife: '7d' },
  ],
};

describe.each(BACKENDS)('score models applied to past events on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  /** The model, saved after the history, with a lifecycle moving 50 points to MQL. */
  const saveModel = () =>
    world.configure({
      scoring: { models: [ENGAGEMENT] },
      lifecycle: {
        stages: ['subscriber', 'lead', 'mql', 'sql'],
        rules: [{ kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 }],
      },
    });
  const request = (since: number | null = null, model = 'engagement') =>
    requestScoreReplay(world.storage, {
      workspaceId: world.workspaceId,
      model,
      since,
      now: world.clock.now(),
    });
  /** What is left of the running replays, a profile a page (as after a restart mid-way). */
  const runRestOnePerPage = () =>
    runScoreReplays(world.storage, {
      clock: world.clock,
      logger: pino({ level: 'silent' }),
      pageProfiles: 1,
    });
  const intentOf = async (userId: string) =>
    profileIntent(world.storage, {
      workspaceId: world.workspaceId,
      profileId: await world.profileOf(userId),
      now: world.clock.now(),
    });
  const engagementOf = async (userId: string) =>
    (await intentOf(userId)).scores.find((score) => score.model === 'engagement');
  const timelineNames = async (userId: string) =>
    (
      await listProfileTimeline(world.storage, world.workspaceId, await world.profileOf(userId), {
        limit: 100,
      })
    )?.items.map((event) => event.name);

  /** A replay page, with `overtake` committing between its reads and its write transaction (as another process would), then the world settled. */
  const replayPageOvertakenBy = async (overtake: () => Promise<unknown>) => {
    const interleaved: Storage = Object.create(world.storage);
    interleaved.transaction = async (work) => {
      await overtake();
      return world.storage.transaction(work);
    };
    await replayNextPage(interleaved, { clock: world.clock });
    await world.settle();
  };

  /** Ada browsed pricing four times and asked for two demos; Bob looked at careers; Cy only signed up. */
  const sendHistory = async () => {
    const now = world.clock.now();
    await world.send([
      identify('cy', { plan: 'free' }),
      ...[20, 15, 10, 5].map((days) => track('ada', 'Pricing Viewed', {}, now - days * DAY)),
      track('ada', 'Demo Requested', {}, now - 12 * DAY),
      track('ada', 'Demo Requested', {}, now - 3 * DAY),
      track('bob', 'Careers Viewed', {}, now - 7 * DAY),
    ]);
    await world.settle();
  };

  it('awards past events as they would have been as they came, dated by them, and tells segments, not stages', async () => {
    await sendHistory();
    await saveModel();
    const hot = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Hot leads', kind: 'live', rule: { type: 'score', model: 'engagement', min: 50 } },
      now: world.clock.now(),
    });
    await world.settle();
    // A model scores events as they arrive: the history earned nothing yet.
    expect((await engagementOf('ada'))?.score).toBe(0);
    expect((await world.storage.segments.listMembers(hot.id, { limit: 10 })).items).toEqual([]);

    const requested = await request();
    expect(requested).toMatchObject({ status: 'running', profilesTotal: 3, profilesDone: 0 });
    await world.settle();

    const replay = await world.storage.scoring.findReplay(world.workspaceId, requested.id);
    expect(replay).toMatchObject({
      status: 'done',
      profilesDone: 3,
      profilesScored: 2,
      awards: 5,
      points: 30 + 40 - 15,
      finishedAt: world.clock.now(),
    });
    const ada = await engagementOf('ada');
    // The cap holds (three pricing views of four earn), the demo earns once, each award keeps its event's time.
    expect(
      ada?.awards.map((award) => [award.rule, award.points, (world.clock.now() - award.at) / DAY]),
    ).toEqual([
      ['pricing', 10, 20],
      ['pricing', 10, 15],
      ['demo', 40, 12],
      ['pricing', 10, 10],
    ]);
    expect(ada?.score).toBe(70);
    // Bob's careers visit a week ago has lost half of its points.
    expect((await engagementOf('bob'))?.score).toBe(-7.5);
    expect(await timelineNames('ada')).toContain(PAST_EVENTS_SCORED);
    expect(await timelineNames('cy')).not.toContain(PAST_EVENTS_SCORED);
    // Segments asking about scores heard of it; the lifecycle waits for Ada's next event.
    expect((await world.storage.segments.listMembers(hot.id, { limit: 10 })).items).toEqual([
      { profileId: await world.profileOf('ada'), enteredAt: world.clock.now() },
    ]);
    expect((await intentOf('ada')).stage).toBeNull();
    const distribution = await world.storage.scoring.scores([await world.profileOf('ada')]);
    expect(distribution.get(await world.profileOf('ada'))?.engagement?.score).toBe(70);

    // Once more: every event has earned what it could, so nothing is awarded or written again.
    const again = await request();
    await world.settle();
    expect(await world.storage.scoring.findReplay(world.workspaceId, again.id)).toMatchObject({
      status: 'done',
      profilesScored: 0,
      awards: 0,
    });
    expect((await timelineNames('ada'))?.filter((name) => name === PAST_EVENTS_SCORED)).toHaveLength(1);
    expect((await engagementOf('ada'))?.score).toBe(70);

    await world.send([track('ada', 'Page Viewed')]);
    await world.settle();
    expect((await intentOf('ada')).stage).toBe('mql');
  });

  it("stores a fit model's scores for contacts whose traits fit though they did nothing since it was made", async () => {
    await sendHistory();
    await world.configure({
      scoring: {
        models: [
          {
            id: 'fit',
            name: 'Fit',
            rules: [
              {
                id: 'free',
                kind: 'fit',
                when: { type: 'trait', path: 'plan', op: 'eq', value: 'free' },
                points: 25,
              },
            ],
          },
        ],
      },
    });
    const fitSegment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Good fit', kind: 'live', rule: { type: 'score', model: 'fit', min: 20 } },
      now: world.clock.now(),
    });
    await world.settle();
    const storedFit = async (userId: string) =>
      (await world.storage.scoring.scores([await world.profileOf(userId)])).get(await world.profileOf(userId))
        ?.fit?.score;
    // Cy has sent nothing since the model was made: no score stored for the distribution to count.
    expect(await storedFit('cy')).toBeUndefined();

    const { id } = await request(null, 'fit');
    await world.settle();
    expect(await world.storage.scoring.findReplay(world.workspaceId, id)).toMatchObject({
      status: 'done',
      profilesDone: 3,
      profilesScored: 1,
      awards: 0,
    });
    expect(await storedFit('cy')).toBe(25);
    expect(await storedFit('ada')).toBeUndefined();
    expect(await timelineNames('cy')).toContain(PAST_EVENTS_SCORED);
    expect((await world.storage.segments.listMembers(fitSegment.id, { limit: 10 })).items).toEqual([
      { profileId: await world.profileOf('cy'), enteredAt: expect.any(Number) },
    ]);

    // Applied again, nothing has changed: nothing is written.
    const again = await request(null, 'fit');
    await world.settle();
    expect(await world.storage.scoring.findReplay(world.workspaceId, again.id)).toMatchObject({
      status: 'done',
      profilesScored: 0,
    });
  });

  it('scores only events after `since`, one replay of a model at a time, resuming where it stopped', async () => {
    await sendHistory();
    await saveModel();
    const requested = await request(world.clock.now() - 11 * DAY);
    const refusal = await request().catch((error: unknown) => error);
    expect(isAppError(refusal) && refusal.code).toBe('conflict');

    // One page of one profile, then a restart: the next run goes on after it, nothing twice.
    const first = await replayNextPage(world.storage, { clock: world.clock, pageProfiles: 1 });
    expect(first).toMatchObject({ id: requested.id, status: 'running', profilesDone: 1 });
    await runRestOnePerPage();
    expect(await world.storage.scoring.findReplay(world.workspaceId, requested.id)).toMatchObject({
      status: 'done',
      profilesDone: 3,
      // Within eleven days: two pricing views, the second demo, the careers visit.
      awards: 4,
    });
    expect((await engagementOf('ada'))?.awards.map((award) => award.rule)).toEqual([
      'pricing',
      'pricing',
      'demo',
    ]);

    // Stopped by hand where it has got to: what it awarded stays, and it goes no further.
    const stopped = await request();
    await replayNextPage(world.storage, { clock: world.clock, pageProfiles: 1 });
    expect(
      await cancelScoreReplay(world.storage, {
        workspaceId: world.workspaceId,
        replayId: stopped.id,
        by: 'ada@example.com',
        now: world.clock.now(),
      }),
    ).toMatchObject({ status: 'cancelled', reason: 'stopped by ada@example.com', profilesDone: 1 });
    await runRestOnePerPage();
    expect(await world.storage.scoring.findReplay(world.workspaceId, stopped.id)).toMatchObject({
      status: 'cancelled',
      profilesDone: 1,
    });
    const again = await cancelScoreReplay(world.storage, {
      workspaceId: world.workspaceId,
      replayId: stopped.id,
      by: 'ada@example.com',
      now: world.clock.now(),
    }).catch((error: unknown) => error);
    expect(isAppError(again) && again.code).toBe('conflict');

    // A model removed while its replay waits ends it.
    const next = await request();
    await world.configure({
      scoring: { models: [{ ...ENGAGEMENT, id: 'interest', name: 'Interest' }] },
      lifecycle: {
        stages: ['subscriber', 'lead', 'mql', 'sql'],
        rules: [{ kind: 'score', to: 'mql', model: 'interest', atLeast: 50 }],
      },
    });
    await world.settle();
    expect(await world.storage.scoring.findReplay(world.workspaceId, next.id)).toMatchObject({
      status: 'cancelled',
      reason: "score model engagement was removed from the workspace's settings",
    });
    const unknown = await request().catch((error: unknown) => error);
    expect(isAppError(unknown) && unknown.code).toBe('not_found');
  });
  it('scores what a profile merged in meanwhile brought, though the pass had gone beyond it', async () => {
    const now = world.clock.now();
    await world.send([track('ada', 'Pricing Viewed', {}, now - 5 * DAY)]);
    await world.settle();
    await world.advance(1000);
    // A visitor asked for a demo before signing in: a profile of its own, after Ada's.
    await world.send([
      {
        type: 'track',
        anonymousId: 'visitor-1',
        event: 'Demo Requested',
        timestamp: new Date(now - 2 * DAY).toISOString(),
      },
    ]);
    await world.settle();
    await saveModel();
    const requested = await request();
    expect(await replayNextPage(world.storage, { clock: world.clock, pageProfiles: 1 })).toMatchObject({
      afterProfile: await world.profileOf('ada'),
    });
    // The visitor signs in as Ada: merged into her, whom the pass has done already.
    await world.send([{ type: 'identify', userId: 'ada', anonymousId: 'visitor-1', traits: {} }]);
    await world.background.pipeline.drain();
    await runRestOnePerPage();
    expect(await world.storage.scoring.findReplay(world.workspaceId, requested.id)).toMatchObject({
      status: 'done',
      awards: 2,
    });
    expect((await engagementOf('ada'))?.awards.map((award) => award.rule)).toEqual(['pricing', 'demo']);
    expect((await engagementOf('ada'))?.score).toBe(50);
  });

  it("plans a page again when another process's scoring batch committed between its reads and its writes", async () => {
    await world.send([identify('ada', { plan: 'free' })]);
    await world.settle();
    await saveModel();
    const requested = await request();
    // Ada asks for a demo as the page is read: resolved to her profile but not yet scored, then
    // another worker's batch scores it before the page writes.
    await world.send([track('ada', 'Demo Requested')]);
    const logger = pino({ level: 'silent' });
    const resolveOnly = new EventPipeline({
      storage: world.storage,
      clock: world.clock,
      logger,
      consumers: [
        {
          cursor: PROFILES_CURSOR,
          batch: profileResolutionBatch(() => world.clock.now()),
          skipsMopsEvents: true,
        },
      ],
    });
    await untilEventsReadable(world.storage);
    expect(await resolveOnly.runOnce()).toBeGreaterThan(0);
    await replayPageOvertakenBy(() => world.background.pipeline.drain());

    // Scored once, as it came; the replay awarded nothing, so counts nothing and tells nobody.
    expect((await engagementOf('ada'))?.awards.map((award) => award.rule)).toEqual(['demo']);
    expect(await world.storage.scoring.findReplay(world.workspaceId, requested.id)).toMatchObject({
      status: 'done',
      profilesScored: 0,
      awards: 0,
      points: 0,
    });
    expect(await timelineNames('ada')).not.toContain(PAST_EVENTS_SCORED);
  });

  it('plans a page again when an event scoring set aside was retried between its reads and its writes', async () => {
    await saveModel();
    const refusal = { name: 'refuse_award', table: 'score_ledger' };
    await refuseWrites(world, { ...refusal, on: 'insert', when: 'true' });
    await world.send([identify('ada', { plan: 'free' }), track('ada', 'Demo Requested')]);
    // The pipeline's rounds as its loop runs them, failed ones included, until it is caught up (on
    // PostgreSQL a round finds nothing while another test's transaction is open: that is no round).
    const { pipeline } = world.background;
    for (let round = 0; round < 30; ) {
      const progress = await pipeline.runOnce().catch(() => -1);
      if (progress !== 0) round++;
      else if (!(await pipeline.isBehind())) break;
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const { items } = await world.storage.setAsideEvents.list(world.workspaceId, { limit: 5 });
    const [record] = items.filter((item) => item.consumer === SCORING_CURSOR);
    expect(record).toBeDefined();
    await liftRefusal(world, refusal);
    const requested = await request();
    // An operator retries it as the page is read: the demo request is awarded before the page writes.
    await replayPageOvertakenBy(async () => {
      const retried = await retrySetAsideEvent(world.storage, {
        workspaceId: world.workspaceId,
        id: record?.id ?? 0,
        by: null,
        now: world.clock.now(),
        retries: eventRetries({ onMessagesQueued: () => undefined }),
      });
      expect(retried.status).toBe('resolved');
    });

    expect((await engagementOf('ada'))?.awards.map((award) => award.rule)).toEqual(['demo']);
    expect(await world.storage.scoring.findReplay(world.workspaceId, requested.id)).toMatchObject({
      status: 'done',
      awards: 0,
    });
  });

  it('counts a once-only award as of its own event, though a later one was scored as it came', async () => {
    const now = world.clock.now();
    await world.send([track('ada', 'Demo Requested', {}, now - 10 * DAY)]);
    await world.settle();
    await saveModel();
    // Asked again after the model was saved: the once-only rule awards this one, as it came.
    await world.send([track('ada', 'Demo Requested')]);
    await world.settle();
    expect((await engagementOf('ada'))?.awards.map((award) => award.at)).toEqual([now]);
    await request();
    await world.settle();
    // Replayed, the first demo request is the one that counts, dated ten days ago.
    expect((await engagementOf('ada'))?.awards.map((award) => [award.rule, award.at])).toEqual([
      ['demo', now - 10 * DAY],
    ]);
    expect((await engagementOf('ada'))?.score).toBe(40);
  });
});
