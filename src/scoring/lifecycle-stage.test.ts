import { describe, expect, it } from 'vitest';
import { LifecycleSettings } from '../core/lifecycle.js';
import { ScoreModel } from '../core/score-model.js';
import { advanceStage, nextStageCheck, reaches, recycleStage } from './lifecycle-stage.js';
import { scoreOf } from './score.js';

const lifecycle = LifecycleSettings.parse({
  rules: [
    { kind: 'score', to: 'lead', model: 'engagement', atLeast: 10 },
    { kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 },
    { kind: 'event', to: 'sql', event: 'Sales Accepted' },
    {
      kind: 'event',
      to: 'customer',
      event: 'Order Completed',
      where: [{ path: 'total', op: 'gt', value: 0 }],
    },
  ],
});

const score = (value: number, model = 'engagement', previous?: number) => ({
  kind: 'score' as const,
  model,
  score: value,
  previous,
});
const event = (name: string, properties: Record<string, unknown> = {}) => ({
  kind: 'event' as const,
  event: { name, properties, timestamp: 0 },
});

describe('lifecycle stages', () => {
  it('has the usual stages by default and refuses rules to unknown stages, naming the field', () => {
    expect(LifecycleSettings.parse({}).stages).toEqual([
      'subscriber',
      'lead',
      'mql',
      'sql',
      'opportunity',
      'customer',
    ]);
    const bad = LifecycleSettings.safeParse({
      rules: [{ kind: 'event', to: 'champion', event: 'X' }],
      stages: ['a', 'b', 'a'],
      recycleTo: 'a',
    });
    expect(bad.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['stages.2', 'rules.0.to']);
  });

  it('moves forward to the furthest stage a signal earns, and never back', () => {
    expect(advanceStage(lifecycle, undefined, score(12))).toMatchObject({ from: undefined, to: 'lead' });
    expect(advanceStage(lifecycle, 'lead', score(75))).toMatchObject({ from: 'lead', to: 'mql' });
    expect(advanceStage(lifecycle, undefined, score(75))?.to).toBe('mql');
    expect(advanceStage(lifecycle, 'sql', score(90))).toBeUndefined();
    expect(advanceStage(lifecycle, 'mql', score(5))).toBeUndefined();
    expect(advanceStage(lifecycle, 'lead', score(99, 'fit'))).toBeUndefined();
    expect(advanceStage(lifecycle, 'mql', event('Sales Accepted'))?.to).toBe('sql');
    expect(advanceStage(lifecycle, 'sql', event('Order Completed', { total: 0 }))).toBeUndefined();
    expect(advanceStage(lifecycle, 'sql', event('Order Completed', { total: 120 }))?.to).toBe('customer');
  });

  it('moves a recycled lead back only on its score reaching the threshold again, others whenever over it', () => {
    const recycled = (value: number, previous: number) => ({
      ...score(value, 'engagement', previous),
      held: new Set(['lead', 'mql']),
    });
    expect(advanceStage(lifecycle, 'lead', recycled(75, 40))?.to).toBe('mql');
    expect(advanceStage(lifecycle, 'lead', recycled(75, 60))).toBeUndefined();
    expect(advanceStage(lifecycle, 'lead', recycled(75, 50))).toBeUndefined();
    // Never an MQL: over the threshold is enough (one added or lowered after it scored, say).
    expect(advanceStage(lifecycle, 'lead', score(75, 'engagement', 60))?.to).toBe('mql');
    expect(
      advanceStage(lifecycle, 'lead', { ...score(75, 'engagement', 60), held: new Set(['lead']) })?.to,
    ).toBe('mql');
    // Reaching two thresholds at once goes to the further; staying above the lower one still moves by the higher.
    expect(advanceStage(lifecycle, 'subscriber', score(60, 'engagement', 5))?.to).toBe('mql');
    expect(advanceStage(lifecycle, 'subscriber', score(60, 'engagement', 20))?.to).toBe('mql');
  });

  it('moves by a rule asking for several scores only once all of them reach their thresholds', () => {
    const both = LifecycleSettings.parse({
      rules: [
        { kind: 'score', to: 'lead', model: 'engagement', atLeast: 10 },
        { kind: 'score', to: 'mql', model: 'engagement', atLeast: 50, and: [{ model: 'fit', atLeast: 30 }] },
      ],
    });
    const scores = (engagement: number, fit?: number) =>
      new Map([['engagement', engagement], ...(fit === undefined ? [] : [['fit', fit] as const])]);
    const signal = (model: string, others: Map<string, number>, previous?: number) => ({
      ...score(others.get(model) as number, model, previous),
      others,
    });
    // Engagement over its threshold without fit, or with too little: a lead, not an MQL.
    expect(advanceStage(both, 'lead', signal('engagement', scores(75)))).toBeUndefined();
    expect(advanceStage(both, 'lead', signal('engagement', scores(75, 20)))).toBeUndefined();
    expect(advanceStage(both, 'subscriber', signal('engagement', scores(75, 20)))?.to).toBe('lead');
    // Either score reaching its threshold while the other holds moves it.
    expect(advanceStage(both, 'lead', signal('engagement', scores(75, 30)))?.to).toBe('mql');
    expect(advanceStage(both, 'lead', signal('fit', scores(60, 35)))?.to).toBe('mql');
    // A model the rule does not name moves nothing by it.
    expect(advanceStage(both, 'lead', signal('product', new Map([...scores(75, 35), ['product', 5]])))).toBe(
      undefined,
    );
    // A recycled lead comes back when the pair holds again after not holding, whichever score moved.
    const recycled = (model: string, others: Map<string, number>, previous: number) => ({
      ...signal(model, others, previous),
      held: new Set(['lead', 'mql']),
    });
    expect(advanceStage(both, 'lead', recycled('fit', scores(75, 35), 20))?.to).toBe('mql');
    expect(advanceStage(both, 'lead', recycled('fit', scores(75, 35), 31))).toBeUndefined();
    expect(advanceStage(both, 'lead', recycled('engagement', scores(75, 35), 40))?.to).toBe('mql');

    // The same model twice in one rule is refused, naming it.
    const twice = LifecycleSettings.safeParse({
      rules: [{ kind: 'score', to: 'mql', model: 'fit', atLeast: 5, and: [{ model: 'fit', atLeast: 9 }] }],
    });
    expect(twice.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['rules.0.and.0.model', 'fit has a threshold in this rule already'],
    ]);
  });

  it('recycles only backwards, to the recycle stage', () => {
    expect(recycleStage(lifecycle, 'mql')).toEqual({ from: 'mql', to: 'lead', rule: undefined });
    expect(recycleStage(lifecycle, 'lead')).toBeUndefined();
    expect(recycleStage(lifecycle, 'subscriber')).toBeUndefined();
  });

  it('tells when a move reaches a stage, also by jumping past it', () => {
    const jump = advanceStage(lifecycle, 'lead', event('Sales Accepted'));
    expect(jump?.to).toBe('sql');
    expect(reaches(lifecycle, jump as NonNullable<typeof jump>, 'mql')).toBe(true);
    expect(reaches(lifecycle, { from: 'sql', to: 'customer', rule: undefined }, 'mql')).toBe(false);
    expect(reaches(lifecycle, { from: 'lead', to: 'mql', rule: undefined }, 'mql')).toBe(true);
  });
});

