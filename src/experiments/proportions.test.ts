import { describe, expect, it } from 'vitest';
import {
  chiSquareUpperTail,
  hasEnoughForTest,
  normalUpperTail,
  sampleRatioPValue,
  twoProportionPValue,
  wilsonInterval,
} from './proportions.js';

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

  it('gives the chi-square tail at its tabled quantiles, and in closed form where there is one', () => {
    // The 95th and 99.9th percentiles of chi-square with 1, 2 and 3 degrees of freedom.
    expect(chiSquareUpperTail(3.841458820694124, 1)).toBeCloseTo(0.05, 10);
    expect(chiSquareUpperTail(5.991464547107979, 2)).toBeCloseTo(0.05, 10);
    expect(chiSquareUpperTail(7.814727903251178, 3)).toBeCloseTo(0.05, 10);
    expect(chiSquareUpperTail(10.827566170662733, 1) / 0.001).toBeCloseTo(1, 8);
    // Two degrees of freedom: exp(−x/2); four: exp(−x/2)(1 + x/2).
    expect(chiSquareUpperTail(20, 2) / Math.exp(-10)).toBeCloseTo(1, 9);
    expect(chiSquareUpperTail(0.5, 4)).toBeCloseTo(Math.exp(-0.25) * 1.25, 12);
    expect(chiSquareUpperTail(0, 3)).toBe(1);
  });

  it('tests a split’s sizes against its weights’ shares', () => {
    expect(sampleRatioPValue([1000, 1000, 1000], [1 / 3, 1 / 3, 1 / 3])).toBeCloseTo(1, 12);
    // 100 off in each outer group of 1,000 expected: chi-square 20 with two degrees of freedom.
    expect(sampleRatioPValue([1100, 1000, 900], [1 / 3, 1 / 3, 1 / 3]) / Math.exp(-10)).toBeCloseTo(1, 9);
    // 9:1 weights met as asked.
    expect(sampleRatioPValue([900, 100], [0.9, 0.1])).toBeCloseTo(1, 12);
  });
});
