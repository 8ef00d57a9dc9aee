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

/**
 * P(X > x) for X chi-square distributed with `degrees` degrees of freedom: the p-value of a
 * goodness-of-fit test (`sampleRatioPValue`).
 */
export function chiSquareUpperTail(x: number, degrees: number): number {
  if (x <= 0) return 1;
  return regularizedUpperGamma(degrees / 2, x / 2);
}

/**
 * Whether contacts were split in the shares the weights ask for: the p-value of Pearson's
 * chi-square test of the counts against those shares. A tiny one (a sample ratio mismatch) means the
 * split did not assign as designed — weights changed while it ran, or some contacts enter one arm more
 * often — and no comparison of its arms can be trusted, however significant.
 */
export function sampleRatioPValue(counts: readonly number[], shares: readonly number[]): number {
  const total = counts.reduce((sum, count) => sum + count, 0);
  const statistic = counts.reduce((sum, count, index) => {
    const expected = total * (shares[index] ?? 0);
    return expected > 0 ? sum + (count - expected) ** 2 / expected : sum;
  }, 0);
  return chiSquareUpperTail(statistic, counts.length - 1);
}

/** Q(a, x) = Γ(a, x) / Γ(a), by its series below a + 1 and its continued fraction above (Numerical Recipes). */
function regularizedUpperGamma(a: number, x: number): number {
  const logPrefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 500 && Math.abs(term) > Math.abs(sum) * 1e-15; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return Math.max(0, 1 - sum * Math.exp(logPrefix));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let fraction = d;
  for (let n = 1; n < 500; n++) {
    const an = -n * (n - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    fraction *= step;
    if (Math.abs(step - 1) < 1e-15) break;
  }
  return Math.min(1, Math.exp(logPrefix) * fraction);
}

/** ln Γ(x) for x > 0, by Lanczos's approximation (g = 7, nine terms): 15 significant digits. */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const shifted = x - 1;
  let sum = LANCZOS[0] as number;
  for (let index = 1; index < LANCZOS.length; index++) sum += (LANCZOS[index] as number) / (shifted + index);
  const t = shifted + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
