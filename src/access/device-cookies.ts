import { randomBytes } from 'node:crypto';
import { SignedTokens } from '../core/signed-tokens.js';

export const DEVICE_COOKIE = 'mops_device';
export const DEVICE_COOKIE_TTL_MS = 365 * 24 * 60 * 60_000;

interface DevicePayload {
  /** the e-mail the browser logged in as */
  e: string;
  /** the device's id: its failed log-ins are counted under it */
  d: string;
}

/**
 * A signed cookie given to a browser that logs in, naming the user: its later log-ins as that user
 * are counted apart from the e-mail's failures (OWASP's "device cookies"), so that guesses from
 * elsewhere cannot lock the user out of a browser they have used.
 */
export class DeviceCookies {
  readonly #tokens: SignedTokens<'device'>;

  constructor(secret: string) {
    this.#tokens = new SignedTokens(secret, 'mops-devices', ['device']);
  }

  issue(email: string): string {
    return this.#tokens.sign('device', { e: email, d: randomBytes(12).toString('base64url') });
  }

  /** The device's id, when `cookie` is ours and was given to a browser logging in as `email`. */
  deviceOf(cookie: string | undefined, email: string): string | undefined {
    if (!cookie) return undefined;
    const payload = this.#tokens.verify<Partial<DevicePayload>>('device', cookie);
    return payload?.e === email && typeof payload.d === 'string' ? payload.d : undefined;
  }
}
