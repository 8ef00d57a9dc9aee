const SECOND = 1000;
const FIRST_STEP_MS = 60 * SECOND;
const STEP_GROWTH = 1.25;

/**
 * The first moment after `now`, to the second, at which `answer` differs from its answer at `now`,
 * looking no further than `until`; undefined if it does not change by then. For answers that move
 * with decay, which has no closed form once caps and several half-lives mix: the answer is looked at
 * in steps growing from a minute, and the step where it changes is halved down. A step can hide a
 * change that comes and goes within it (positive and negative awards mixed); whoever acts on the
 * moment found looks again then.
 */
export function nextChange(answer: (at: number) => boolean, now: number, until: number): number | undefined {
  if (until <= now) return undefined;
  const answerNow = answer(now);
  let before = now;
  for (let step = FIRST_STEP_MS; before < until; step *= STEP_GROWTH) {
    // Whole milliseconds: the moment becomes a durable timer's (a bigint on PostgreSQL), and steps
    // grow by a quarter, and settling times decay, to fractions.
    let after = Math.ceil(Math.min(until, now + step));
    if (answer(after) === answerNow) {
      before = after;
      continue;
    }
    while (after - before > SECOND) {
      const middle = Math.floor((before + after) / 2);
      if (answer(middle) === answerNow) before = middle;
      else after = middle;
    }
    return after;
  }
  return undefined;
}
