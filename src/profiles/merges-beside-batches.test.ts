import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recycleProfile } from '../scoring/hand-offs.js';
import { SCORING_CURSOR, scoringBatch } from '../scoring/scoring-batch.js';
import { DigestCache } from '../segments/digest-cache.js';
import { SEGMENTS_CURSOR, segmentMembershipBatch } from '../segments/live-segments.js';
import { createSegment } from '../segments/segments.js';
import { MERGES_LOCK_KEY, type PipelineBatch, type StorageReader } from '../storage/storage.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { mergeOf, userAndVisitor } from '../test-support/merges.js';
import { onceReadable } from '../test-support/pipeline-batches.js';
import { someoneWaitsForLock, testDatabaseUrl } from '../test-support/postgres.js';
import { BACKENDS } from '../test-support/world.js';
import { listProfileTimeline, PROFILES_CURSOR, profileResolutionBatch } from './profiles.js';

/**
 * A visitor’s event is being decided by scoring or segments (on another process, or the segments
 * thread) when the log thread commits the merge of that visitor into a known user: what the batch
 * decided about the visitor must end up with the user, not on a profile no event reaches any more.
 */
/** One batch of the profiles consumer, as the log thread runs it. */
const resolveProfilesIn = (world: JourneyWorld) =>
  onceReadable(() =>
    world.storage.runPipelineBatch(
      PROFILES_CURSOR,
      1000,
      profileResolutionBatch(() => world.clock.now()),
      world.clock.now(),
      { skipMopsEvents: true },
    ),
  );

/** One batch of the scoring consumer (or of `batch` in its place), after the profiles one. */
const scoreIn = (
  world: JourneyWorld,
  batch: PipelineBatch<unknown> = scoringBatch(() => world.clock.now()),
) =>
  world.storage.runPipelineBatch(SCORING_CURSOR, 1000, batch, world.clock.now(), {
    skipMopsEvents: true,
    notBeyond: PROFILES_CURSOR,
  });

