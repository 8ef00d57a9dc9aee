/**
 * A stand-in server's replies held until a test lets them go: a send kept in flight for as long as
 * the test needs, however slow the machine (a fixed delay is not).
 */
export class ReplyHold {
  #until: Promise<void> | undefined;

  /** Holds every reply from now; the function returned lets them all go. */
  hold(): () => void {
    let release = () => {};
    this.#until = new Promise<void>((resolve) => {
      release = () => {
        this.#until = undefined;
        resolve();
      };
    });
    return release;
  }

  /** Resolves once replies are not held (at once when they are not). */
  passed(): Promise<void> {
    return this.#until ?? Promise.resolve();
  }
}
