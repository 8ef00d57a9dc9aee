import { describe, expect, it } from 'vitest';
import { type ScoreLedgerEntry, ScoreModel } from '../core/score-model.js';
import { awardsFor, scoreOf, scoreOverTime } from './score.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-01T00:00:00Z');

const engagement = ScoreModel.parse({
  id: 'engagement',
  name: 'Engagement',
  cap: 100,
  rules: [
    {
      id: 'pricing',
      kind: 'event',
      event: 'Page Viewed',
      where: [{ path: 'path', op: 'eq', value: '/pricing' }],
      points: 10,
      halfLife: '7d',
    },
    { id: 'demo', kind: 'event', event: 'Demo Requested', points: 30, repeat: 'once' },
    { id: 'opens', kind: 'event', event: 'Email Opened', points: 2, cap: 5 },
    {
      id: 'careers',
      kind: 'event',
      event: 'Page Viewed',
      where: [{ path: 'path', op: 'contains', value: 'careers' }],
      points: -15,
    },
    {
      id: 'big-company',
      kind: 'fit',
      when: { type: 'account_trait', path: 'employees', op: 'gte', value: 200 },
      points: 20,
    },
    {
      id: 'title',
      kind: 'fit',
      when: { type: 'trait', path: 'title', op: 'contains', value: 'marketing' },
      points: 5,
    },
  ],
});

let nextEventId = 1;
/** Feeds events through the model one by one, as the pipeline will, and returns the ledger they build. */
function ledgerOf(
  events: Array<{ name: string; day: number; properties?: Record<string, unknown> }>,
): ScoreLedgerEntry[] {
  const ledger: ScoreLedgerEntry[] = [];
  for (const { name, day, properties = {} } of events) {
    ledger.push(
      ...awardsFor(engagement, { id: nextEventId++, name, timestamp: T0 + day * DAY, properties }, ledger),
    );
  }
  return ledger;
}

const nobody = { traits: {}, accounts: [] };

