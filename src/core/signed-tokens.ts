import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Tokens a client carries and gives back: the payload in base64url, then an HMAC-SHA256 over it with a
 * key derived from MOPS_SECRET per purpose, so a token made for one purpose cannot pass for another.
 * A tampered or unsigned token is refused.
 */
export class SignedTokens<Purpose extends string> {
  readonly #keys: Map<Purpose, Buffer>;

  /** `family` and each purpose name the derived keys: changing either changes every token's signature. */
  constructor(secret: string, family: string, purposes: readonly Purpose[]) {
    this.#keys = new Map(
      purposes.map((purpose) => [purpose, Buffer.from(hkdfSync('sha256', secret, family, purpose, 32))]),
    );
  }

  sign(purpose: Purpose, payload: object): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.#mac(purpose, body)}`;
  }

  /** The payload, or undefined for a token that is malformed or not signed by us for this purpose. */
  verify<T extends object>(purpose: Purpose, token: string): T | undefined {
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const body = token.slice(0, dot);
    // The signature's text, not what it decodes to: base64url decoding passes over stray characters
    // and padding, so one token could be written many ways.
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

  #mac(purpose: Purpose, body: string): string {
    const key = this.#keys.get(purpose);
    if (!key) throw new Error(`no key for tokens of purpose ${purpose}`);
    return createHmac('sha256', key).update(body).digest('base64url');
  }
}