describe('when time alone may move a stage', () => {
  const DAY = 86_400_000;
  const start = Date.parse('2026-06-01T00:00:00Z');
  const toMql = LifecycleSettings.parse({
    rules: [{ kind: 'score', to: 'mql', model: 'engagement', atLeast: 30 }],
  });
  const engagement = ScoreModel.parse({
    id: 'engagement',
    name: 'Engagement',
    rules: [
      { id: 'demo', kind: 'event', event: 'Demo Requested', points: 40 },
      { id: 'webinar', kind: 'event', event: 'Webinar Attended', points: 20 },
      { id: 'pricing', kind: 'event', event: 'Pricing Viewed', points: 10, halfLife: '1d' },
      { id: 'careers', kind: 'event', event: 'Careers Viewed', points: -20, halfLife: '1d' },
      // Counts once the contact has been signed up for a week.
      {
        id: 'settled',
        kind: 'fit',
        when: { type: 'trait', path: 'signed_up_at', op: 'not_within_last', value: '7d' },
        points: 15,
      },
    ],
  });
  const award = (rule: string, points: number, eventId: number) => ({
    model: 'engagement',
    rule,
    eventId,
    at: start,
    points,
  });
  const check = (options: { stage?: string; ledger?: ReturnType<typeof award>[]; traits?: object }) => {
    const ledger = options.ledger ?? [];
    const facts = { traits: { ...options.traits }, accounts: [] };
    const scores = new Map([['engagement', scoreOf(engagement, ledger, facts, start).score]]);
    return nextStageCheck(
      toMql,
      [engagement],
      { stage: options.stage ?? 'lead', ledger, facts, scores },
      start,
    );
  };

  it('finds when a fading penalty lets the score reach a further stage’s threshold, to the second', () => {
    // 40 − 20 halving daily reaches 30 after one day — a minute early, as scores are kept to the
    // hundredth (29.995 is 30).
    const due = check({ ledger: [award('demo', 40, 1), award('careers', -20, 2)] }) as number;
    expect((start + DAY - due) / 1000).toBeGreaterThan(55);
    expect((start + DAY - due) / 1000).toBeLessThan(65);
    expect(Number.isInteger(due)).toBe(true);
  });

  it('finds when a fit rule starts to hold', () => {
    const due = check({
      ledger: [award('webinar', 20, 1)],
      traits: { signed_up_at: new Date(start).toISOString() },
    });
    expect(due).toBe(start + 7 * DAY);
  });

  it('looks for a threshold of a rule asking for several scores, the others decided when the time comes', () => {
    const withFit = LifecycleSettings.parse({
      rules: [
        { kind: 'score', to: 'mql', model: 'fit', atLeast: 5, and: [{ model: 'engagement', atLeast: 30 }] },
      ],
    });
    const ledger = [award('webinar', 20, 1)];
    const facts = { traits: { signed_up_at: new Date(start).toISOString() }, accounts: [] };
    const scores = new Map([
      ['engagement', scoreOf(engagement, ledger, facts, start).score],
      ['fit', 10],
    ]);
    expect(nextStageCheck(withFit, [engagement], { stage: 'lead', ledger, facts, scores }, start)).toBe(
      start + 7 * DAY,
    );
  });

  it('sets nothing for fading points alone, a penalty too small, a score over it already, or no further stage', () => {
    expect(check({ ledger: [award('pricing', 10, 1)] })).toBeUndefined();
    expect(check({ ledger: [award('webinar', 20, 1), award('careers', -5, 2)] })).toBeUndefined();
    expect(check({ ledger: [award('demo', 40, 1)] })).toBeUndefined();
    expect(check({ stage: 'mql', ledger: [award('demo', 40, 1), award('careers', -20, 2)] })).toBeUndefined();
  });
});