describe.each(BACKENDS)('batches beside a merge on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  const resolveProfiles = () => resolveProfilesIn(world);

  /** The batch, with the merge committed between its reads and its writes. */
  function mergingWhileDeciding<T>(batch: PipelineBatch<T>): PipelineBatch<T> {
    let hasMerged = false;
    return {
      async prepare(events, reader, span) {
        const write = await batch.prepare(events, reader, span);
        if (!hasMerged) {
          hasMerged = true;
          expect((await resolveProfiles()).status).toBe('done');
        }
        return write;
      },
    };
  }

  /** A visitor who did `event`, and then signed in as `u1` (not yet resolved). */
  async function visitorAboutToSignIn(event: string): Promise<void> {
    await world.send([{ type: 'identify', userId: 'u1', traits: { plan: 'pro' } }]);
    await world.settle();
    world.clock.advance(1000);
    await world.send([{ type: 'track', anonymousId: 'anon1', event, properties: {} }]);
    expect((await resolveProfiles()).status).toBe('done');
    world.clock.advance(1000);
    await world.send([{ type: 'identify', userId: 'u1', anonymousId: 'anon1', traits: {} }]);
  }

  it('scores the survivor for the visitor’s event', async () => {
    await world.configure({
      scoring: {
        models: [
          {
            id: 'engagement',
            name: 'Engagement',
            rules: [{ id: 'pricing', kind: 'event', event: 'Pricing Viewed', points: 10 }],
          },
        ],
      },
    });
    await visitorAboutToSignIn('Pricing Viewed');
    const batch = mergingWhileDeciding(scoringBatch(() => world.clock.now()));
    expect((await scoreIn(world, batch)).status).toBe('stale');
    expect((await scoreIn(world, batch)).status).toBe('done');
    await world.settle();

    const user = await world.profileOf('u1');
    const ledger = await world.storage.scoring.ledgerOfProfile(user);
    expect(ledger.map((entry) => [entry.rule, entry.points])).toEqual([['pricing', 10]]);
    expect((await world.storage.scoring.scores([user])).get(user)).toMatchObject({
      engagement: { score: 10 },
    });
  });

  it('scores again a survivor that absorbed a recycled lead while it was scored', async () => {
    await world.configure({
      scoring: {
        models: [
          {
            id: 'engagement',
            name: 'Engagement',
            rules: [
              { id: 'pricing', kind: 'event', event: 'Pricing Viewed', points: 10 },
              { id: 'demo', kind: 'event', event: 'Demo Requested', points: 40, repeat: 'once' },
            ],
          },
        ],
      },
      lifecycle: {
        stages: ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer'],
        rules: [
          { kind: 'event', to: 'lead', event: 'Signed Up' },
          { kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 },
        ],
        recycleTo: 'lead',
      },
    });
    const visitor = (event: string) => ({ type: 'track', anonymousId: 'anon1', event, properties: {} });
    await world.send([visitor('Signed Up'), visitor('Demo Requested'), visitor('Pricing Viewed')]);
    await world.settle();
    const [identity] = await world.storage.profiles.findIdentities(world.workspaceId, [
      { kind: 'anonymous', value: 'anon1' },
    ]);
    const visitorId = identity?.profileId ?? '';
    expect(await world.storage.scoring.stages([visitorId])).toEqual(new Map([[visitorId, 'mql']]));
    // Sales turned the visitor's lead down: recycled, its score (50) still at the threshold.
    await recycleProfile(world.storage, {
      workspaceId: world.workspaceId,
      profileId: visitorId,
      reason: 'rejected',
      now: world.clock.now(),
    });
    await world.send([
      { type: 'identify', userId: 'u1', traits: {} },
      { type: 'track', userId: 'u1', event: 'Signed Up', properties: {} },
    ]);
    await world.settle();
    world.clock.advance(1000);
    await world.send([{ type: 'track', userId: 'u1', event: 'Pricing Viewed', properties: {} }]);
    expect((await resolveProfiles()).status).toBe('done');
    world.clock.advance(1000);
    await world.send([{ type: 'identify', userId: 'u1', anonymousId: 'anon1', traits: {} }]);

    // U1's page view is scored while the sign-in merges the recycled visitor into u1.
    const batch = mergingWhileDeciding(scoringBatch(() => world.clock.now()));
    expect((await scoreIn(world, batch)).status).toBe('stale');
    expect((await scoreIn(world, batch)).status).toBe('done');
    await world.settle();
    // Merged into a profile scoring less, the recycled lead keeps its higher score: no way back to MQL.
    const user = await world.profileOf('u1');
    expect(await world.storage.scoring.stages([user])).toEqual(new Map([[user, 'lead']]));
  });

  it('leaves a survivor to the merge event when the merge commits between the segments batch’s reads', async () => {
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: {
        name: 'Viewers',
        kind: 'live',
        rule: { type: 'event', event: 'Viewed', atLeast: 2, where: [] },
      },
      now: world.clock.now(),
    });
    await world.publish({
      name: 'Welcome viewers',
      entry: { trigger: { type: 'segment', segment: segment.id }, reentry: { policy: 'every_time' } },
      start: 'done',
      steps: [{ id: 'done', type: 'exit' }],
    });
    await world.send([{ type: 'identify', userId: 'u1', traits: {} }]);
    await world.send([
      { type: 'track', anonymousId: 'anon1', event: 'Viewed', properties: {} },
      { type: 'track', anonymousId: 'anon1', event: 'Viewed', properties: {} },
    ]);
    await world.settle();
    world.clock.advance(1000);
    // U1 views once on their own device (resolved and scored), then signs in on the visitor's browser.
    await world.send([{ type: 'track', userId: 'u1', event: 'Viewed', properties: {} }]);
    expect((await resolveProfiles()).status).toBe('done');
    expect((await scoreIn(world)).status).toBe('done');
    world.clock.advance(1000);
    await world.send([{ type: 'identify', userId: 'u1', anonymousId: 'anon1', traits: {} }]);

    // The segments batch of u1's view: the merge commits after its first reads, before its memberships.
    const inner = segmentMembershipBatch(() => world.clock.now(), new DigestCache());
    let hasMerged = false;
    const racing: PipelineBatch<unknown> = {
      async prepare(events, reader, span) {
        const segments = new Proxy(reader.segments, {
          get(target, key, receiver) {
            if (key !== 'memberships') return Reflect.get(target, key, receiver);
            return async (...args: Parameters<StorageReader['segments']['memberships']>) => {
              if (!hasMerged) {
                hasMerged = true;
                expect((await resolveProfiles()).status).toBe('done');
              }
              return target.memberships(...args);
            };
          },
        });
        return inner.prepare(events, { ...reader, segments } as StorageReader, span);
      },
    };
    const outcome = await world.storage.runPipelineBatch(SEGMENTS_CURSOR, 5000, racing, world.clock.now(), {
      skipMopsEvents: true,
      notBeyond: SCORING_CURSOR,
    });
    expect(hasMerged).toBe(true);
    expect(outcome.status).toBe('done');
    await world.settle();

    const user = await world.profileOf('u1');
    const members = await world.storage.segments.listMembers(segment.id, { limit: 10 });
    expect(members.items.map((member) => member.profileId)).toEqual([user]);
    // The person entered Viewers once, as the visitor: signing in is no leaving and entering again.
    const page = await listProfileTimeline(world.storage, world.workspaceId, user, { limit: 100 });
    const names = (page?.items ?? [])
      .map((event) => event.name)
      .filter((name) => name?.startsWith('Segment '));
    expect(names).toEqual(['Segment Entered']);
    expect(await world.storage.journeys.listInstancesOfProfile(world.workspaceId, user)).toHaveLength(1);
  });

  // The segments thread (SQLite) and other processes (PostgreSQL) read beside the log thread's writes.
  it('keeps no membership on the merged-away visitor', async () => {
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: {
        name: 'Viewers',
        kind: 'live',
        rule: { type: 'event', event: 'Viewed', atLeast: 1, where: [] },
      },
      now: world.clock.now(),
    });
    await world.settle();
    await visitorAboutToSignIn('Viewed');
    expect((await scoreIn(world)).status).toBe('done');
    const batch = mergingWhileDeciding(segmentMembershipBatch(() => world.clock.now(), new DigestCache()));
    const outcome = await world.storage.runPipelineBatch(SEGMENTS_CURSOR, 5000, batch, world.clock.now(), {
      skipMopsEvents: true,
      notBeyond: SCORING_CURSOR,
    });
    expect(outcome.status).toBe('done');
    await world.settle();

    const user = await world.profileOf('u1');
    const members = await world.storage.segments.listMembers(segment.id, { limit: 10 });
    expect(members.items.map((member) => member.profileId)).toEqual([user]);
    expect(await world.storage.segments.countMembers(segment.id)).toBe(1);
  });
});

