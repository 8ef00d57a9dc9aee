import { Readable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Segment, SegmentCondition } from '../core/segment-definition.js';
import { listProfileTimeline } from '../profiles/profiles.js';
import type { Storage, StorageTx } from '../storage/storage.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { someoneWaitsForLock, testDatabaseUrl } from '../test-support/postgres.js';
import { ITALY_FIT_MODEL } from '../test-support/score-models.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { backfillSegment, runPendingBackfills } from './backfill.js';
import { runDueSegmentTimers } from './live-segments.js';
import {
  createSegment,
  deleteSegment,
  getSegment,
  importStaticList,
  previewSegment,
  type StaticListSummary,
  updateSegment,
} from './segments.js';

const DAY = 86_400_000;

/** Two orders in a rolling week, from a pro customer. */
const REPEAT_PRO_BUYERS: SegmentCondition = {
  all: [
    { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
    { type: 'event', event: 'Order Completed', within: '7d', atLeast: 2, where: [] },
  ],
};

/**
 * The storage with one method of `segments` replaced inside its transactions, `around` given the
 * original: what another process (or a pause) does at that point of a write.
 */
function withTxSegmentsMethod<K extends keyof StorageTx['segments']>(
  storage: Storage,
  name: K,
  around: (original: StorageTx['segments'][K]) => StorageTx['segments'][K],
): Storage {
  return new Proxy(storage, {
    get: (target, property, receiver) =>
      property !== 'transaction'
        ? Reflect.get(target, property, receiver)
        : <T>(work: (tx: StorageTx) => Promise<T>) =>
            target.transaction((tx) =>
              work(
                new Proxy(tx, {
                  get: (txTarget, txProperty, txReceiver) =>
                    txProperty !== 'segments'
                      ? Reflect.get(txTarget, txProperty, txReceiver)
                      : new Proxy(txTarget.segments, {
                          get: (segments, method, segmentsReceiver) =>
                            method !== name
                              ? Reflect.get(segments, method, segmentsReceiver)
                              : around(segments[name].bind(segments) as StorageTx['segments'][K]),
                        }),
                }),
              ),
            ),
  });
}

describe.each(BACKENDS)('segments on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  const create = async (name: string, rule: SegmentCondition) => {
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name, kind: 'live', rule },
      now: world.clock.now(),
    });
    await world.settle();
    return segment.id;
  };
  const members = async (segmentId: string) => {
    const page = await world.storage.segments.listMembers(segmentId, { limit: 500 });
    return page.items.map((item) => item.profileId).sort();
  };
  const eventNames = async (userId: string) => {
    const profileId = await world.profileOf(userId);
    const page = await listProfileTimeline(world.storage, world.workspaceId, profileId, { limit: 100 });
    return (page?.items ?? []).map((event) => event.name).filter((name) => name?.startsWith('Segment '));
  };

  it('adds a profile on the event that completes the rule and lets it go when the window passes it by', async () => {
    const segmentId = await create('Repeat pro buyers', REPEAT_PRO_BUYERS);
    await world.send([identify('ada', { plan: 'pro' }), track('ada', 'Order Completed', { total: 10 })]);
    await world.settle();
    expect(await members(segmentId)).toEqual([]);

    world.clock.advance(2 * DAY);
    await world.send([track('ada', 'Order Completed', { total: 20 })]);
    await world.settle();
    const ada = await world.profileOf('ada');
    expect(await members(segmentId)).toEqual([ada]);
    expect(await eventNames('ada')).toEqual(['Segment Entered']);

    // The first order leaves the 7-day window 5 days later: a timer, not a sweep, takes ada out.
    await world.advance(5 * DAY - 1000);
    expect(await members(segmentId)).toEqual([ada]);
    await world.advance(2000);
    expect(await members(segmentId)).toEqual([]);
    expect(await eventNames('ada')).toEqual(['Segment Exited', 'Segment Entered']);
  });

  it("reads Mops's own events when a rule counts them (the consumer passes over them otherwise)", async () => {
    const pro = await create('Pro', { type: 'trait', path: 'plan', op: 'eq', value: 'pro' });
    const wasPro = await create('Was pro once', {
      type: 'event',
      event: 'Segment Entered',
      atLeast: 1,
      where: [{ path: 'segment_id', op: 'eq', value: pro }],
    });
    await world.send([identify('ada', { plan: 'pro' })]);
    await world.settle();
    const ada = await world.profileOf('ada');
    expect(await members(pro)).toEqual([ada]);
    expect(await members(wasPro)).toEqual([ada]);
    await world.send([identify('ada', { plan: 'free' })]);
    await world.settle();
    expect(await members(pro)).toEqual([]);
    expect(await members(wasPro)).toEqual([ada]);
  });

  it('counts the events a changed rule asks for from the log once, then from what it kept', async () => {
    const rule = (atLeast: number, within: string): SegmentCondition => ({
      type: 'event',
      event: 'Order Completed',
      within,
      atLeast,
      where: [{ path: 'total', op: 'gte', value: 10 }],
    });
    const segmentId = await create('Buyers', rule(2, '7d'));
    await world.send([track('cy', 'Order Completed', { total: 50 })]);
    world.clock.advance(3 * DAY);
    await world.send([
      track('cy', 'Order Completed', { total: 5 }),
      track('cy', 'Order Completed', { total: 15 }),
    ]);
    await world.settle();
    const cy = await world.profileOf('cy');
    expect(await members(segmentId)).toEqual([cy]);

    // The consumer has kept cy's two most recent orders of 10 or more in a week; the new rule asks for
    // three in thirty days, which it has not kept: read from the log, the first order counts too.
    await updateSegment(world.storage, {
      workspaceId: world.workspaceId,
      id: segmentId,
      input: { name: 'Buyers', kind: 'live', rule: rule(3, '30d') },
      now: world.clock.now(),
    });
    await world.settle();
    expect(await members(segmentId)).toEqual([]);
    world.clock.advance(DAY);
    await world.send([track('cy', 'Order Completed', { total: 12 })]);
    await world.settle();
    expect(await members(segmentId)).toEqual([cy]);
    // Five more days: orders kept since go on counting (the first one is 9 days old, still in).
    world.clock.advance(5 * DAY);
    await world.send([track('cy', 'Order Completed', { total: 1 })]);
    await world.settle();
    expect(await members(segmentId)).toEqual([cy]);
  });

  it('decides a property filter relative to now from the log each time', async () => {
    const segmentId = await create('Trial ending soon', {
      type: 'event',
      event: 'Trial Started',
      atLeast: 1,
      where: [{ path: 'ends_at', op: 'within_last', value: '2d' }],
    });
    const endsAt = new Date(world.clock.now() - DAY).toISOString();
    await world.send([track('di', 'Trial Started', { ends_at: endsAt })]);
    await world.settle();
    const di = await world.profileOf('di');
    expect(await members(segmentId)).toEqual([di]);
    // Two days on, the same event no longer passes the filter: the next event of that name decides it again.
    world.clock.advance(2 * DAY);
    await world.send([track('di', 'Trial Started', { ends_at: '2001-01-01T00:00:00Z' })]);
    await world.settle();
    expect(await members(segmentId)).toEqual([]);
  });

  it('reacts to trait changes and to membership of another segment', async () => {
    const pros = await create('Pros', { type: 'trait', path: 'plan', op: 'eq', value: 'pro' });
    const prosInItaly = await create('Pros in Italy', {
      all: [
        { type: 'segment', segment: pros, is: 'in' },
        { type: 'trait', path: 'country', op: 'in', value: ['IT', 'SM'] },
      ],
    });
    await world.send([identify('bo', { plan: 'free', country: 'IT' })]);
    await world.settle();
    expect(await members(prosInItaly)).toEqual([]);

    await world.send([identify('bo', { plan: 'pro' })]);
    await world.settle();
    const bo = await world.profileOf('bo');
    expect(await members(pros)).toEqual([bo]);
    expect(await members(prosInItaly)).toEqual([bo]);

    await world.send([identify('bo', { plan: 'free' })]);
    await world.settle();
    expect(await members(prosInItaly)).toEqual([]);
  });

  it('decides account-trait segments for every contact of an account when its traits change', async () => {
    const enterprise = await create('Enterprise accounts', {
      type: 'account_trait',
      path: 'tier',
      op: 'eq',
      value: 'enterprise',
    });
    const joins = (userId: string, traits: Record<string, unknown>) => ({
      type: 'group',
      userId,
      groupId: 'acme',
      traits,
    });
    await world.send([joins('ada', { tier: 'smb' }), joins('bo', {})]);
    await world.settle();
    expect(await members(enterprise)).toEqual([]);

    // Ada's call upgrades the account: Bo, who sent nothing, is in its segment too.
    await world.send([joins('ada', { tier: 'enterprise' })]);
    await world.settle();
    expect(await members(enterprise)).toEqual(
      [await world.profileOf('ada'), await world.profileOf('bo')].sort(),
    );
  });

  it('decides score segments for every contact of an account whose traits a fit rule reads', async () => {
    await world.configure({
      scoring: {
        models: [
          {
            id: 'fit',
            name: 'Fit',
            rules: [
              {
                id: 'retail',
                kind: 'fit',
                when: { type: 'account_trait', path: 'industry', op: 'eq', value: 'retail' },
                points: 10,
              },
            ],
          },
        ],
      },
    });
    const fit = await create('Fit', { type: 'score', model: 'fit', min: 10 });
    const joins = (userId: string, traits: Record<string, unknown>) => ({
      type: 'group',
      userId,
      groupId: 'acme',
      traits,
    });
    await world.send([joins('ada', { industry: 'saas' }), joins('bo', {})]);
    await world.settle();
    expect(await members(fit)).toEqual([]);

    // Ada's call makes the account retail: Bo, who sent nothing, scores the fit points too.
    await world.send([joins('ada', { industry: 'retail' })]);
    await world.settle();
    const both = [await world.profileOf('ada'), await world.profileOf('bo')].sort();
    expect(await members(fit)).toEqual(both);
    await world.send([joins('ada', { industry: 'saas' })]);
    await world.settle();
    expect(await members(fit)).toEqual([]);
  });

  describe('agrees with a preview of the rule at every moment', () => {
    const HOUR = 3_600_000;
    const liveAndPreview = async (segmentId: string, rule: SegmentCondition) => {
      const preview = await previewSegment(world.storage, {
        workspaceId: world.workspaceId,
        rule,
        now: world.clock.now(),
        sampleSize: 100,
      });
      return { live: await members(segmentId), preview: [...preview.sample].sort() };
    };
    const sendAndSettle = async (...calls: Array<Record<string, unknown>>) => {
      await world.send(calls);
      await world.settle();
    };

    it('for a profile created later that did nothing the rule asks about', async () => {
      const neverOrdered: SegmentCondition = {
        type: 'event',
        event: 'Order Completed',
        atLeast: 0,
        atMost: 0,
        where: [],
      };
      const noVip: SegmentCondition = { type: 'trait', path: 'vip', op: 'not_exists' };
      const never = await create('Never ordered', neverOrdered);
      const notVip = await create('Not VIP', noVip);
      await sendAndSettle(identify('ada', { plan: 'pro' }), track('bo', 'Product Viewed'));
      const both = [await world.profileOf('ada'), await world.profileOf('bo')].sort();
      expect(await liveAndPreview(never, neverOrdered)).toEqual({ live: both, preview: both });
      expect(await liveAndPreview(notVip, noVip)).toEqual({ live: both, preview: both });
    });

    it('as a property date relative to now leaves its span, and as a future trait date enters one', async () => {
      const delivered: SegmentCondition = {
        type: 'event',
        event: 'Order Completed',
        atLeast: 1,
        where: [{ path: 'delivery_at', op: 'within_last', value: '3d' }],
      };
      const renewing: SegmentCondition = {
        type: 'trait',
        path: 'renewal_at',
        op: 'within_last',
        value: '30d',
      };
      const recentlyDelivered = await create('Delivered lately', delivered);
      const renewed = await create('Renewed lately', renewing);
      const now = world.clock.now();
      await sendAndSettle(
        track('ada', 'Order Completed', { delivery_at: new Date(now - HOUR).toISOString() }),
        identify('bo', { renewal_at: new Date(now + DAY).toISOString() }),
      );
      const ada = await world.profileOf('ada');
      const bo = await world.profileOf('bo');
      expect(await liveAndPreview(recentlyDelivered, delivered)).toEqual({ live: [ada], preview: [ada] });
      expect(await liveAndPreview(renewed, renewing)).toEqual({ live: [], preview: [] });

      await world.advance(2 * DAY);
      expect(await liveAndPreview(renewed, renewing)).toEqual({ live: [bo], preview: [bo] });
      await world.advance(2 * DAY);
      expect(await liveAndPreview(recentlyDelivered, delivered)).toEqual({ live: [], preview: [] });
    });

    it('when a rule asks again about events it stopped asking about for a while', async () => {
      const orders: SegmentCondition = {
        type: 'event',
        event: 'Order Completed',
        atLeast: 1,
        atMost: 2,
        where: [],
      };
      const plan: SegmentCondition = { type: 'trait', path: 'plan', op: 'eq', value: 'pro' };
      const segmentId = await create('Few orders', orders);
      const change = async (rule: SegmentCondition) => {
        await updateSegment(world.storage, {
          workspaceId: world.workspaceId,
          id: segmentId,
          input: { name: 'Few orders', kind: 'live', rule },
          now: world.clock.now(),
        });
        await world.settle();
      };
      await sendAndSettle(track('ada', 'Order Completed'));
      await change(plan);
      // Nothing asks about orders meanwhile: the consumer's memory of ada's orders is not kept up.
      await sendAndSettle(track('ada', 'Order Completed'));
      await change(orders);
      await sendAndSettle(track('ada', 'Order Completed'));
      expect(await liveAndPreview(segmentId, orders)).toEqual({ live: [], preview: [] });
    });
  });

  it('backfills the segments asking about a changed segment again, after it', async () => {
    await world.send([identify('bo', { plan: 'pro', country: 'IT' })]);
    await world.settle();
    const plans = await create('Plan', { type: 'trait', path: 'plan', op: 'eq', value: 'free' });
    const rule: SegmentCondition = {
      all: [
        { type: 'segment', segment: plans, is: 'in' },
        { type: 'trait', path: 'country', op: 'eq', value: 'IT' },
      ],
    };
    const planInItaly = await create('Plan in Italy', rule);
    expect(await members(planInItaly)).toEqual([]);

    await updateSegment(world.storage, {
      workspaceId: world.workspaceId,
      id: plans,
      input: { name: 'Plan', kind: 'live', rule: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' } },
      now: world.clock.now(),
    });
    await world.settle();
    const bo = await world.profileOf('bo');
    expect(await members(plans)).toEqual([bo]);
    expect(await members(planInItaly)).toEqual([bo]);
    const preview = await previewSegment(world.storage, {
      workspaceId: world.workspaceId,
      rule,
      now: world.clock.now(),
    });
    expect(preview.count).toBe(1);
    expect(await getSegment(world.storage, world.workspaceId, planInItaly)).toMatchObject({
      status: 'ready',
      version: 2,
    });
  });

  it('reports whom a changed rule moves in or out, deciding a segment only after those it asks about', async () => {
    await world.send([identify('ada', { plan: 'pro', country: 'IT' }), identify('bo', { plan: 'free' })]);
    await world.settle();
    const plans = await create('Plan', { type: 'trait', path: 'plan', op: 'eq', value: 'pro' });
    const inPlan = (country: string): SegmentCondition => ({
      all: [
        { type: 'segment', segment: plans, is: 'in' },
        { type: 'trait', path: 'country', op: 'eq', value: country },
      ],
    });
    const planInCountry = await create('Plan in country', inPlan('FR'));
    // First backfills report nobody: the first members were there before the segments.
    expect(await eventNames('ada')).toEqual([]);
    expect(await members(plans)).toEqual([await world.profileOf('ada')]);

    // Both saved before either backfill runs, the dependent first: decided against the plan segment
    // as it was, Ada would enter "Plan in country" and leave it again once the plan backfill finished.
    const change = async (id: string, name: string, rule: SegmentCondition) =>
      updateSegment(world.storage, {
        workspaceId: world.workspaceId,
        id,
        input: { name, kind: 'live', rule },
        now: world.clock.now(),
      });
    await change(planInCountry, 'Plan in country', inPlan('IT'));
    world.clock.advance(1000);
    await change(plans, 'Plan', { type: 'trait', path: 'plan', op: 'eq', value: 'free' });
    await world.settle();

    expect(await members(plans)).toEqual([await world.profileOf('bo')]);
    expect(await members(planInCountry)).toEqual([]);
    expect(await eventNames('ada')).toEqual(['Segment Exited']);
    expect(await eventNames('bo')).toEqual(['Segment Entered']);
  });

  it('reports a change once when a profile’s timer makes it while a changed rule’s backfill decides', async () => {
    const viewed = (within: string): SegmentCondition => ({
      type: 'event',
      event: 'Viewed',
      within,
      atLeast: 1,
      where: [],
    });
    const segmentId = await create('Viewed lately', viewed('7d'));
    await world.send([track('ada', 'Viewed')]);
    await world.settle();
    const ada = await world.profileOf('ada');
    expect(await members(segmentId)).toEqual([ada]);

    // Four days on the rule narrows to three days: Ada is to leave, and her timer falls due meanwhile.
    await world.advance(4 * DAY);
    const changed = await updateSegment(world.storage, {
      workspaceId: world.workspaceId,
      id: segmentId,
      input: { name: 'Viewed lately', kind: 'live', rule: viewed('3d') },
      now: world.clock.now(),
    });
    let hasTimerRun = false;
    // The timers run beside the backfill: one fires between the batch's reads and its write.
    const storage = new Proxy(world.storage, {
      get(target, key, receiver) {
        if (key !== 'transaction') return Reflect.get(target, key, receiver);
        return async (work: Parameters<Storage['transaction']>[0]) => {
          if (!hasTimerRun) {
            hasTimerRun = true;
            world.clock.advance(3 * DAY);
            expect((await runDueSegmentTimers(target, { now: world.clock.now() })).taken).toBe(1);
          }
          return target.transaction(work);
        };
      },
    }) as Storage;
    await backfillSegment(storage, {
      segment: changed,
      clock: world.clock,
      logger: pino({ level: 'silent' }),
    });
    expect(hasTimerRun).toBe(true);
    await world.settle();
    expect(await members(segmentId)).toEqual([]);
    expect(await eventNames('ada')).toEqual(['Segment Exited', 'Segment Entered']);
  });

  it('reports what events change meanwhile in a segment backfilled again because one it asks about changed', async () => {
    const plans = await create('Plan', { type: 'trait', path: 'plan', op: 'eq', value: 'pro' });
    const planInItaly = await create('Plan in Italy', {
      all: [
        { type: 'segment', segment: plans, is: 'in' },
        { type: 'trait', path: 'country', op: 'eq', value: 'IT' },
      ],
    });
    await updateSegment(world.storage, {
      workspaceId: world.workspaceId,
      id: plans,
      input: {
        name: 'Plan',
        kind: 'live',
        rule: { type: 'trait', path: 'plan', op: 'in', value: ['pro', 'team'] },
      },
      now: world.clock.now(),
    });
    // Plan's backfill ends and puts Plan in Italy to be backfilled again; an event comes first.
    const changed = await world.storage.segments.find(world.workspaceId, plans);
    if (!changed) throw new Error('Plan is gone');
    await backfillSegment(world.storage, {
      segment: changed,
      clock: world.clock,
      logger: pino({ level: 'silent' }),
    });
    expect((await getSegment(world.storage, world.workspaceId, planInItaly)).status).toBe('backfilling');
    await world.send([identify('ugo', { plan: 'team', country: 'IT' })]);
    await world.background.pipeline.drain();
    await world.settle();
    expect(await members(planInItaly)).toEqual([await world.profileOf('ugo')]);
    // Ugo entered both: neither entry goes unreported for the other's backfill.
    expect(await eventNames('ugo')).toEqual(['Segment Entered', 'Segment Entered']);
  });

  it('decides trait segments again when a journey step sets the trait, and says so on the timeline', async () => {
    const vips = await create('VIP', { type: 'trait', path: 'vip', op: 'eq', value: true });
    await world.publish({
      name: 'Tag new sign-ups',
      entry: { trigger: { type: 'event', event: 'Signed Up' } },
      start: 'tag',
      steps: [
        { id: 'tag', type: 'update_traits', set: { vip: true }, next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    await world.send([track('gus', 'Signed Up')]);
    await world.settle();
    const gus = await world.profileOf('gus');
    expect(await members(vips)).toEqual([gus]);
    const page = await listProfileTimeline(world.storage, world.workspaceId, gus, { limit: 20 });
    expect(page?.items.find((event) => event.name === 'Traits Updated')?.payload).toMatchObject({
      properties: { traits: { vip: true } },
    });
  });

  it('counts page calls sent without a name, as analytics snippets send them, as Page Viewed', async () => {
    const pricingReaders = await create('Read pricing twice', {
      type: 'event',
      event: 'Page Viewed',
      atLeast: 2,
      where: [{ path: 'path', op: 'contains', value: '/pricing' }],
    });
    const page = (userId: string, path: string, name?: string) => ({
      type: 'page',
      userId,
      ...(name === undefined ? {} : { name }),
      properties: { path, url: `https://shop.example${path}` },
    });
    await world.send([
      page('ada', '/pricing'),
      page('ada', '/pricing/teams'),
      page('bo', '/pricing'),
      page('bo', '/blog'),
      // A named page is counted under its own name, not as Page Viewed.
      page('cy', '/pricing', 'Pricing'),
      page('cy', '/pricing', 'Pricing'),
    ]);
    await world.settle();
    expect(await members(pricingReaders)).toEqual([await world.profileOf('ada')]);
    expect(await eventNames('ada')).toEqual(['Segment Entered']);
  });

  it("decides a profile afresh when a login merges a visitor's history and traits into it", async () => {
    const readers = await create('Readers', { type: 'event', event: 'Page Viewed', atLeast: 3, where: [] });
    const pro = await create('Pro', { type: 'trait', path: 'plan', op: 'eq', value: 'pro' });
    await world.send([track('ada', 'Page Viewed')]);
    await world.settle();
    const visitor = { anonymousId: 'anon-1' };
    await world.send([
      { type: 'track', ...visitor, event: 'Page Viewed', properties: {} },
      { type: 'track', ...visitor, event: 'Page Viewed', properties: {} },
      { type: 'identify', ...visitor, traits: { plan: 'pro' } },
    ]);
    await world.settle();
    expect(await members(readers)).toEqual([]);

    // Ada signs in on the visitor's browser: its two page views and its plan are hers now.
    await world.send([{ type: 'track', userId: 'ada', ...visitor, event: 'Signed In', properties: {} }]);
    await world.settle();
    const ada = await world.profileOf('ada');
    expect(await members(readers)).toEqual([ada]);
    expect(await members(pro)).toEqual([ada]);
  });

  it('keeps a merged-away visitor’s memberships on the survivor: the person does not enter again', async () => {
    const readers = await create('Readers', { type: 'event', event: 'Page Viewed', atLeast: 1, where: [] });
    await world.publish({
      name: 'Welcome readers',
      entry: { trigger: { type: 'segment', segment: readers }, reentry: { policy: 'every_time' } },
      start: 'tag',
      steps: [
        { id: 'tag', type: 'update_traits', set: { welcomed: true }, next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    const visitor = { anonymousId: 'anon-7' };
    await world.send([{ type: 'track', ...visitor, event: 'Page Viewed', properties: {} }]);
    await world.settle();
    const [identity] = await world.storage.profiles.findIdentities(world.workspaceId, [
      { kind: 'anonymous', value: 'anon-7' },
    ]);
    const anonymous = identity?.profileId;
    expect(await members(readers)).toEqual([anonymous]);

    // Ada signs in on the visitor's browser: the visitor was in Readers, so Ada is, without entering.
    await world.send([
      identify('ada', { plan: 'pro' }),
      { type: 'track', userId: 'ada', ...visitor, event: 'Signed In', properties: {} },
    ]);
    await world.settle();
    const ada = await world.profileOf('ada');
    expect(ada).not.toBe(anonymous);
    expect(await members(readers)).toEqual([ada]);
    expect(await eventNames('ada')).toEqual(['Segment Entered']);
    const instances = await world.storage.journeys.listInstancesOfProfile(world.workspaceId, ada);
    expect(instances).toHaveLength(1);
  });

  it('lets a journey branch after a wait only once the segment timers due before it have run', async () => {
    const active = await create('Active today', {
      type: 'event',
      event: 'Page Viewed',
      within: '1d',
      atLeast: 1,
      where: [],
    });
    await world.publish({
      name: 'Re-engage',
      entry: { trigger: { type: 'event', event: 'Signed Up' } },
      start: 'later',
      steps: [
        { id: 'later', type: 'wait', duration: '2d', next: 'route' },
        {
          id: 'route',
          type: 'branch',
          branches: [{ conditions: [{ source: 'segment', segment: active, op: 'in' }], next: 'yes' }],
          otherwise: 'no',
        },
        { id: 'yes', type: 'update_traits', set: { active_at_check: 'yes' }, next: 'done' },
        { id: 'no', type: 'update_traits', set: { active_at_check: 'no' }, next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    await world.send([track('ann', 'Page Viewed'), track('ann', 'Signed Up')]);
    await world.settle();
    const ann = await world.profileOf('ann');
    expect(await members(active)).toEqual([ann]);

    // Down for two days: on restart Ann's segment timer (a day on, she left Active today) and her
    // journey timer are both overdue, and the journey timers happen to run first.
    world.clock.advance(2 * DAY + 60_000);
    expect(await world.background.engine.runDueTimers()).toBe(0);
    await world.settle();
    expect(await members(active)).toEqual([]);
    const profile = await world.storage.profiles.find(world.workspaceId, ann);
    expect(profile?.traits.active_at_check).toBe('no');
  });

  /**
   * The members a trait rule has on each path that decides it: the preview, the backfill of profiles
   * there before the segment, and the live consumer for the profiles identified after it. The profiles
   * (`before<i>`, `after<i>`) have the trait `value` of index i; the answer lists the indexes matched.
   */
  const decidedEveryWay = async (rule: SegmentCondition, values: readonly unknown[]) => {
    const before = values.map((value, index) => identify(`before${index}`, { value }));
    await world.send(before);
    await world.settle();
    const preview = await previewSegment(world.storage, {
      workspaceId: world.workspaceId,
      rule,
      now: world.clock.now(),
      sampleSize: 100,
    });
    const segmentId = await create('Decided every way', rule);
    await world.send(values.map((value, index) => identify(`after${index}`, { value })));
    await world.settle();
    const indexesOf = async (prefix: string, ids: readonly string[]) => {
      const found: number[] = [];
      for (const [index] of values.entries())
        if (ids.includes(await world.profileOf(`${prefix}${index}`))) found.push(index);
      return found;
    };
    const current = await members(segmentId);
    return {
      preview: await indexesOf('before', preview.sample),
      backfill: await indexesOf('before', current),
      live: await indexesOf('after', current),
    };
  };

  it('matches text holding the digits of a number asked with contains, on every path that decides a rule', async () => {
    const rule: SegmentCondition = { type: 'trait', path: 'value', op: 'contains', value: 42 };
    const decided = await decidedEveryWay(rule, ['order-42-x', 'order-43-x', 42, 'ORDER-1420']);
    expect(decided).toEqual({ preview: [0, 2, 3], backfill: [0, 2, 3], live: [0, 2, 3] });
  });

  it('reads a number or a yes/no trait as its text for contains, on every path that decides a rule', async () => {
    const rule: SegmentCondition = {
      any: [
        { type: 'trait', path: 'value', op: 'contains', value: '234' },
        { type: 'trait', path: 'value', op: 'contains', value: 'tru' },
      ],
    };
    const decided = await decidedEveryWay(rule, [12345, 1234.5, 9999, true, false, 'TRUST']);
    expect(decided).toEqual({ preview: [0, 1, 3, 5], backfill: [0, 1, 3, 5], live: [0, 1, 3, 5] });
  });

  it('takes text reading true or false in any case for the boolean a rule asks about, on every path that decides it', async () => {
    const rule: SegmentCondition = {
      any: [
        { type: 'trait', path: 'value', op: 'eq', value: true },
        { type: 'trait', path: 'value', op: 'in', value: [false] },
      ],
    };
    const decided = await decidedEveryWay(rule, ['TRUE', 'False', 'yes', true, 'true', 'maybe']);
    expect(decided).toEqual({ preview: [0, 1, 3, 4], backfill: [0, 1, 3, 4], live: [0, 1, 3, 4] });
  });

  it('takes a list trait as holding a value when one of its elements does, on every path that decides a rule', async () => {
    const rule: SegmentCondition = {
      any: [
        { type: 'trait', path: 'value', op: 'eq', value: 'vip' },
        { type: 'trait', path: 'value', op: 'contains', value: 'gold' },
        {
          all: [
            { type: 'trait', path: 'value', op: 'in', value: ['pro', 'team'] },
            { type: 'trait', path: 'value', op: 'neq', value: 'beta' },
          ],
        },
      ],
    };
    const decided = await decidedEveryWay(rule, [
      ['vip', 'beta'],
      ['beta', 'gold'],
      ['team', 'beta'],
      ['team'],
      ['silver'],
      [],
      'VIP',
    ]);
    expect(decided).toEqual({ preview: [0, 1, 3, 6], backfill: [0, 1, 3, 6], live: [0, 1, 3, 6] });
  });

  it('compares dates as the instants they name, a day alone as any moment of it, on every path that decides a rule', async () => {
    const rule: SegmentCondition = {
      any: [
        { type: 'trait', path: 'value', op: 'eq', value: '2026-01-05T10:00:00.000Z' },
        { type: 'trait', path: 'value', op: 'in', value: ['2026-02-01'] },
        { type: 'trait', path: 'value', op: 'lte', value: '2025-12-31' },
      ],
    };
    const decided = await decidedEveryWay(rule, [
      '2026-01-05T10:00:00Z',
      '2026-01-05T11:00:00+01:00',
      '2026-01-05T10:00:01Z',
      '2026-02-01T23:30:00Z',
      '2026-02-02T00:30:00+01:00',
      '2026-02-02T00:00:00Z',
      '2026-02-01',
      '2025-12-31T18:00:00Z',
    ]);
    const matched = [0, 1, 3, 4, 6, 7];
    expect(decided).toEqual({ preview: matched, backfill: matched, live: matched });
  });

  it('takes text with a leading zero for a code that neither equals nor orders against a number, on every path that decides a rule', async () => {
    const rule: SegmentCondition = {
      any: [
        { type: 'trait', path: 'value', op: 'eq', value: 1234 },
        { type: 'trait', path: 'value', op: 'in', value: [5678, 0] },
        { type: 'trait', path: 'value', op: 'gt', value: 9000 },
      ],
    };
    const decided = await decidedEveryWay(rule, [
      '01234',
      '1234',
      1234,
      '05678',
      '5678',
      '09999',
      '0',
      '00',
      '9999.5',
    ]);
    const matched = [1, 2, 4, 6, 8];
    expect(decided).toEqual({ preview: matched, backfill: matched, live: matched });
  });

  it('backfills existing profiles with progress, and previews count and sample before saving', async () => {
    const start = world.clock.now();
    const calls = [];
    for (let i = 0; i < 30; i++) {
      calls.push(identify(`u${i}`, { plan: i % 3 === 0 ? 'pro' : 'free' }));
      // Every pro buys twice within the week; u0 and u3 only long ago.
      const when = i < 6 ? start - 30 * DAY : start - DAY;
      calls.push(
        track(`u${i}`, 'Order Completed', {}, when),
        track(`u${i}`, 'Order Completed', {}, when + 1000),
      );
    }
    await world.send(calls);
    await world.settle();

    const preview = await previewSegment(world.storage, {
      workspaceId: world.workspaceId,
      rule: REPEAT_PRO_BUYERS,
      now: world.clock.now(),
      sampleSize: 3,
    });
    // Pros are u0, u3, …, u27 (10); u0 and u3 ordered a month ago.
    expect(preview).toMatchObject({ count: 8, total: 30 });
    expect(preview.sample).toHaveLength(3);

    world.clock.advance(1000);
    const segmentId = await create('Repeat pro buyers', REPEAT_PRO_BUYERS);
    const segment = await getSegment(world.storage, world.workspaceId, segmentId);
    // Only the 24 profiles with orders in the week can match: the backfill looks at those alone.
    expect(segment).toMatchObject({ status: 'ready', members: 8, backfill: { total: 24, done: 24 } });
    expect(segment.backfill.finishedAt).not.toBeNull();
    expect(await members(segmentId)).toEqual(expect.arrayContaining(preview.sample));
    // A backfill writes no Segment Entered: the segment was defined around them.
    expect(await eventNames('u6')).toEqual([]);

    // A changed rule is a new version, backfilled again.
    const updated = await updateSegment(world.storage, {
      workspaceId: world.workspaceId,
      id: segmentId,
      input: { name: 'Any pro', kind: 'live', rule: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' } },
      now: world.clock.now(),
    });
    expect(updated).toMatchObject({ version: 2, status: 'backfilling' });
    await world.settle();
    expect(await getSegment(world.storage, world.workspaceId, segmentId)).toMatchObject({
      status: 'ready',
      members: 10,
    });
  });

  it.runIf(backend === 'postgres')(
    'takes turns with a settings save: the score model a new segment asks about cannot go meanwhile',
    async () => {
      await world.configure({ scoring: { models: [ITALY_FIT_MODEL] } });
      let letCreate: () => void = () => undefined;
      const mayCreate = new Promise<void>((resolve) => {
        letCreate = resolve;
      });
      let checked: () => void = () => undefined;
      const hasChecked = new Promise<void>((resolve) => {
        checked = resolve;
      });
      // The segment's checks have passed; its write has not happened yet.
      const pausedBeforeWrite = withTxSegmentsMethod(world.storage, 'create', (create) => async (segment) => {
        checked();
        await mayCreate;
        return create(segment);
      });
      const observer = new pg.Client({ connectionString: testDatabaseUrl() });
      await observer.connect();
      try {
        const creating = createSegment(pausedBeforeWrite, {
          workspaceId: world.workspaceId,
          input: { name: 'Fit', kind: 'live', rule: { type: 'score', model: ITALY_FIT_MODEL.id, min: 1 } },
          now: world.clock.now(),
        });
        await hasChecked;
        const saving = world.configure({ scoring: { models: [] } });
        const first = await Promise.race([
          saving.then(
            () => 'saved',
            () => 'refused',
          ),
          someoneWaitsForLock(observer, {
            schema: world.schema ?? '',
            key: `segment-definitions/${world.workspaceId}`,
          }).then(() => 'waiting'),
        ]);
        expect(first).toBe('waiting');
        letCreate();
        await creating;
        await expect(saving).rejects.toThrow(/asks about the score model fit/);
        expect((await world.storage.settings.get(world.workspaceId)).scoring.models).toHaveLength(1);
      } finally {
        letCreate();
        await observer.end();
      }
    },
  );

  it('fires a rolling window’s timer only once the events received before it fell due are read', async () => {
    const segmentId = await create('Active this minute', {
      type: 'event',
      event: 'Pinged',
      within: '1m',
      atLeast: 1,
      where: [],
    });
    await world.send([track('ada', 'Pinged')]);
    await world.settle();
    const ada = await world.profileOf('ada');
    expect(await members(segmentId)).toEqual([ada]);
    // A second ping received in time, still waiting behind a backlog (or a restart) when the first
    // one's window closes.
    world.clock.advance(50_000);
    await world.send([track('ada', 'Pinged')]);
    world.clock.advance(20_000);
    expect((await runDueSegmentTimers(world.storage, { now: world.clock.now() })).taken).toBe(0);
    expect(await members(segmentId)).toEqual([ada]);
    await world.settle();
    expect(await members(segmentId)).toEqual([ada]);
    expect(await eventNames('ada')).toEqual(['Segment Entered']);
    // The second ping's window closes in its turn.
    await world.advance(45_000);
    expect(await members(segmentId)).toEqual([]);
  });

  it('previews and backfills a score condition from the fit its traits earn, beside a required event', async () => {
    await world.configure({
      scoring: {
        models: [ITALY_FIT_MODEL],
      },
    });
    await world.send([
      identify('ada', { country: 'IT' }),
      track('ada', 'Demo Requested'),
      identify('bea', { country: 'FR' }),
      track('bea', 'Demo Requested'),
    ]);
    await world.settle();
    const fitDemo: SegmentCondition = {
      all: [
        { type: 'event', event: 'Demo Requested', where: [], atLeast: 1 },
        { type: 'score', model: 'fit', min: 10 },
      ],
    };
    const ada = await world.profileOf('ada');
    const preview = await previewSegment(world.storage, {
      workspaceId: world.workspaceId,
      rule: fitDemo,
      now: world.clock.now(),
      sampleSize: 5,
    });
    expect(preview).toMatchObject({ count: 1, sample: [ada] });
    const segmentId = await create('Fit demo requests', fitDemo);
    expect(await members(segmentId)).toEqual([ada]);
    // She qualified before the segment existed: no Segment Entered, now or at her next event.
    await world.send([track('ada', 'Page Viewed')]);
    await world.settle();
    expect(await eventNames('ada')).toEqual([]);
  });

  it('backfills again the segments asking about a topic whose default the settings change', async () => {
    await world.send([identify('ada', { plan: 'pro' }), identify('bea', { plan: 'free' })]);
    await world.settle();
    const ada = await world.profileOf('ada');
    const bea = await world.profileOf('bea');
    const subscribed = await create('Marketing audience', {
      type: 'subscription',
      topic: 'marketing',
      subscribed: true,
    });
    const proOptedOut = await create('Pros not on transactional', {
      all: [
        { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
        { type: 'subscription', topic: 'transactional', channel: 'email', subscribed: false },
      ],
    });
    expect(await members(subscribed)).toEqual([ada, bea].sort());
    expect(await members(proOptedOut)).toEqual([]);

    const withDefault = async (id: string, defaultSubscribed: boolean) =>
      (await world.storage.settings.get(world.workspaceId)).topics.map((topic) =>
        topic.id === id ? { ...topic, defaultSubscribed } : topic,
      );
    await world.configure({ topics: await withDefault('marketing', false) });
    await world.settle();
    expect(await members(subscribed)).toEqual([]);
    expect(await eventNames('ada')).toEqual(['Segment Exited']);

    await world.configure({ topics: await withDefault('transactional', false) });
    await world.settle();
    expect(await members(subscribed)).toEqual([]);
    expect(await members(proOptedOut)).toEqual([ada]);
    expect((await getSegment(world.storage, world.workspaceId, subscribed)).version).toBe(2);
  });

  it('backfills again the segments asking about a score model whose rules the settings change', async () => {
    await world.configure({ scoring: { models: [ITALY_FIT_MODEL] } });
    await world.send([identify('ada', { country: 'IT' }), identify('bea', { country: 'FR' })]);
    await world.settle();
    const ada = await world.profileOf('ada');
    const bea = await world.profileOf('bea');
    const fit = await create('Fit', { type: 'score', model: 'fit', min: 10 });
    const planned = await create('On a plan', { type: 'trait', path: 'plan', op: 'exists' });
    expect(await members(fit)).toEqual([ada]);

    const [italy] = ITALY_FIT_MODEL.rules;
    const franceFit = {
      ...ITALY_FIT_MODEL,
      name: 'Fit (France)',
      rules: [{ ...italy, id: 'france', when: { ...italy?.when, value: 'FR' } }],
    };
    await world.configure({ scoring: { models: [franceFit] } });
    await world.settle();
    expect(await members(fit)).toEqual([bea]);
    expect(await eventNames('ada')).toEqual(['Segment Exited']);
    expect(await eventNames('bea')).toEqual(['Segment Entered']);
    // A segment asking about no model is left as it is.
    expect((await getSegment(world.storage, world.workspaceId, planned)).version).toBe(1);
  });

  it('writes no Segment Entered for a new segment’s first members, though backfilled again after one it asks about', async () => {
    await world.send([track('ada', 'Signed Up')]);
    await world.settle();
    world.clock.advance(60_000);
    // Saved one after the other, before any backfill ran.
    const saved = async (name: string, rule: SegmentCondition) =>
      (
        await createSegment(world.storage, {
          workspaceId: world.workspaceId,
          input: { name, kind: 'live', rule },
          now: world.clock.now(),
        })
      ).id;
    const signedUp = await saved('Signed up', { type: 'event', event: 'Signed Up', where: [], atLeast: 1 });
    world.clock.advance(1000);
    const inSignedUp = await saved('In signed up', { type: 'segment', segment: signedUp, is: 'in' });
    world.clock.advance(1000);
    const first = await world.storage.segments.find(world.workspaceId, signedUp);
    const logger = pino({ level: 'silent' });
    expect(
      await backfillSegment(world.storage, { segment: first as Segment, clock: world.clock, logger }),
    ).toBe('finished');
    // Backfilled again, as a new version, before its first backfill was done.
    expect(await world.storage.segments.find(world.workspaceId, inSignedUp)).toMatchObject({
      version: 2,
      status: 'backfilling',
      readySince: null,
    });

    // Her next event reaches the live consumer while that backfill still runs: it decides her.
    world.clock.advance(1000);
    await world.send([track('ada', 'Page Viewed')]);
    await world.background.pipeline.drain();
    expect(await members(inSignedUp)).toEqual([await world.profileOf('ada')]);
    expect(await eventNames('ada')).toEqual([]);
    await world.settle();
    expect(await eventNames('ada')).toEqual([]);
  });

  it('takes a lone condition saved inside `all` (as the console saves it) for the same rule, not a new version', async () => {
    const pros = await create('Pros', { type: 'trait', path: 'plan', op: 'eq', value: 'pro' });
    const renamed = await updateSegment(world.storage, {
      workspaceId: world.workspaceId,
      id: pros,
      input: {
        name: 'Pro plans',
        kind: 'live',
        rule: { all: [{ type: 'trait', path: 'plan', op: 'eq', value: 'pro' }] },
      },
      now: world.clock.now(),
    });
    expect(renamed).toMatchObject({ name: 'Pro plans', version: 1, status: 'ready' });
  });

  it('refuses one of two edits made at once that would make segments ask about each other in a circle', async () => {
    const first = await create('First', { type: 'trait', path: 'plan', op: 'exists' });
    const second = await create('Second', { type: 'trait', path: 'plan', op: 'exists' });
    const asking = (id: string, other: string) =>
      updateSegment(world.storage, {
        workspaceId: world.workspaceId,
        id,
        input: { name: id, kind: 'live', rule: { type: 'segment', segment: other, is: 'in' } },
        now: world.clock.now(),
      });
    const outcomes = await Promise.allSettled([asking(first, second), asking(second, first)]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(outcomes.find((outcome) => outcome.status === 'rejected')).toMatchObject({
      reason: { code: 'invalid_input', field: 'rule' },
    });
    // Live segments are still decided in an order.
    await world.send([identify('ada', { plan: 'pro' })]);
    await world.settle();
    expect(await members(first)).toHaveLength(1);
  });

  it('names the segments of a circle by their names, with their ids', async () => {
    const buyers = await create('Buyers', { type: 'trait', path: 'plan', op: 'exists' });
    const vips = await create('VIP buyers', { type: 'segment', segment: buyers, is: 'in' });
    const closing = updateSegment(world.storage, {
      workspaceId: world.workspaceId,
      id: buyers,
      input: { name: 'Buyers', kind: 'live', rule: { type: 'segment', segment: vips, is: 'in' } },
      now: world.clock.now(),
    });
    await expect(closing).rejects.toMatchObject({
      field: 'rule',
      message: `rule: segments would ask about each other: Buyers (${buyers}) → VIP buyers (${vips}) → Buyers (${buyers})`,
    });
  });

  /** A live segment of those who ordered twice in a week, saved at `now`, its backfill not run yet. */
  const saveRepeatBuyers = (now: number) =>
    createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: {
        name: 'Repeat buyers',
        kind: 'live',
        rule: { type: 'event', event: 'Order Completed', within: '7d', atLeast: 2, where: [] },
      },
      now,
    });

  it('decides a profile active while its new segment is backfilled, which the backfill leaves to the consumer', async () => {
    await world.send([track('ada', 'Order Completed'), track('ada', 'Order Completed')]);
    await world.settle();
    world.clock.advance(1000);
    const segment = await saveRepeatBuyers(world.clock.now());
    // Ada views a page before the backfill gets to her: an event the rule does not count.
    world.clock.advance(1000);
    await world.send([track('ada', 'Page Viewed')]);
    await world.background.pipeline.drain();
    await world.settle();
    expect((await getSegment(world.storage, world.workspaceId, segment.id))?.status).toBe('ready');
    expect(await members(segment.id)).toEqual([await world.profileOf('ada')]);
    // She was a member as the segment was defined, as for the backfill: no Segment Entered.
    expect(await eventNames('ada')).toEqual([]);
  });

  it('decides a profile whose events were handled between a new segment’s save and its commit', async () => {
    // Ada's orders are handled, the live consumer passing over a segment not committed yet, after
    // the moment the segment was saved at (a clock reading taken before its transaction committed).
    await world.send([track('ada', 'Order Completed'), track('ada', 'Order Completed')]);
    await world.settle();
    const segment = await saveRepeatBuyers(world.clock.now() - 500);
    await world.settle();
    expect((await getSegment(world.storage, world.workspaceId, segment.id))?.status).toBe('ready');
    expect(await members(segment.id)).toEqual([await world.profileOf('ada')]);
  });

  it('leaves a profile the live consumer decided during a backfill batch as the consumer decided it', async () => {
    await world.send([identify('ada', { plan: 'pro' })]);
    await world.settle();
    world.clock.advance(60_000);
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: {
        name: 'Pro, never ordered',
        kind: 'live',
        rule: {
          all: [
            { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
            { type: 'event', event: 'Order Completed', atLeast: 0, atMost: 0, where: [] },
          ],
        },
      },
      now: world.clock.now(),
    });
    world.clock.advance(1000);
    // Ada orders (stamped an hour ago: a late event) after the backfill read her, before it writes;
    // the live consumer decides her first.
    const storage = world.storage;
    const transaction = storage.transaction.bind(storage);
    let raced = false;
    let transactions = 0;
    storage.transaction = async (work) => {
      // The first starts the backfill's clock; the second writes its batch.
      if (++transactions === 2) {
        raced = true;
        world.clock.advance(1000);
        await world.send([track('ada', 'Order Completed', {}, world.clock.now() - 3_600_000)]);
        await world.background.pipeline.drain();
      }
      return transaction(work);
    };
    const outcome = await backfillSegment(storage, {
      segment,
      clock: world.clock,
      logger: pino({ level: 'silent' }),
    });
    storage.transaction = transaction;
    expect(raced).toBe(true);
    expect(outcome).toBe('finished');
    expect(await members(segment.id)).toEqual([]);
  });

  it('writes nothing from a backfill batch decided under a rule changed before it committed', async () => {
    await world.send([identify('ada', { plan: 'pro' }), identify('bob', { plan: 'free' })]);
    await world.settle();
    world.clock.advance(60_000);
    const first = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Plan', kind: 'live', rule: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' } },
      now: world.clock.now(),
    });
    world.clock.advance(1000);
    // The rule changes while the first version's first batch is being decided.
    const storage = world.storage;
    const transaction = storage.transaction.bind(storage);
    let raced = false;
    let transactions = 0;
    storage.transaction = async (work) => {
      // The first starts the backfill's clock; the second writes its batch.
      if (++transactions === 2) {
        raced = true;
        await updateSegment(storage, {
          workspaceId: world.workspaceId,
          id: first.id,
          input: {
            name: 'Plan',
            kind: 'live',
            rule: { type: 'trait', path: 'plan', op: 'eq', value: 'free' },
          },
          now: world.clock.now(),
        });
      }
      return transaction(work);
    };
    const outcome = await backfillSegment(storage, {
      segment: first,
      clock: world.clock,
      logger: pino({ level: 'silent' }),
    });
    storage.transaction = transaction;
    expect(raced).toBe(true);
    expect(outcome).toBe('superseded');
    expect(await members(first.id)).toEqual([]);

    await runPendingBackfills(storage, { clock: world.clock, logger: pino({ level: 'silent' }) });
    expect(await members(first.id)).toEqual([await world.profileOf('bob')]);
    world.clock.advance(1000);
    await world.send([identify('ada', { seen: 2 })]);
    await world.settle();
    expect(await eventNames('ada')).toEqual([]);
  });

  it.runIf(backend === 'postgres')(
    'leaves a backfill another process is running to it, and takes it up when that process dies',
    async () => {
      await world.send([identify('ada', { plan: 'pro' }), identify('bob', { plan: 'free' })]);
      await world.settle();
      const segment = await createSegment(world.storage, {
        workspaceId: world.workspaceId,
        input: { name: 'Pros', kind: 'live', rule: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' } },
        now: world.clock.now(),
      });
      const logger = pino({ level: 'silent' });
      const otherProcess = new pg.Client({ connectionString: testDatabaseUrl() });
      await otherProcess.connect();
      try {
        await otherProcess.query(`select pg_advisory_lock(hashtextextended($1 || '/' || $2, 0))`, [
          world.schema,
          `segment-backfill/${segment.id}`,
        ]);
        expect(await runPendingBackfills(world.storage, { clock: world.clock, logger })).toBe(0);
        expect(await getSegment(world.storage, world.workspaceId, segment.id)).toMatchObject({
          status: 'backfilling',
          backfill: { done: 0 },
        });
      } finally {
        await otherProcess.end();
      }
      expect(await runPendingBackfills(world.storage, { clock: world.clock, logger })).toBe(1);
      expect(await getSegment(world.storage, world.workspaceId, segment.id)).toMatchObject({
        status: 'ready',
        members: 1,
      });
    },
  );

  it('does not finish again a backfill another process finished, nor backfill its dependents twice', async () => {
    await world.send([identify('ada', { plan: 'pro' })]);
    await world.settle();
    const segmentInput = (name: string, rule: SegmentCondition) => ({
      workspaceId: world.workspaceId,
      input: { name, kind: 'live' as const, rule },
      now: world.clock.now(),
    });
    const storage = world.storage;
    const pros = await createSegment(
      storage,
      segmentInput('Pros', { type: 'trait', path: 'plan', op: 'eq', value: 'pro' }),
    );
    const asking = await createSegment(
      storage,
      segmentInput('In pros', { type: 'segment', segment: pros.id, is: 'in' }),
    );
    const logger = pino({ level: 'silent' });
    // Another process takes up the same backfill after this one's last batch, and finishes it first.
    const transaction = storage.transaction.bind(storage);
    let transactions = 0;
    const racing = new Proxy(storage, {
      get(target, property, receiver) {
        if (property !== 'transaction') return Reflect.get(target, property, receiver);
        return async (work: Parameters<Storage['transaction']>[0]) => {
          if (++transactions === 2)
            expect(await backfillSegment(storage, { segment: pros, clock: world.clock, logger })).toBe(
              'finished',
            );
          return transaction(work);
        };
      },
    });

    expect(await backfillSegment(racing, { segment: pros, clock: world.clock, logger })).toBe('superseded');
    expect(transactions).toBe(2);
    expect(await getSegment(storage, world.workspaceId, pros.id)).toMatchObject({
      status: 'ready',
      members: 1,
    });
    // Backfilled again once, as the other process's finish asked.
    expect(await getSegment(storage, world.workspaceId, asking.id)).toMatchObject({
      version: asking.version + 1,
    });
  });

  it('keeps a backfill’s progress through a rename made while a batch committed', async () => {
    await world.send(Array.from({ length: 5 }, (_, i) => identify(`p${i}`, { plan: 'pro' })));
    await world.settle();
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Pros', kind: 'live', rule: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' } },
      now: world.clock.now(),
    });
    const progress = { after: 'prf_halfway', done: 3, total: 5 };
    // Another process's backfill commits a batch after the rename read the segment, before it writes
    // (on PostgreSQL, through a connection of its own; SQLite's write transactions are serial, so
    // there it commits before the rename begins).
    const storage = world.storage;
    const commitBatch = async () => {
      if (!world.schema) {
        await storage.transaction((tx) =>
          tx.segments.saveBackfillProgress({
            id: segment.id,
            version: segment.version,
            ...progress,
            finishedAt: null,
          }),
        );
        return;
      }
      const other = new pg.Client({ connectionString: testDatabaseUrl() });
      await other.connect();
      try {
        await other.query(
          `update ${world.schema}.segments set backfill_after = $1, backfill_done = $2, backfill_total = $3
           where id = $4 and version = $5`,
          [progress.after, progress.done, progress.total, segment.id, segment.version],
        );
      } finally {
        await other.end();
      }
    };
    if (!world.schema) await commitBatch();
    let hasCommitted = false;
    const renaming = !world.schema
      ? storage
      : withTxSegmentsMethod(storage, 'find', (find) => async (workspaceId, id) => {
          const found = await find(workspaceId, id);
          if (!hasCommitted) await commitBatch();
          hasCommitted = true;
          return found;
        });
    await updateSegment(renaming, {
      workspaceId: world.workspaceId,
      id: segment.id,
      input: { name: 'Pro plans', kind: 'live', rule: segment.rule as SegmentCondition },
      now: world.clock.now(),
    });
    expect(await getSegment(storage, world.workspaceId, segment.id)).toMatchObject({
      name: 'Pro plans',
      version: segment.version,
      status: 'backfilling',
      backfill: { done: 3, total: 5 },
    });
    expect(await storage.segments.backfillPosition(segment.id, segment.version)).toEqual({
      after: 'prf_halfway',
    });
  });

  /** The world's storage, its `nth` transaction failing as a process killed in the middle of it. */
  const dyingAtTransaction = (nth: number) => {
    let transactions = 0;
    return new Proxy(world.storage, {
      get(target, property, receiver) {
        if (property !== 'transaction') return Reflect.get(target, property, receiver);
        return (fn: Parameters<Storage['transaction']>[0]) => {
          if (++transactions === nth) return Promise.reject(new Error('killed'));
          return target.transaction(fn);
        };
      },
    });
  };

  it('resumes an interrupted backfill after the last batch it committed', async () => {
    await world.send(
      Array.from({ length: 25 }, (_, i) => identify(`p${i}`, { plan: i % 2 === 0 ? 'pro' : 'free' })),
    );
    await world.settle();
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Pros', kind: 'live', rule: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' } },
      now: world.clock.now(),
    });
    // The process dies in the middle of the third batch's transaction (the first starts its clock).
    const options = { segment, clock: world.clock, logger: pino({ level: 'silent' }), batchSize: 10 };
    await expect(backfillSegment(dyingAtTransaction(4), options)).rejects.toThrow('killed');
    const halfway = await getSegment(world.storage, world.workspaceId, segment.id);
    expect(halfway).toMatchObject({ status: 'backfilling', backfill: { done: 20, total: 25 } });

    const current = (await world.storage.segments.find(world.workspaceId, segment.id)) as typeof segment;
    world.clock.advance(1000);
    expect(await backfillSegment(world.storage, { ...options, segment: current })).toBe('finished');
    expect(await getSegment(world.storage, world.workspaceId, segment.id)).toMatchObject({
      status: 'ready',
      members: 13,
      // Profiles changed since the first run began were left to the live consumer: it keeps that start.
      backfill: { done: 25, total: 25, startedAt: halfway?.backfill.startedAt },
    });
  });

  it('ends a backfill with as many done as its total when profiles it had still to reach merged meanwhile', async () => {
    const userIds = Array.from({ length: 25 }, (_, i) => `q${i}`);
    await world.send(userIds.map((userId) => identify(userId, { plan: 'pro' })));
    await world.settle();
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Pros', kind: 'live', rule: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' } },
      now: world.clock.now(),
    });
    // Two of the five it will reach last (it goes in profile id order) become one person while it
    // runs, as its second batch commits.
    const byProfileId = await Promise.all(
      userIds.map(async (userId) => ({ userId, profileId: await world.profileOf(userId) })),
    );
    byProfileId.sort((a, b) => (a.profileId < b.profileId ? -1 : 1));
    const [kept, merged] = byProfileId.slice(-2).map((entry) => entry.userId) as [string, string];
    let transactions = 0;
    const merging = new Proxy(world.storage, {
      get(target, property, receiver) {
        if (property !== 'transaction') return Reflect.get(target, property, receiver);
        return async (fn: Parameters<Storage['transaction']>[0]) => {
          if (++transactions === 3) {
            world.clock.advance(1000);
            await world.send([{ type: 'alias', userId: kept, previousId: merged }]);
            await world.background.pipeline.drain();
          }
          return target.transaction(fn);
        };
      },
    });

    const options = { segment, clock: world.clock, logger: pino({ level: 'silent' }), batchSize: 10 };
    expect(await backfillSegment(merging, options)).toBe('finished');

    expect(await world.profileOf(merged)).toBe(await world.profileOf(kept));
    expect(await getSegment(world.storage, world.workspaceId, segment.id)).toMatchObject({
      status: 'ready',
      members: 24,
      backfill: { done: 24, total: 24 },
    });
  });

  it('takes a static list from CSV, matching user ids and e-mails, counting each contact once and reporting the rest', async () => {
    await world.send([
      identify('cy', { email: 'Cy@Example.com' }),
      identify('di', { email: 'di@example.com' }),
      // Cy again, as a profile identity resolution never joined to the first: both are Cy.
      identify('cy-at-work', { email: 'cy@example.com' }),
    ]);
    await world.settle();
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Webinar attendees', kind: 'static' },
      now: world.clock.now(),
    });
    // Cy's address again in capitals, and di again: rows repeating contacts matched already; a
    // user id no one has, pasted whole from somewhere, is quoted back cut short.
    const pasted = `ghost-${'x'.repeat(100_000)}`;
    const csv = `email,user_id\ncy@example.com,\n,di\nnobody@example.com,\n,${pasted}\nCY@example.com,\n,di\n`;
    const summary = await importStaticList(world.storage, {
      workspaceId: world.workspaceId,
      segmentId: segment.id,
      source: Readable.from([csv]),
      now: () => world.clock.now(),
    });
    expect(summary).toMatchObject({ rows: 6, matched: 3, unmatched: 2, duplicates: 2, added: 3 });
    expect(summary.unmatchedRows).toEqual([
      { line: 4, key: 'nobody@example.com' },
      { line: 5, key: `${pasted.slice(0, 200)}…` },
    ]);
    expect(await members(segment.id)).toEqual(
      [await world.profileOf('cy'), await world.profileOf('cy-at-work'), await world.profileOf('di')].sort(),
    );
    await world.settle();
    expect(await eventNames('di')).toEqual(['Segment Entered']);
  });

  it('matches a list e-mail to a profile whose e-mail trait was sent with spaces around it', async () => {
    await world.send([
      identify('ann', { email: ' Ann@Example.com ' }),
      identify('al', { email: '\tal@example.com\n' }),
    ]);
    await world.settle();
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Newsletter', kind: 'static' },
      now: world.clock.now(),
    });
    const summary = await importStaticList(world.storage, {
      workspaceId: world.workspaceId,
      segmentId: segment.id,
      source: Readable.from(['email\nann@example.com\n  AL@example.com \n']),
      now: () => world.clock.now(),
    });
    expect(summary).toMatchObject({ rows: 2, matched: 2, unmatched: 0, added: 2 });
    expect(await members(segment.id)).toEqual(
      [await world.profileOf('ann'), await world.profileOf('al')].sort(),
    );
  });

  it('reads list headers however they are spelt, and refuses a file it cannot read whole, adding nothing', async () => {
    await world.send([identify('cy', { email: 'cy@example.com' }), identify('di', {})]);
    await world.settle();
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Trade show', kind: 'static' },
      now: world.clock.now(),
    });
    const importing = (csv: string, onProgress?: (summary: StaticListSummary) => void) =>
      importStaticList(world.storage, {
        workspaceId: world.workspaceId,
        segmentId: segment.id,
        source: Readable.from([csv]),
        now: () => world.clock.now(),
        ...(onProgress ? { onProgress } : {}),
      });
    // An unquoted comma 1,500 rows down: the rows before it are not added either.
    const strangers = Array.from({ length: 1500 }, (_, i) => `stranger-${i},Stranger`).join('\n');
    await expect(importing(`user_id,name\ndi,Di\n${strangers}\nbo,Smith, Bo\n`)).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'body',
      message: expect.stringContaining('line 1503'),
    });
    expect(await members(segment.id)).toEqual([]);
    // Each with a reason the console words in its language.
    await expect(importing('name,company\nDi,Acme\n')).rejects.toMatchObject({
      field: 'body',
      message: expect.stringContaining('no user_id, anonymous_id or email column: nothing was added'),
      issue: { code: 'refused', reason: 'csv_no_key_column', params: { header: 'name, company' } },
    });
    // As a spreadsheet set to an Italian locale saves it: the hint says what to change.
    await expect(importing('email;nome\ndi@example.com;Di\n')).rejects.toMatchObject({
      field: 'body',
      message: expect.stringContaining('seem separated by semicolons: save the file as CSV with commas'),
      issue: { code: 'refused', reason: 'csv_semicolons' },
    });
    await expect(importing('')).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'body',
      issue: { code: 'refused', reason: 'csv_empty' },
    });
    await expect(importing('email,name\n')).rejects.toMatchObject({
      field: 'body',
      message: expect.stringContaining('a header but no rows'),
    });
    // Two columns read as email: which names the contact would be a guess.
    await expect(importing('email,Email,E-mail\nu7@example.com,x,y\n')).rejects.toMatchObject({
      field: 'body',
      message: expect.stringContaining('3 columns read as email (email, Email, E-mail)'),
    });

    // `E-Mail` and `User ID` are the email and user_id columns; progress shows while e-mail rows are read.
    const nobodies = Array.from({ length: 2500 }, (_, i) => `nobody${i}@example.com,`).join('\n');
    const rowsSeen: number[] = [];
    const summary = await importing(`E-Mail,User ID\nCY@example.com,\n,di\n${nobodies}\n`, (progress) =>
      rowsSeen.push(progress.rows),
    );
    expect(summary).toMatchObject({ rows: 2502, matched: 2, unmatched: 2500, added: 2 });
    expect(await members(segment.id)).toEqual(
      [await world.profileOf('cy'), await world.profileOf('di')].sort(),
    );
    expect(rowsSeen.filter((rows) => rows < 2502).length).toBeGreaterThanOrEqual(2);
  });

  it('writes one Segment Entered per contact when the same list is imported twice at once', async () => {
    await world.send([identify('ada', {}), identify('bo', {})]);
    await world.settle();
    const list = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Booth visitors', kind: 'static' },
      now: world.clock.now(),
    });
    const importing = () =>
      importStaticList(world.storage, {
        workspaceId: world.workspaceId,
        segmentId: list.id,
        source: Readable.from(['user_id\nada\nbo\n']),
        now: () => world.clock.now(),
      });
    const [first, second] = await Promise.all([importing(), importing()]);
    expect(first.added + second.added).toBe(2);
    await world.settle();
    expect(await eventNames('ada')).toEqual(['Segment Entered']);
    expect(await eventNames('bo')).toEqual(['Segment Entered']);
  });

  it('decides the live segments asking about a static list when it is imported, and keeps list members through a merge', async () => {
    const visit = { type: 'track', anonymousId: 'anon-1', event: 'Page Viewed', properties: {} };
    await world.send([identify('ada', { plan: 'pro' }), identify('bo', { plan: 'free' }), visit]);
    await world.settle();
    const list = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Webinar', kind: 'static' },
      now: world.clock.now(),
    });
    const attendees = await create('Attendees', { type: 'segment', segment: list.id, is: 'in' });
    const proAttendees = await create('Pro attendees', {
      all: [
        { type: 'segment', segment: list.id, is: 'in' },
        { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
      ],
    });
    await importStaticList(world.storage, {
      workspaceId: world.workspaceId,
      segmentId: list.id,
      source: Readable.from(['user_id,anonymous_id\nada,\n,anon-1\n']),
      now: () => world.clock.now(),
    });
    await world.settle();
    const ada = await world.profileOf('ada');
    const listed = await members(list.id);
    expect(listed).toHaveLength(2);
    expect(await members(attendees)).toEqual(listed);
    expect(await members(proAttendees)).toEqual([ada]);

    // The visitor signs in as bo: whichever profile survives is on the list, and so among the attendees.
    await world.send([
      { type: 'track', userId: 'bo', anonymousId: 'anon-1', event: 'Signed In', properties: {} },
    ]);
    await world.settle();
    const survivors = [ada, await world.profileOf('bo')].sort();
    expect(await members(list.id)).toEqual(survivors);
    expect(await members(attendees)).toEqual(survivors);
  });

  it('lists the survivor of a contact merged away while the list was being imported', async () => {
    const visit = { type: 'track', anonymousId: 'anon-2', event: 'Page Viewed', properties: {} };
    await world.send([identify('cy', {}), visit]);
    await world.settle();
    const list = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Booth visitors', kind: 'static' },
      now: world.clock.now(),
    });
    // The visitor signs in as cy after the import matched the visitor's row, before it writes.
    const storage = world.storage;
    const transaction = storage.transaction.bind(storage);
    let raced = false;
    storage.transaction = async (work) => {
      if (!raced) {
        raced = true;
        await world.send([{ type: 'identify', userId: 'cy', anonymousId: 'anon-2', traits: {} }]);
        await world.background.pipeline.drain();
      }
      return transaction(work);
    };
    await importStaticList(storage, {
      workspaceId: world.workspaceId,
      segmentId: list.id,
      source: Readable.from(['anonymous_id\nanon-2\n']),
      now: () => world.clock.now(),
    });
    storage.transaction = transaction;
    expect(raced).toBe(true);
    expect(await members(list.id)).toEqual([await world.profileOf('cy')]);
  });

  it('lists the first unmatched rows by line, and takes a key no profile can have as unmatched', async () => {
    const list = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Leads', kind: 'static' },
      now: world.clock.now(),
    });
    const blanks = Array.from({ length: 25 }, () => ',').join('\n');
    const summary = await importStaticList(world.storage, {
      workspaceId: world.workspaceId,
      segmentId: list.id,
      source: Readable.from([`user_id,email\nghost,\nbad\u0000id,\n${blanks}\n`]),
      now: () => world.clock.now(),
    });
    expect(summary).toMatchObject({ rows: 27, matched: 0, unmatched: 27, added: 0 });
    expect(summary.unmatchedRows.slice(0, 3)).toEqual([
      { line: 2, key: 'ghost' },
      { line: 3, key: 'bad\uFFFDid' },
      { line: 4, key: '(no user_id, anonymous_id or email)' },
    ]);
    expect(summary.unmatchedRows).toHaveLength(20);
  });

  describe('a list of more than a thousand contacts', () => {
    const CONTACTS = 1010;
    const listFile = () =>
      `user_id\n${Array.from({ length: CONTACTS }, (_, i) => `contact-${i}`).join('\n')}\n`;
    let list: { id: string };
    beforeEach(async () => {
      await world.send(Array.from({ length: CONTACTS }, (_, i) => identify(`contact-${i}`, {})));
      await world.settle();
      list = await createSegment(world.storage, {
        workspaceId: world.workspaceId,
        input: { name: 'Expo', kind: 'static' },
        now: world.clock.now(),
      });
    });
    const importing = () =>
      importStaticList(world.storage, {
        workspaceId: world.workspaceId,
        segmentId: list.id,
        source: Readable.from([listFile()]),
        now: () => world.clock.now(),
      });
    /** Runs `before` ahead of the second transaction the import opens. */
    async function withSecondTransaction<T>(before: () => Promise<void>, run: () => Promise<T>): Promise<T> {
      const storage = world.storage;
      const transaction = storage.transaction.bind(storage);
      let opened = 0;
      storage.transaction = async (work) => {
        if (++opened === 2) await before();
        return transaction(work);
      };
      try {
        return await run();
      } finally {
        storage.transaction = transaction;
      }
    }

    it('says how far it got when writing fails midway, and the same file again adds the rest once', async () => {
      const failing = withSecondTransaction(async () => {
        throw new Error('disk full');
      }, importing);
      await expect(failing).rejects.toMatchObject({
        code: 'unavailable',
        message: expect.stringMatching(
          /stopped after 1000 of the 1010 .*disk full.*upload the same file again/,
        ),
      });
      expect(await world.storage.segments.countMembers(list.id)).toBe(1000);
      expect(await importing()).toMatchObject({ matched: CONTACTS, added: 10 });
      expect(await world.storage.segments.countMembers(list.id)).toBe(CONTACTS);
      await world.settle();
      expect(await eventNames('contact-0')).toEqual(['Segment Entered']);
      expect(await eventNames(`contact-${CONTACTS - 1}`)).toEqual(['Segment Entered']);
    });

    it('stops adding to a list deleted while it was being added, leaving no members behind', async () => {
      const deleting = withSecondTransaction(
        () => deleteSegment(world.storage, world.workspaceId, list.id),
        importing,
      );
      await expect(deleting).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringContaining('deleted'),
      });
      expect(await members(list.id)).toEqual([]);
    });
  });
});
