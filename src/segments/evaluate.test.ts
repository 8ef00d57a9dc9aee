import { describe, expect, it } from 'vitest';
import { ScoreModel } from '../core/score-model.js';
import { SegmentCondition } from '../core/segment-definition.js';
import { scoreOverTime } from '../scoring/score.js';
import {
  type EventFact,
  isMember,
  matchingFrom,
  nextMembershipChange,
  type ProfileFacts,
} from './evaluate.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-29T12:00:00Z');

const event = (name: string, daysAgo: number, properties: Record<string, unknown> = {}): EventFact => ({
  name,
  timestamp: NOW - daysAgo * DAY,
  properties,
});

function facts(
  overrides: Partial<Omit<ProfileFacts, 'eventsMatching'>> & { events?: EventFact[] } = {},
): ProfileFacts {
  const events = (overrides.events ?? []).sort((a, b) => a.timestamp - b.timestamp);
  return {
    traits: {},
    accounts: [],
    isSubscribed: () => true,
    score: () => undefined,
    scoreSettlesBy: () => undefined,
    scoreFitChanges: () => [],
    stage: undefined,
    isInSegment: () => false,
    ...overrides,
    eventsMatching: matchingFrom((name) => events.filter((e) => e.name === name)),
  };
}

const rule = (input: unknown) => SegmentCondition.parse(input);

