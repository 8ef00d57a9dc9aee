import { describe, expect, it } from 'vitest';
import { hasEnoughForTest, normalUpperTail, twoProportionPValue, wilsonInterval } from './proportions.js';

describe('conversion statistics', () => {
  it('gives the normal tail to seven significant digits, far out too', () => {
    // Reference values: 0.5·erfc(z/√2), computed to double precision.
    expect(normalUpperTail(1.959963984540054)).toBeCloseTo(0.025, 8);
    expect(normalUpperTail(3) / 0.0013498980316301).toBeCloseTo(1, 6);
    expect(normalUpperTail(5) / 2.866515718791946e-7).toBeCloseTo(1, 6);
    expect(normalUpperTail(-1) + normalUpperTail(1)).toBeCloseTo(1, 9);
  });

  it('gives the Wilson interval: none of 20 is not "exactly 0%"', () => {
    const none = wilsonInterval(0, 20);
    expect(none?.[0]).toBe(0);
    expect(none?.[1]).toBeCloseTo(0.1611, 4);
    const tenth = wilsonInterval(10, 100);
    expect(tenth?.[0]).toBeCloseTo(0.0552, 4);
    expect(tenth?.[1]).toBeCloseTo(0.1744, 4);
    expect(wilsonInterval(3, 0)).toBeNull();
  });

  it('tests two rates with the pooled z-test', () => {
    // 30% of 200 against 20% of 200: z = 2.309, p = 0.0209.
    expect(twoProportionPValue({ successes: 60, trials: 200 }, { successes: 40, trials: 200 })).toBeCloseTo(
      0.020921,
      5,
    );
    expect(twoProportionPValue({ successes: 0, trials: 50 }, { successes: 0, trials: 50 })).toBe(1);
  });

  it('trusts the test only with ten of each outcome in a group', () => {
    expect(hasEnoughForTest({ successes: 10, trials: 20 })).toBe(true);
    expect(hasEnoughForTest({ successes: 9, trials: 1000 })).toBe(false);
    expect(hasEnoughForTest({ successes: 995, trials: 1000 })).toBe(false);
  });
});
