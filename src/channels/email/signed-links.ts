import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export type LinkPurpose = 'open' | 'click' | 'unsubscribe';

/**
 * Tokens for tracking and unsubscribe links: the payload in base64url, then an HMAC-SHA256 over it
 * with a key derived from MOPS_SECRET per purpose, so a click token cannot pass for an unsubscribe
 * one. A tampered or unsigned token is refused: no open redirects, no unsubscribing others.
 */
export class LinkSigner {
  readonly #keys: Record<LinkPurpose, Buffer>;

  constructor(secret: string) {
    const derive = (purpose: LinkPurpose) =>
      Buffer.from(hkdfSync('sha256', secret, 'mops-links', purpose, 32));
    this.#keys = { open: derive('open'), click: derive('click'), unsubscribe: derive('unsubscribe') };
  }

  sign(purpose: LinkPurpose, payload: object): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.#mac(purpose, body)}`;
  }

  /** The payload, or undefined for a token that is malformed or not signed by us for this purpose. */
  verify<T extends object>(purpose: LinkPurpose, token: string): T | undefined {
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const body = token.slice(0, dot);
    // The signature's text, not what it decodes to: base64url decoding passes over stray characters
    // and padding, so one link could be written many ways.
    const given = Buffer.from(token.slice(dot + 1), 'utf8');
    const expected = Buffer.from(this.#mac(purpose, body), 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
      return payload !== null && typeof payload === 'object' ? (payload as T) : undefined;
    } catch {
      return undefined;
    }
  }

  #mac(purpose: LinkPurpose, body: string): string {
    return createHmac('sha256', this.#keys[purpose]).update(body).digest('base64url');
  }
}

export interface ClickPayload {
  /** message id */
  m: string;
  /** target URL */
  u: string;
}

export interface MessagePayload {
  m: string;
}
