/**
 * Runs asynchronous work one piece at a time, in the order it was asked for: for work in one process
 * that must not interleave at its awaits (a segments batch and the segment timers deciding the same
 * profiles).
 */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work);
    // The next piece waits for this one to settle, whether it succeeded or not.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