describe('intent scores', () => {
  it('refuses a model with a rule named twice or a rule worth nothing, naming the field', () => {
    const twice = ScoreModel.safeParse({
      id: 'fit',
      name: 'Fit',
      rules: [
        { id: 'a', kind: 'event', event: 'X', points: 1 },
        { id: 'a', kind: 'event', event: 'Y', points: 0 },
      ],
    });
    expect(twice.error?.issues.map((issue) => issue.path.join('.'))).toEqual([
      'rules.1.points',
      'rules.1.id',
    ]);
  });

  it('halves an award every half-life, and explains each point', () => {
    const ledger = ledgerOf([{ name: 'Page Viewed', day: 0, properties: { path: '/pricing' } }]);
    expect(scoreOf(engagement, ledger, nobody, T0).score).toBe(10);
    expect(scoreOf(engagement, ledger, nobody, T0 + 7 * DAY).score).toBe(5);
    const later = scoreOf(engagement, ledger, nobody, T0 + 14 * DAY);
    expect(later.score).toBe(2.5);
    expect(later.awards).toEqual([
      { model: 'engagement', rule: 'pricing', eventId: expect.any(Number), at: T0, points: 10, current: 2.5 },
    ]);
  });

  it('awards once-only rules once, holds a rule to its cap, and never counts a replayed event twice', () => {
    const ledger = ledgerOf([
      { name: 'Demo Requested', day: 0 },
      { name: 'Demo Requested', day: 1 },
      { name: 'Email Opened', day: 1 },
      { name: 'Email Opened', day: 1 },
      { name: 'Email Opened', day: 1 },
      { name: 'Email Opened', day: 1 },
    ]);
    const now = T0 + 2 * DAY;
    const explained = scoreOf(engagement, ledger, nobody, now);
    expect(explained.awards.filter((a) => a.rule === 'demo')).toHaveLength(1);
    // 2 + 2 + 1 (what the cap of 5 left), then nothing.
    expect(explained.awards.filter((a) => a.rule === 'opens').map((a) => a.points)).toEqual([2, 2, 1]);
    expect(explained.score).toBe(35);
    const replay = { id: ledger[0]?.eventId ?? 0, name: 'Demo Requested', timestamp: T0, properties: {} };
    expect(awardsFor(engagement, replay, [])).toHaveLength(1);
    expect(awardsFor(engagement, replay, ledger)).toEqual([]);
  });

  it('counts only earlier events’ awards against a rule: an event sent late earns as it would have in time', () => {
    const ledger = ledgerOf([
      { name: 'Demo Requested', day: 1 },
      { name: 'Email Opened', day: 1 },
      { name: 'Email Opened', day: 1 },
      { name: 'Email Opened', day: 1 },
    ]);
    // A day-0 demo request and open, flushed by a phone after the day-1 events were scored.
    const late = [
      ...awardsFor(
        engagement,
        { id: nextEventId++, name: 'Demo Requested', timestamp: T0, properties: {} },
        ledger,
      ),
      ...awardsFor(
        engagement,
        { id: nextEventId++, name: 'Email Opened', timestamp: T0, properties: {} },
        ledger,
      ),
    ];
    expect(late.map((award) => [award.rule, award.points])).toEqual([
      ['demo', 30],
      ['opens', 2],
    ]);
    // Read in award order, the day-0 request is the once-only one, and the cap holds the later opens.
    const explained = scoreOf(engagement, [...ledger, ...late], nobody, T0 + 2 * DAY);
    expect(explained.awards.map((award) => [award.rule, award.at, award.current])).toEqual([
      ['demo', T0, 30],
      ['opens', T0, 2],
      ['opens', T0 + DAY, 2],
      ['opens', T0 + DAY, 1],
      ['opens', T0 + DAY, 0],
    ]);
    expect(explained.score).toBe(35);
  });

  it('keeps a merged ledger to the rules: one once-only award, points within a cap', () => {
    // Two profiles' ledgers, each within the rules, joined when one is merged into the other.
    const merged = [
      ...ledgerOf([
        { name: 'Demo Requested', day: 0 },
        { name: 'Email Opened', day: 0 },
        { name: 'Email Opened', day: 0 },
      ]),
      ...ledgerOf([
        { name: 'Demo Requested', day: 1 },
        { name: 'Email Opened', day: 1 },
        { name: 'Email Opened', day: 1 },
      ]),
    ];
    const explained = scoreOf(engagement, merged, nobody, T0 + 2 * DAY);
    expect(explained.awards.filter((a) => a.rule === 'demo').map((a) => a.at)).toEqual([T0]);
    expect(explained.awards.filter((a) => a.rule === 'opens').map((a) => a.current)).toEqual([2, 2, 1, 0]);
    expect(explained.score).toBe(35);
  });

  it('takes points away, adds fit from traits and accounts, and keeps the total within the model cap', () => {
    const ledger = ledgerOf([
      { name: 'Page Viewed', day: 0, properties: { path: '/careers/engineer' } },
      { name: 'Demo Requested', day: 0 },
    ]);
    const marketer = {
      traits: { title: 'Head of Marketing' },
      accounts: [{ employees: 50 }, { employees: 500 }],
    };
    const explained = scoreOf(engagement, ledger, marketer, T0);
    expect(explained.fit).toEqual([
      { rule: 'big-company', points: 20 },
      { rule: 'title', points: 5 },
    ]);
    expect(explained.score).toBe(-15 + 30 + 20 + 5);
    const busy = ledgerOf(
      Array.from({ length: 20 }, (_, i) => ({
        name: 'Page Viewed',
        day: i * 0.01,
        properties: { path: '/pricing' },
      })),
    );
    expect(scoreOf(engagement, busy, marketer, T0 + DAY).score).toBe(100);
  });

  it('notes what the model’s cap holds back, so the explanation adds up to the score', () => {
    const busy = ledgerOf(
      Array.from({ length: 12 }, () => ({
        name: 'Page Viewed',
        day: 0,
        properties: { path: `/pricing` },
      })),
    );
    const marketer = { traits: { title: 'Head of Marketing' }, accounts: [] };
    const held = scoreOf(engagement, busy, marketer, T0);
    // 12 × 10 awarded and 5 of fit: 125, held at the cap of 100.
    expect(held.score).toBe(100);
    expect(held.modelCap).toEqual({ cap: 100, points: -25 });
    const counted =
      held.awards.reduce((sum, award) => sum + award.current, 0) +
      held.fit.reduce((sum, fit) => sum + fit.points, 0) +
      (held.modelCap?.points ?? 0);
    expect(counted).toBe(held.score);
    // Under the cap, nothing is held back, and nothing said.
    expect(scoreOf(engagement, busy.slice(0, 3), marketer, T0)).not.toHaveProperty('modelCap');
    // Below the negative cap, it holds the score up.
    const penalized = ScoreModel.parse({
      id: 'penalties',
      name: 'Penalties',
      cap: 20,
      rules: [{ id: 'careers', kind: 'event', event: 'Careers Viewed', points: -15 }],
    });
    const careers = [1, 2].map((eventId) => ({
      model: 'penalties',
      rule: 'careers',
      eventId,
      at: T0,
      points: -15,
    }));
    expect(scoreOf(penalized, careers, nobody, T0)).toMatchObject({
      score: -20,
      modelCap: { cap: 20, points: 10 },
    });
  });

  it('recomputes the same score from the ledger alone, whenever asked', () => {
    const events = [
      { name: 'Page Viewed', day: 0, properties: { path: '/pricing' } },
      { name: 'Email Opened', day: 3 },
      { name: 'Page Viewed', day: 5, properties: { path: '/pricing' } },
    ];
    const first = ledgerOf(events);
    const again = ledgerOf(events).map((entry, i) => ({ ...entry, eventId: first[i]?.eventId ?? 0 }));
    const now = T0 + 9 * DAY;
    expect(scoreOf(engagement, again, nobody, now)).toEqual(scoreOf(engagement, first, nobody, now));
    // 10·2^(-9/7) + 2 + 10·2^(-4/7)
    expect(scoreOf(engagement, first, nobody, now).score).toBeCloseTo(
      10 * 0.5 ** (9 / 7) + 2 + 10 * 0.5 ** (4 / 7),
      1,
    );
  });

  it('gives the score at any later moment as scoreOf does, from sums per rule however long the ledger', () => {
    // Without the model's cap, which would hide the sums behind it.
    const uncapped = ScoreModel.parse({ ...engagement, cap: undefined });
    const capped = ScoreModel.parse({
      ...uncapped,
      rules: [
        ...engagement.rules.filter((rule) => rule.id !== 'pricing'),
        { id: 'pricing', kind: 'event', event: 'Page Viewed', points: 10, halfLife: '7d', cap: 25 },
      ],
    });
    const events = [
      ...Array.from({ length: 2000 }, (_, i) => ({
        name: 'Page Viewed',
        day: i / 100,
        properties: { path: i % 500 === 0 ? '/careers' : '/pricing' },
      })),
      { name: 'Demo Requested', day: 3 },
      { name: 'Demo Requested', day: 4 },
      { name: 'Email Opened', day: 5 },
    ];
    const marketer = { traits: { title: 'marketing lead' }, accounts: [{ employees: 500 }] };
    for (const model of [uncapped, capped]) {
      const ledger = ledgerOf(events).map((entry) => ({ ...entry, model: model.id }));
      const overTime = scoreOverTime(model, ledger, marketer);
      expect(overTime.at(T0 + 90 * DAY)).not.toBe(overTime.at(T0 + 91 * DAY));
      for (const days of [20, 20.5, 21, 27, 40, 90, 365])
        expect(overTime.at(T0 + days * DAY), `${model.id} at day ${days}`).toBe(
          scoreOf(model, ledger, marketer, T0 + days * DAY).score,
        );
      // Asked before its last award, it counts award by award, as scoreOf does.
      expect(overTime.at(T0 + 10 * DAY)).toBe(scoreOf(model, ledger, marketer, T0 + 10 * DAY).score);
    }
  });
});

