import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import type { AccessStore } from '../storage/storage.js';

const WINDOW_MS = 15 * 60_000;
/** Failed log-ins counted per e-mail (guessing one account's password) and per client address (trying many). */
const MAX_PER_EMAIL = 10;
const MAX_PER_CLIENT = 50;

/**
 * Failed log-ins in the last 15 minutes: past the limit a log-in is refused (429) before its password
 * is hashed, so guessing is slow and a flood cannot spend the hashing threads (each attempt costs
 * 128 MiB and a thread of the pool for a while). Counted in the database, so that several API
 * processes hold one line between them and a restart forgets no guess.
 */
export class LoginAttempts {
  readonly #access: AccessStore;
  readonly #clock: Clock;

  constructor(access: AccessStore, clock: Clock) {
    this.#access = access;
    this.#clock = clock;
  }

  /** Refuses a log-in for this e-mail or from this client while either has failed too often. */
  async check(email: string, client: string): Promise<void> {
    const now = this.#clock.now();
    const limits = [
      { key: emailKey(email), max: MAX_PER_EMAIL, of: 'for this e-mail' },
      { key: clientKey(client), max: MAX_PER_CLIENT, of: 'from this address' },
    ];
    const failures = await this.#access.loginFailures(
      limits.map(({ key }) => key),
      now - WINDOW_MS,
    );
    for (const { key, max, of } of limits) {
      const recent = failures.get(key);
      if (!recent || recent.count < max) continue;
      const minutes = Math.max(1, Math.ceil((recent.first + WINDOW_MS - now) / 60_000));
      throw new AppError(
        'rate_limited',
        `too many failed log-ins ${of}: try again in ${minutes} minute${minutes === 1 ? '' : 's'}`,
      );
    }
  }

  async failed(email: string, client: string): Promise<void> {
    const now = this.#clock.now();
    await this.#access.addLoginFailure([emailKey(email), clientKey(client)], now, now - WINDOW_MS);
  }

  /** A log-in that succeeded clears its e-mail's failures (not the client's: it may be guessing others). */
  async succeeded(email: string): Promise<void> {
    await this.#access.clearLoginFailures(emailKey(email));
  }
}

const emailKey = (email: string) => `email:${email}`;
const clientKey = (client: string) => `client:${client}`;
