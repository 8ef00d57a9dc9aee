/**
 * The statistics of conversion rates: how sure a rate is, and whether two differ by more than chance.
 * Pure; `split-results.ts` applies them to a journey's splits.
 */

/** The normal distribution's 97.5th percentile: two-sided 95%. */
const Z_95 = 1.959963984540054;

/**
 * The 95% Wilson score interval of `successes` in `trials`: unlike the textbook p ± 1.96·SE it stays
 * within 0–1 and is honest for small samples and rates near 0 or 1 (0 of 20 is not "exactly 0%").
 */
export function wilsonInterval(successes: number, trials: number): [number, number] | null {
  if (trials <= 0) return null;
  const p = successes / trials;
  const z2 = Z_95 * Z_95;
  const centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const halfWidth =
    (Z_95 / (1 + z2 / trials)) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return [Math.max(0, centre - halfWidth), Math.min(1, centre + halfWidth)];
}

/**
 * The two-sided p-value of the pooled two-proportion z-test: how often rates this far apart would
 * come up by chance alone if both groups converted alike. Only sound when each group has enough of
 * both outcomes (see `hasEnoughForTest`).
 */
export function twoProportionPValue(
  a: { successes: number; trials: number },
  b: { successes: number; trials: number },
): number {
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials));
  if (se === 0) return 1;
  const z = (a.successes / a.trials - b.successes / b.trials) / se;
  return Math.min(1, 2 * normalUpperTail(Math.abs(z)));
}

/**
 * At least this many conversions and this many non-conversions in each group before the z-test is
 * trusted (the usual success–failure condition): below it the normal approximation misleads.
 */
export const MIN_OUTCOMES_PER_GROUP = 10;

export function hasEnoughForTest(group: { successes: number; trials: number }): boolean {
  return (
    group.successes >= MIN_OUTCOMES_PER_GROUP && group.trials - group.successes >= MIN_OUTCOMES_PER_GROUP
  );
}

/** P(Z > z) for a standard normal Z. */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * The complementary error function, by the Chebyshev fit of Numerical Recipes (`erfcc`): relative
 * error under 1.2e-7 everywhere, the far tail included, where small p-values live.
 */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const polynomial = ERFC_FIT.reduceRight((sum, coefficient) => coefficient + t * sum, 0);
  const value = t * Math.exp(-z * z + polynomial);
  return x >= 0 ? value : 2 - value;
}

const ERFC_FIT = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
  -0.82215223, 0.17087277,
];
