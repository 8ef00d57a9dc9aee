import { describe, expect, it } from 'vitest';
import type { ScoreLedgerEntry, ScoreModel } from '../core/score-model.js';
import { scoreOf } from './score.js';
import { nextScoreRefresh } from './score-refresh.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 11, 3);

const model = (rules: ScoreModel['rules']): ScoreModel => ({ id: 'engagement', name: 'Engagement', rules });
const award = (rule: string, points: number, at = NOW): ScoreLedgerEntry => ({
  model: 'engagement',
  rule,
  eventId: at,
  at,
  points,
});
const facts = { traits: {}, accounts: [] };
const refreshOf = (scoring: ScoreModel, ledger: ScoreLedgerEntry[], now = NOW) =>
  nextScoreRefresh(
    [scoring],
    { ledger, facts, scores: new Map([[scoring.id, scoreOf(scoring, ledger, facts, now).score]]) },
    now,
  );

describe('nextScoreRefresh', () => {
  const fading = model([
    {
      id: 'visit',
      kind: 'event',
      event: 'Page Viewed',
      points: 100,
      halfLife: '1d',
      where: [],
      repeat: 'every_time',
    },
  ]);

  it('stores a fading score again just before it has moved past a point or 5 %, and never late', () => {
    const ledger = [award('visit', 100)];
    const due = refreshOf(fading, ledger) as number;
    const moved = 100 - scoreOf(fading, ledger, facts, due).score;
    // 5 % of 100: as fast as it fades now, it would take ~1.7 hours; fading slows, so a little less moved.
    expect((due - NOW) / HOUR).toBeCloseTo(1.73, 1);
    expect(moved).toBeGreaterThan(4.5);
    expect(moved).toBeLessThanOrEqual(5);
    // Later on, smaller, it fades slower: stored again less often, a point at a time.
    const later = NOW + 5 * DAY;
    const dueLater = refreshOf(fading, ledger, later) as number;
    expect(dueLater - later).toBeGreaterThan(due - NOW);
    expect(
      scoreOf(fading, ledger, facts, later).score - scoreOf(fading, ledger, facts, dueLater).score,
    ).toBeLessThanOrEqual(1);
  });

  it('keeps no timer once what can still fade is within the tolerance, nor for points that never fade', () => {
    // 100 points ten days on: under a tenth of a point left.
    expect(refreshOf(fading, [award('visit', 100, NOW - 10 * DAY)])).toBeUndefined();
    const lasting = model([
      { id: 'demo', kind: 'event', event: 'Demo Requested', points: 40, where: [], repeat: 'once' },
    ]);
    expect(refreshOf(lasting, [award('demo', 40)])).toBeUndefined();
  });

  it('counts a fading penalty as moving the score too, up', () => {
    const penalty = model([
      { id: 'demo', kind: 'event', event: 'Demo Requested', points: 40, where: [], repeat: 'once' },
      {
        id: 'careers',
        kind: 'event',
        event: 'Careers Viewed',
        points: -20,
        halfLife: '2d',
        where: [],
        repeat: 'every_time',
      },
    ]);
    const ledger = [award('demo', 40), award('careers', -20)];
    const due = refreshOf(penalty, ledger) as number;
    expect(due).toBeGreaterThan(NOW);
    expect(scoreOf(penalty, ledger, facts, due).score - 20).toBeGreaterThan(0.5);
  });

  it('bounds the drift by the faster of fading points and fading penalties, not their sum', () => {
    const both = model([
      {
        id: 'visit',
        kind: 'event',
        event: 'Page Viewed',
        points: 100,
        halfLife: '1d',
        where: [],
        repeat: 'every_time',
      },
      {
        id: 'churn',
        kind: 'event',
        event: 'Churn Risk',
        points: -100,
        halfLife: '1d',
        where: [],
        repeat: 'every_time',
      },
    ]);
    const alone = refreshOf(both, [award('visit', 100)]) as number;
    // The two cancel: the score stays 0 (tolerance a point), and each side alone could move it.
    const cancelling = refreshOf(both, [award('visit', 100), award('churn', -100)]) as number;
    expect(cancelling - NOW).toBeGreaterThanOrEqual(60_000);
    const onePoint = (1 / ((100 * Math.LN2) / DAY)) as number;
    expect(Math.abs(cancelling - NOW - onePoint)).toBeLessThan(1000);
    expect(alone - NOW).toBeGreaterThan(cancelling - NOW);
  });

  it('stores the score again when a fit rule relative to now starts or stops holding', () => {
    const trial = model([
      {
        id: 'trial',
        kind: 'fit',
        when: { type: 'trait', path: 'trial_started', op: 'within_last', value: '14d' },
        points: 30,
      },
    ]);
    const started = new Date(NOW - 10 * DAY).toISOString();
    const profile = { traits: { trial_started: started }, accounts: [] };
    const due = nextScoreRefresh(
      [trial],
      { ledger: [], facts: profile, scores: new Map([['engagement', 30]]) },
      NOW,
    ) as number;
    expect(Math.abs(due - (NOW + 4 * DAY))).toBeLessThan(2000);
  });
});
