import { describe, expect, it } from 'vitest';
import type { JourneyDefinition } from '../core/journey-definition.js';
import { judgeSplits } from './split-results.js';

const definition = (options: { holdout?: boolean; goal?: boolean; arms?: string[] } = {}) =>
  ({
    name: 'Promo',
    entry: { trigger: { type: 'manual' }, reentry: { policy: 'once' }, allowConcurrent: false },
    ...(options.goal === false ? {} : { goal: { event: 'Bought', conditions: [] } }),
    start: 'split',
    steps: [
      {
        id: 'split',
        type: 'split',
        arms: (options.arms ?? ['a', 'b']).map((name) => ({ name, weight: 1, next: 'end' })),
        ...(options.holdout ? { holdout: { weight: 1 } } : {}),
      },
      { id: 'end', type: 'exit' },
    ],
  }) as JourneyDefinition;

const tally = (
  arm: string | null,
  entered: number,
  converted: number,
  pending = 0,
  pendingConverted = 0,
) => ({
  stepId: 'split',
  arm,
  entered,
  converted,
  pending,
  pendingConverted,
});

describe('split results', () => {
  it('compares each arm with the holdout, corrected for comparing two', () => {
    const [split] = judgeSplits(definition({ holdout: true }), [
      tally('a', 200, 60),
      tally('b', 200, 44),
      tally(null, 200, 40),
    ]);
    expect(split?.groups.map((group) => [group.arm, group.isControl, group.rate])).toEqual([
      ['a', false, 0.3],
      ['b', false, 0.22],
      [null, true, 0.2],
    ]);
    const [a, b] = split?.groups ?? [];
    // Alone, 30% against 20% of 200 is p = 0.021; one of two comparisons, it counts twice: 0.042.
    expect(a?.comparison?.pValue).toBeCloseTo(0.041843, 5);
    expect(a?.comparison).toMatchObject({ verdict: 'higher' });
    expect(a?.comparison?.difference).toBeCloseTo(0.1, 10);
    expect(b?.comparison).toMatchObject({ verdict: 'no_clear_difference' });
  });

  it('calls a difference that only one comparison of several would show no clear difference', () => {
    // p = 0.021 alone: one of four comparisons with the control, it is 0.084, not below 0.05.
    const [split] = judgeSplits(definition({ arms: ['a', 'b', 'c', 'd', 'e'] }), [
      tally('a', 200, 40),
      tally('b', 200, 60),
      tally('c', 200, 40),
      tally('d', 200, 40),
      tally('e', 200, 40),
    ]);
    expect(split?.groups[0]?.isControl).toBe(true);
    expect(split?.groups[1]?.comparison).toMatchObject({ verdict: 'no_clear_difference' });
    expect(split?.groups[1]?.comparison?.pValue).toBeCloseTo(0.083685, 5);
  });

  it('gives no p-value while a group has fewer than ten of either outcome, however large the gap', () => {
    const [split] = judgeSplits(definition({ holdout: true }), [
      tally('a', 30, 9),
      tally('b', 400, 100),
      tally(null, 30, 0),
    ]);
    expect(split?.groups.map((group) => group.comparison?.verdict)).toEqual([
      'too_few',
      'too_few',
      undefined,
    ]);
    expect(split?.groups[0]?.comparison?.pValue).toBeNull();
    expect(split?.groups[0]?.comparison?.difference).toBeCloseTo(0.3, 10);
  });

  it('rates only contacts whose goal window has closed, those who converted early in an open one too', () => {
    // 30 converted so far, 20 of them among the 50 still within the window: counting those 20 but
    // not the 30 who may yet convert would rate it 30 of 80 (37.5%) instead of 10 of 50.
    const [split] = judgeSplits(definition(), [tally('a', 100, 30, 50, 20), tally('b', 100, 10)]);
    expect(split?.groups[0]).toMatchObject({
      entered: 100,
      converted: 30,
      pending: 50,
      decided: 50,
      decidedConverted: 10,
      rate: 0.2,
    });
    expect(split?.groups[1]).toMatchObject({ decided: 100, decidedConverted: 10, rate: 0.1 });
    // Enough outcomes known on both sides: compared on the closed windows alone.
    expect(split?.groups[1]?.comparison).toMatchObject({ verdict: 'no_clear_difference' });
    // Too few known in the control (a), whose windows are still open: too early, not too few.
    const [young] = judgeSplits(definition(), [tally('a', 100, 25, 50, 20), tally('b', 100, 10)]);
    expect(young?.groups[1]?.comparison).toMatchObject({ verdict: 'too_early', pValue: null });
  });

  it('counts the arms of a journey without a goal, and judges nothing', () => {
    const [split] = judgeSplits(definition({ goal: false }), [tally('a', 5, 0)]);
    expect(split?.hasGoal).toBe(false);
    expect(split?.groups).toEqual([
      expect.objectContaining({ arm: 'a', entered: 5, rate: null, interval: null, comparison: null }),
      expect.objectContaining({ arm: 'b', entered: 0, rate: null, comparison: null }),
    ]);
  });

  it('keeps the arms an earlier version had, after the current ones', () => {
    const [split] = judgeSplits(definition({ arms: ['b'] }), [tally('a', 10, 1), tally('b', 10, 2)]);
    expect(split?.groups.map((group) => group.arm)).toEqual(['b', 'a']);
  });

  it('flags a split whose sizes are not the shares its weights ask for, once there are enough contacts', () => {
    const judged = (tallies: ReturnType<typeof tally>[], arms?: string[]) =>
      judgeSplits(definition({ holdout: true, ...(arms ? { arms } : {}) }), tallies)[0]?.sampleRatio;
    // One third each, as the weights ask (within chance).
    expect(judged([tally('a', 340, 30), tally('b', 330, 30), tally(null, 330, 30)])).toEqual({
      pValue: expect.any(Number),
      isMismatch: false,
    });
    // Half the contacts in one arm of three equal ones: not split as designed.
    const skewed = judged([tally('a', 500, 30), tally('b', 250, 30), tally(null, 250, 30)]);
    expect(skewed?.isMismatch).toBe(true);
    expect(skewed?.pValue).toBeLessThan(1e-10);
    // Too few to tell: fewer than five expected in a group.
    expect(judged([tally('a', 8, 1), tally('b', 3, 1), tally(null, 2, 0)])).toBeNull();
    // An arm the current definition no longer has (renamed since): its share is unknown.
    expect(judged([tally('a', 300, 30), tally('old', 300, 30), tally(null, 300, 30)], ['a', 'b'])).toBeNull();
  });
});
