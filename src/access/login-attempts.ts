import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';

const WINDOW_MS = 15 * 60_000;
/** Failed log-ins counted per e-mail (guessing one account's password) and per client address (trying many). */
const MAX_PER_EMAIL = 10;
const MAX_PER_CLIENT = 50;
/** Beyond this many keys the oldest are forgotten, so a flood of made-up e-mails cannot fill memory. */
const MAX_KEYS = 100_000;

/**
 * Failed log-ins in the last 15 minutes, in this process's memory: past the limit a log-in is refused
 * (429) before its password is hashed, so guessing is slow and a flood cannot spend the hashing
 * threads (each attempt costs 128 MiB and a thread of the pool for a while). Several API processes
 * count apart: each holds the line on its own.
 */
export class LoginAttempts {
  readonly #clock: Clock;
  readonly #failures = new Map<string, number[]>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Refuses a log-in for this e-mail or from this client while either has failed too often. */
  check(email: string, client: string): void {
    const now = this.#clock.now();
    for (const [key, max] of [
      [`email:${email}`, MAX_PER_EMAIL],
      [`client:${client}`, MAX_PER_CLIENT],
    ] as const) {
      const recent = this.#recent(key, now);
      if (recent.length >= max) {
        const minutes = Math.ceil(((recent[0] as number) + WINDOW_MS - now) / 60_000);
        throw new AppError(
          'rate_limited',
          `too many failed log-ins ${key.startsWith('email:') ? 'for this e-mail' : 'from this address'}: try again in ${minutes} minute${minutes === 1 ? '' : 's'}`,
        );
      }
    }
  }

  failed(email: string, client: string): void {
    const now = this.#clock.now();
    for (const key of [`email:${email}`, `client:${client}`]) {
      if (!this.#failures.has(key) && this.#failures.size >= MAX_KEYS) {
        const oldest = this.#failures.keys().next().value;
        if (oldest !== undefined) this.#failures.delete(oldest);
      }
      this.#failures.set(key, [...this.#recent(key, now), now]);
    }
  }

  /** A log-in that succeeded clears its e-mail's failures (not the client's: it may be guessing others). */
  succeeded(email: string): void {
    this.#failures.delete(`email:${email}`);
  }

  #recent(key: string, now: number): number[] {
    const times = (this.#failures.get(key) ?? []).filter((at) => at > now - WINDOW_MS);
    if (times.length === 0) this.#failures.delete(key);
    else this.#failures.set(key, times);
    return times;
  }
}