describe('the segments batch beside a timer on postgres', () => {
  it('decides again a profile whose timer another process changed while the batch decided it', async () => {
    const world = await startJourneyWorld('postgres');
    try {
      await createSegment(world.storage, {
        workspaceId: world.workspaceId,
        input: {
          name: 'Viewed this week',
          kind: 'live',
          rule: { type: 'event', event: 'Viewed', within: '7d', atLeast: 1, where: [] },
        },
        now: world.clock.now(),
      });
      await world.send([{ type: 'track', userId: 'u1', event: 'Viewed', properties: {} }]);
      await world.settle();
      const profileId = await world.profileOf('u1');
      world.clock.advance(1000);
      await world.send([{ type: 'track', userId: 'u1', event: 'Viewed', properties: {} }]);
      expect((await resolveProfilesIn(world)).status).toBe('done');
      expect((await scoreIn(world)).status).toBe('done');
      const inner = segmentMembershipBatch(() => world.clock.now(), new DigestCache());
      let hasMoved = false;
      const racing: PipelineBatch<unknown> = {
        async prepare(events, reader, span) {
          const write = await inner.prepare(events, reader, span);
          if (!hasMoved) {
            hasMoved = true;
            const dueAt = world.clock.now() + 1000;
            await world.storage.segments.bringTimersForward([
              { profileId, workspaceId: world.workspaceId, dueAt },
            ]);
          }
          return write;
        },
      };
      const run = () =>
        world.storage.runPipelineBatch(SEGMENTS_CURSOR, 5000, racing, world.clock.now(), {
          skipMopsEvents: true,
          notBeyond: SCORING_CURSOR,
        });
      expect((await run()).status).toBe('stale');
      expect((await run()).status).toBe('done');
    } finally {
      await world.close();
    }
  });
});