describe('a zero half-life in settings saved before it was refused', () => {
  it('is still read, and takes the points at once rather than scoring NaN', () => {
    const model = ScoreModel.parse({
      id: 'engagement',
      name: 'Engagement',
      rules: [{ id: 'seen', kind: 'event', event: 'Page Viewed', points: 10, halfLife: '0d', cap: 30 }],
    });
    const event = { id: 1, name: 'Page Viewed', timestamp: 1000, properties: {} };
    const awards = awardsFor(model, event, []);
    expect(awards).toMatchObject([{ points: 10 }]);
    // A second event in the same millisecond: the cap's room is a number, not NaN.
    expect(awardsFor(model, { ...event, id: 2 }, awards)).toMatchObject([{ points: 10 }]);
    const profile = { traits: {}, accounts: [] };
    expect(scoreOf(model, awards, profile, 1000).score).toBe(10);
    expect(scoreOf(model, awards, profile, 2000).score).toBe(0);
    // Over time too (what segments and journey branches ask): no NaN beside another rule's points.
    const withSlow = ScoreModel.parse({
      ...model,
      rules: [...model.rules, { id: 'slow', kind: 'event', event: 'Signed In', points: 5 }],
    });
    const ledger = [
      { model: 'engagement', rule: 'slow', eventId: 3, at: 500, points: 5 },
      { model: 'engagement', rule: 'seen', eventId: 1, at: 1000, points: 10 },
    ];
    expect(scoreOverTime(withSlow, ledger, profile).at(61_000)).toBe(
      scoreOf(withSlow, ledger, profile, 61_000).score,
    );
    expect(scoreOverTime(withSlow, ledger, profile).at(61_000)).toBe(5);
  });
});
