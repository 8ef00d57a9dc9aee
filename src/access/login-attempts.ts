import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import type { AccessStore } from '../storage/storage.js';

const WINDOW_MS = 15 * 60_000;
/**
 * Failed log-ins counted per e-mail (guessing one account's password), per client address (trying
 * many), and — in place of the e-mail's — per browser that has logged in as the user before.
 */
const MAX_PER_EMAIL = 10;
const MAX_PER_CLIENT = 50;
const MAX_PER_DEVICE = 10;

/**
 * Failed log-ins in the last 15 minutes: past the limit a log-in is refused (429) before its password
 * is hashed, so guessing is slow and a flood cannot spend the hashing threads (each attempt costs
 * 128 MiB and a thread of the pool for a while). Each attempt is noted as failed before its password
 * is checked and taken back if right: guesses sent at once are counted as they arrive, not once the
 * first of them has been hashed. Counted in the database, so that several API processes hold one line
 * between them and a restart forgets no guess.
 *
 * A browser that logged in as the user before (its device cookie, see `DeviceCookies`) is counted on
 * its own rather than with the e-mail's failures: someone guessing from elsewhere cannot lock the user
 * out of their own browser, only out of browsers the user has not logged in from.
 */
export class LoginAttempts {
  readonly #access: AccessStore;
  readonly #clock: Clock;

  constructor(access: AccessStore, clock: Clock) {
    this.#access = access;
    this.#clock = clock;
  }

  /**
   * Notes a log-in as failed, and refuses it while its e-mail (or known device) or client has failed
   * too often. The attempt's `succeeded` takes the note back.
   */
  async begin(attempt: { email: string; client: string; device?: string }): Promise<LoginAttempt> {
    const now = this.#clock.now();
    const limits = [
      attempt.device === undefined
        ? { key: emailKey(attempt.email), max: MAX_PER_EMAIL, of: 'for this e-mail' }
        : { key: deviceKey(attempt.device), max: MAX_PER_DEVICE, of: 'from this browser' },
      { key: clientKey(attempt.client), max: MAX_PER_CLIENT, of: 'from this address' },
    ];
    const id = randomUUID();
    const keys = limits.map(({ key }) => key);
    await this.#access.noteLoginAttempt(keys, id, now, now - WINDOW_MS);
    // Counted after our own note is written: of attempts arriving together, each counts all written
    // before it, so no more than the limit get past whatever order they finish in.
    const noted = await this.#access.loginFailures(keys, now - WINDOW_MS);
    for (const { key, max, of } of limits) {
      const recent = noted.get(key);
      if (!recent || recent.count <= max) continue;
      await this.#access.releaseLoginAttempt(id);
      const minutes = Math.max(1, Math.ceil((recent.first + WINDOW_MS - now) / 60_000));
      throw new AppError(
        'rate_limited',
        `too many failed log-ins ${of}: try again in ${minutes} minute${minutes === 1 ? '' : 's'}`,
      );
    }
    return {
      // The e-mail's failures go too (not the client's: it may be guessing others).
      succeeded: async () => {
        await this.#access.releaseLoginAttempt(id);
        await forgetFailedLogIns(this.#access, attempt.email);
      },
      // A storage failure counts no guess.
      abandoned: () => this.#access.releaseLoginAttempt(id),
    };
  }
}

export interface LoginAttempt {
  succeeded(): Promise<void>;
  abandoned(): Promise<void>;
}

/** Clears the e-mail's failed log-ins: after it logs in, or an admin resets its password. */
export async function forgetFailedLogIns(access: AccessStore, email: string): Promise<void> {
  await access.clearLoginFailures(emailKey(email));
}

const emailKey = (email: string) => `email:${email}`;
const clientKey = (client: string) => `client:${client}`;
const deviceKey = (device: string) => `device:${device}`;