describe('segment rules', () => {
  it('refuses a malformed rule, naming the field', () => {
    const bad = SegmentCondition.safeParse({
      all: [{ type: 'event', event: 'Order Completed', within: 'a month' }],
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['all', 0, 'within']);
    const noValue = SegmentCondition.safeParse({ type: 'trait', path: 'plan', op: 'eq' });
    expect(noValue.error?.issues[0]?.path).toEqual(['value']);
    const range = SegmentCondition.safeParse({ type: 'event', event: 'X', atLeast: 3, atMost: 1 });
    expect(range.error?.issues[0]?.path).toEqual(['atMost']);
    // "At most 0 times" alone meets atLeast's default of 1: the message says how to count "never".
    const never = SegmentCondition.safeParse({ type: 'event', event: 'X', atMost: 0 });
    expect(never.error?.issues[0]?.message).toContain('atLeast: 0');
  });

  it('compares traits, dates relative to now included, and nests all, any and not', () => {
    const profile = facts({
      traits: { plan: 'pro', seats: '12', signed_up_at: new Date(NOW - 10 * DAY).toISOString() },
    });
    expect(isMember(rule({ type: 'trait', path: 'seats', op: 'gte', value: 10 }), profile, NOW)).toBe(true);
    expect(
      isMember(rule({ type: 'trait', path: 'signed_up_at', op: 'within_last', value: '30d' }), profile, NOW),
    ).toBe(true);
    expect(
      isMember(rule({ type: 'trait', path: 'signed_up_at', op: 'within_last', value: '1w' }), profile, NOW),
    ).toBe(false);
    const nested = rule({
      all: [
        {
          any: [
            { type: 'trait', path: 'plan', op: 'eq', value: 'free' },
            { type: 'trait', path: 'plan', op: 'in', value: ['pro', 'team'] },
          ],
        },
        { not: { type: 'trait', path: 'churned', op: 'exists' } },
      ],
    });
    expect(isMember(nested, profile, NOW)).toBe(true);
    expect(isMember(nested, facts({ traits: { plan: 'pro', churned: true } }), NOW)).toBe(false);
    // Text whatever its case, in a list or alone, as `contains` reads it.
    expect(isMember(nested, facts({ traits: { plan: 'Team' } }), NOW)).toBe(true);
    const country = (op: string, value: unknown) => rule({ type: 'trait', path: 'country', op, value });
    const us = facts({ traits: { country: 'us' } });
    expect(isMember(country('eq', 'US'), us, NOW)).toBe(true);
    expect(isMember(country('neq', 'US'), us, NOW)).toBe(false);
    expect(isMember(country('in', ['GB', 'US']), us, NOW)).toBe(true);
    expect(isMember(country('in', ['GB', 'USA']), us, NOW)).toBe(false);
  });

  it('finds the digits of a number asked with contains in a text trait or property', () => {
    const orders = facts({
      traits: { reference: 'order-42-x', code: 'A-1.5', total: 4242 },
      events: [event('Order Completed', 1, { reference: 'ORDER-42' })],
    });
    const holds = (input: unknown) => isMember(rule(input), orders, NOW);
    expect(holds({ type: 'trait', path: 'reference', op: 'contains', value: 42 })).toBe(true);
    expect(holds({ type: 'trait', path: 'reference', op: 'contains', value: 43 })).toBe(false);
    expect(holds({ type: 'trait', path: 'code', op: 'contains', value: 1.5 })).toBe(true);
    expect(
      holds({
        type: 'event',
        event: 'Order Completed',
        where: [{ path: 'reference', op: 'contains', value: 42 }],
      }),
    ).toBe(true);
    // A number trait is read as its text too.
    expect(holds({ type: 'trait', path: 'total', op: 'contains', value: 42 })).toBe(true);
    expect(holds({ type: 'trait', path: 'total', op: 'contains', value: '24' })).toBe(true);
    expect(holds({ type: 'trait', path: 'total', op: 'contains', value: 43 })).toBe(false);
  });

  it('takes text reading true or false, whatever its case, for the boolean a rule asks about', () => {
    const holds = (value: unknown, input: unknown) =>
      isMember(rule(input), facts({ traits: { vip: value } }), NOW);
    const vip = (op: string, value: unknown) => ({ type: 'trait', path: 'vip', op, value });
    for (const text of ['true', 'TRUE', 'True', ' true ']) {
      expect(holds(text, vip('eq', true))).toBe(true);
      expect(holds(text, vip('neq', true))).toBe(false);
      expect(holds(text, vip('eq', false))).toBe(false);
      expect(holds(text, vip('in', [false, true]))).toBe(true);
    }
    expect(holds('FALSE', vip('eq', false))).toBe(true);
    expect(holds('False', vip('neq', true))).toBe(true);
    // And a boolean trait for the text of one.
    expect(holds(true, vip('eq', 'TRUE'))).toBe(true);
    // Nothing else reads as a yes or a no.
    for (const other of ['yes', '1', 1, 'truest', null, 0])
      expect(holds(other, vip('eq', true)) || holds(other, vip('eq', false))).toBe(false);
  });

  it("reads a date without an offset as UTC whatever the server's time zone, and a day that does not exist as no date", () => {
    const serverZone = process.env.TZ;
    // A server an hour ahead of UTC (and one DST moves) reads `2026-03-01T00:30` as 23:30 the day before.
    process.env.TZ = 'Europe/Rome';
    try {
      const profile = facts({
        traits: { signed_up_at: '2026-03-01T00:30', seen_at: '2026-11-29T11:30', renews_on: '2026-02-30' },
      });
      const holds = (input: unknown) => isMember(rule(input), profile, NOW);
      expect(holds({ type: 'trait', path: 'signed_up_at', op: 'gte', value: '2026-03-01' })).toBe(true);
      expect(holds({ type: 'trait', path: 'signed_up_at', op: 'lt', value: '2026-03-01T01:00' })).toBe(true);
      expect(holds({ type: 'trait', path: 'seen_at', op: 'within_last', value: '1h' })).toBe(true);
      // Not rolled over into March.
      expect(holds({ type: 'trait', path: 'renews_on', op: 'gt', value: '2026-03-01' })).toBe(false);
      expect(holds({ type: 'trait', path: 'renews_on', op: 'within_last', value: '520w' })).toBe(false);
      const viewed = facts({ events: [event('Trial Started', 1, { ends_at: '2026-11-29T11:30' })] });
      const filtered = rule({
        type: 'event',
        event: 'Trial Started',
        where: [{ path: 'ends_at', op: 'within_last', value: '1h' }],
      });
      expect(isMember(filtered, viewed, NOW)).toBe(true);
    } finally {
      if (serverZone === undefined) delete process.env.TZ;
      else process.env.TZ = serverZone;
    }
  });

  it('reads only what a profile or event holds, not what every JavaScript object has', () => {
    const profile = facts({
      traits: { plan: 'pro', address: { city: 'Rome' }, tags: ['a'] },
      events: [event('Order Completed', 1, { total: 10 })],
    });
    for (const path of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'address.constructor'])
      expect(isMember(rule({ type: 'trait', path, op: 'exists' }), profile, NOW)).toBe(false);
    expect(
      isMember(rule({ type: 'trait', path: 'address.city', op: 'eq', value: 'Rome' }), profile, NOW),
    ).toBe(true);
    expect(isMember(rule({ type: 'trait', path: 'tags.0', op: 'eq', value: 'a' }), profile, NOW)).toBe(true);
    const ordered = (path: string) =>
      rule({ type: 'event', event: 'Order Completed', where: [{ path, op: 'exists' }] });
    expect(isMember(ordered('constructor'), profile, NOW)).toBe(false);
    expect(isMember(ordered('total'), profile, NOW)).toBe(true);
  });

  it('counts events with property filters in a rolling window, at least and at most', () => {
    const buyer = facts({
      events: [
        event('Order Completed', 40, { total: 500 }),
        event('Order Completed', 20, { total: 80 }),
        event('Order Completed', 5, { total: 120 }),
        event('Order Completed', 1, { total: 300 }),
      ],
    });
    const bigOrders = (atLeast: number, within?: string, atMost?: number) =>
      rule({
        type: 'event',
        event: 'Order Completed',
        where: [{ path: 'total', op: 'gte', value: 100 }],
        atLeast,
        within,
        atMost,
      });
    expect(isMember(bigOrders(3), buyer, NOW)).toBe(true);
    expect(isMember(bigOrders(3, '30d'), buyer, NOW)).toBe(false);
    expect(isMember(bigOrders(2, '30d'), buyer, NOW)).toBe(true);
    expect(isMember(bigOrders(0, '30d', 1), buyer, NOW)).toBe(false);
    // "Not performed in 30 days": at most zero times.
    const lapsed = rule({ type: 'event', event: 'Order Completed', within: '30d', atLeast: 0, atMost: 0 });
    expect(isMember(lapsed, buyer, NOW)).toBe(false);
    expect(isMember(lapsed, facts(), NOW)).toBe(true);
  });

  it('looks at the first and last time an event happened', () => {
    const visitor = facts({ events: [event('Page Viewed', 100), event('Page Viewed', 3)] });
    const first = (op: string, value: string) =>
      rule({ type: 'event_time', event: 'Page Viewed', which: 'first', op, value });
    const last = (op: string, value: string) =>
      rule({ type: 'event_time', event: 'Page Viewed', which: 'last', op, value });
    expect(isMember(first('before', '2026-09-01T00:00:00Z'), visitor, NOW)).toBe(true);
    expect(isMember(last('within_last', '7d'), visitor, NOW)).toBe(true);
    expect(isMember(last('not_within_last', '2d'), visitor, NOW)).toBe(true);
    expect(isMember(last('after', '2026-11-27T00:00:00Z'), visitor, NOW)).toBe(false);
    // Never done counts as not done lately, and as nothing else: no first time a year ago either
    // ("customers for over a year" holds no one who never ordered).
    expect(isMember(last('not_within_last', '30d'), facts(), NOW)).toBe(true);
    expect(isMember(first('not_within_last', '365d'), facts(), NOW)).toBe(false);
    expect(isMember(first('before', '2030-01-01T00:00:00Z'), facts(), NOW)).toBe(false);
  });

  it('reads accounts, consent, scores, lifecycle stage and other segments', () => {
    const profile = facts({
      accounts: [{ industry: 'retail' }, { industry: 'software', employees: 250 }],
      isSubscribed: (topic) => topic !== 'newsletter',
      score: (model) => (model === 'engagement' ? 42 : undefined),
      stage: 'mql',
      isInSegment: (id) => id === 'seg_vip',
    });
    expect(
      isMember(rule({ type: 'account_trait', path: 'employees', op: 'gt', value: 100 }), profile, NOW),
    ).toBe(true);
    expect(isMember(rule({ type: 'subscription', topic: 'newsletter' }), profile, NOW)).toBe(false);
    expect(
      isMember(rule({ type: 'subscription', topic: 'newsletter', subscribed: false }), profile, NOW),
    ).toBe(true);
    expect(isMember(rule({ type: 'score', model: 'engagement', min: 40, max: 50 }), profile, NOW)).toBe(true);
    expect(isMember(rule({ type: 'score', model: 'fit', min: 0 }), profile, NOW)).toBe(false);
    expect(isMember(rule({ type: 'lifecycle', stages: ['mql', 'sql'] }), profile, NOW)).toBe(true);
    expect(isMember(rule({ type: 'segment', segment: 'seg_vip', is: 'not_in' }), profile, NOW)).toBe(false);
  });

  it('tells when membership next changes by time alone, and that it matches then', () => {
    const buyer = facts({ events: [event('Order Completed', 25), event('Order Completed', 10)] });
    const twiceIn30Days = rule({ type: 'event', event: 'Order Completed', within: '30d', atLeast: 2 });
    expect(isMember(twiceIn30Days, buyer, NOW)).toBe(true);
    const change = nextMembershipChange(twiceIn30Days, buyer, NOW);
    expect(change).toBe(NOW + 5 * DAY); // the older order leaves the window
    expect(isMember(twiceIn30Days, buyer, change as number)).toBe(false);
    expect(
      nextMembershipChange(rule({ type: 'trait', path: 'plan', op: 'eq', value: 'pro' }), buyer, NOW),
    ).toBeUndefined();
  });

  it('tells when a fit rule on a trait date takes a score out of a range as time passes', () => {
    const model = ScoreModel.parse({
      id: 'fit',
      name: 'Fit',
      rules: [
        {
          id: 'trial',
          kind: 'fit',
          when: { type: 'trait', path: 'trial_started_at', op: 'within_last', value: '14d' },
          points: 40,
        },
        { id: 'signup', kind: 'event', event: 'Signed Up', points: 10 },
      ],
    });
    const trialist = { traits: { trial_started_at: new Date(NOW - 10 * DAY).toISOString() }, accounts: [] };
    const ledger = [{ model: 'fit', rule: 'signup', eventId: 1, at: NOW - 10 * DAY, points: 10 }];
    const track = scoreOverTime(model, ledger, trialist);
    const profile = facts({
      traits: trialist.traits,
      score: (_model, at) => track.at(at),
      scoreSettlesBy: () => track.settlesBy,
      scoreFitChanges: (_model, now) => track.fitChangesAfter(now),
    });
    const fitEnough = rule({ type: 'score', model: 'fit', min: 30 });
    expect(isMember(fitEnough, profile, NOW)).toBe(true);
    // The trial leaves its 14 days four days from now: 10 points are left then.
    expect(nextMembershipChange(fitEnough, profile, NOW)).toBe(NOW + 4 * DAY);
    expect(isMember(fitEnough, profile, NOW + 4 * DAY)).toBe(false);
  });

  it('tells when decay alone takes a score out of a range, or a negative score into one', () => {
    const model = ScoreModel.parse({
      id: 'engagement',
      name: 'Engagement',
      rules: [
        { id: 'demo', kind: 'event', event: 'Demo Requested', points: 80, halfLife: '1d' },
        { id: 'careers', kind: 'event', event: 'Careers Viewed', points: -50, halfLife: '1d' },
        { id: 'signup', kind: 'event', event: 'Signed Up', points: 30 },
      ],
    });
    const scored = (...awards: Array<[string, number]>) => {
      const ledger = awards.map(([rule, points], index) => ({
        model: 'engagement',
        rule,
        eventId: index + 1,
        at: NOW,
        points,
      }));
      const track = scoreOverTime(model, ledger, { traits: {}, accounts: [] });
      return facts({ score: (_model, at) => track.at(at), scoreSettlesBy: () => track.settlesBy });
    };
    const hot = rule({ type: 'score', model: 'engagement', min: 40 });
    const demo = scored(['demo', 80]);
    expect(isMember(hot, demo, NOW)).toBe(true);
    // 80 points halve to 40 in a day; the score (in hundredths) shows under 40 some seconds later.
    const cooled = nextMembershipChange(hot, demo, NOW) as number;
    expect(cooled).toBeGreaterThan(NOW + DAY);
    expect(cooled).toBeLessThanOrEqual(NOW + DAY + 60_000);
    expect(isMember(hot, demo, cooled)).toBe(false);
    expect(isMember(hot, demo, cooled - 2000)).toBe(true);

    // -50 rises to -10 after log2(5) ≈ 2.32 days (to -10.00, in hundredths, a minute before).
    const notCold = rule({ type: 'score', model: 'engagement', min: -10 });
    const careers = scored(['careers', -50]);
    expect(isMember(notCold, careers, NOW)).toBe(false);
    const warmed = nextMembershipChange(notCold, careers, NOW) as number;
    expect(Math.abs(warmed - (NOW + Math.log2(5) * DAY))).toBeLessThan(120_000);
    expect(isMember(notCold, careers, warmed)).toBe(true);

    // In whole milliseconds (a timer's due time), also where the search's growing step is not.
    const quick = ScoreModel.parse({
      id: 'engagement',
      name: 'Engagement',
      rules: [{ id: 'click', kind: 'event', event: 'Clicked', points: 5, halfLife: '1m' }],
    });
    const click = [{ model: 'engagement', rule: 'click', eventId: 1, at: NOW, points: 5 }];
    const track = scoreOverTime(quick, click, { traits: {}, accounts: [] });
    const clicked = facts({ score: (_model, at) => track.at(at), scoreSettlesBy: () => track.settlesBy });
    for (const min of [0.19, 0.61, 0.93, 1.3]) {
      const due = nextMembershipChange(rule({ type: 'score', model: 'engagement', min }), clicked, NOW);
      expect(Number.isInteger(due), `due ${due} for at least ${min}`).toBe(true);
      expect(isMember(rule({ type: 'score', model: 'engagement', min }), clicked, due as number)).toBe(false);
    }

    // Points without a half-life never move.
    expect(
      nextMembershipChange(
        rule({ type: 'score', model: 'engagement', max: 20 }),
        scored(['signup', 30]),
        NOW,
      ),
    ).toBeUndefined();
  });
});