describe('a merge beside a batch writing on postgres', () => {
  let world: JourneyWorld;
  let observer: pg.Client;

  beforeEach(async () => {
    world = await startJourneyWorld('postgres');
    observer = new pg.Client({ connectionString: testDatabaseUrl() });
    await observer.connect();
  });
  afterEach(async () => {
    await observer.end();
    await world.close();
  });

  it('enters the survivor when a merge commits while the entry waits for the profile', async () => {
    const journeyId = await world.publish({
      name: 'Welcome',
      entry: { trigger: { type: 'event', event: 'Signed Up' } },
      start: 'wait',
      steps: [
        { id: 'wait', type: 'wait', duration: '1d', next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    const { user: known, visitor } = await userAndVisitor(world, { userId: 'kay', anonymousId: 'anon-kay' });

    // The merge holds its transaction open, as a profiles batch on another process would; the entry
    // starts once it has merged (before, the entry could take the lock first and the test decide nothing).
    let commitMerge = () => {};
    const mergeMayCommit = new Promise<void>((resolve) => {
      commitMerge = resolve;
    });
    let merged = () => {};
    const hasMerged = new Promise<void>((resolve) => {
      merged = resolve;
    });
    const merge = world.storage.transaction(async (tx) => {
      await tx.profiles.applyResolution(mergeOf(visitor, known));
      merged();
      await mergeMayCommit;
    });
    await hasMerged;
    const entry = world.background.engine.enrol({
      workspaceId: world.workspaceId,
      journeyId,
      profileId: visitor.id,
      properties: {},
    });
    await someoneWaitsForLock(observer, { schema: world.schema ?? '', key: MERGES_LOCK_KEY });
    commitMerge();
    await merge;
    const instance = await entry;

    expect(instance?.profileId).toBe(known.id);
    expect(await world.storage.journeys.listInstancesOfProfile(world.workspaceId, visitor.id)).toEqual([]);
  });

  it('waits for a batch that checked its profiles to commit, so the merge moves what it wrote', async () => {
    const { user, visitor } = await userAndVisitor(world, { userId: 'u1', anonymousId: 'anon1' });

    let commitBatch = () => {};
    const batchMayCommit = new Promise<void>((resolve) => {
      commitBatch = resolve;
    });
    let checked = () => {};
    const hasChecked = new Promise<void>((resolve) => {
      checked = resolve;
    });
    const batch = world.storage.transaction(async (tx) => {
      await tx.profiles.holdOffMerges();
      expect(await tx.profiles.mergedAwayAmong([visitor.id])).toEqual(new Set());
      checked();
      await batchMayCommit;
      await tx.scoring.addAwards([
        {
          workspaceId: world.workspaceId,
          profileId: visitor.id,
          model: 'engagement',
          rule: 'pricing',
          eventId: 1,
          at: world.clock.now(),
          points: 10,
        },
      ]);
    });
    await hasChecked;
    let hasMerged = false;
    const merge = world.storage
      .transaction((tx) => tx.profiles.applyResolution(mergeOf(visitor, user, 2)))
      .then(() => {
        hasMerged = true;
      });
    try {
      await someoneWaitsForLock(observer, { schema: world.schema ?? '', key: MERGES_LOCK_KEY });
      expect(hasMerged).toBe(false);
    } finally {
      commitBatch();
      await Promise.all([batch, merge]);
    }

    expect((await world.storage.scoring.ledgerOfProfile(user.id)).map((entry) => entry.points)).toEqual([10]);
    expect(await world.storage.scoring.ledgerOfProfile(visitor.id)).toEqual([]);
  });
});
