/** The first wait after a failure: a failure the work itself causes fails the same way at once. */
const FIRST_RETRY_MS = 50;
/** The longest wait: a database that went away is looked for again every second until it is back. */
const LONGEST_RETRY_MS = 1000;

/**
 * How long a background loop waits before trying failed work again: short at first, doubling with
 * each failure in a row up to a second, and short again once work goes through.
 *
 * Work that fails because of what it holds (one bad event, one bad timer) fails at every attempt, so
 * waiting longer only delays setting it aside while the work behind it waits; a passing failure (a
 * database restarting) gets a retry a second for as long as it lasts.
 */
export class RetryDelay {
  #failuresInARow = 0;

  /** The wait before the next attempt, counting this failure. */
  next(): number {
    const delay = Math.min(FIRST_RETRY_MS * 2 ** this.#failuresInARow, LONGEST_RETRY_MS);
    this.#failuresInARow++;
    return delay;
  }

  /** Work went through: the next failure waits briefly again. */
  reset(): void {
    this.#failuresInARow = 0;
  }
}
