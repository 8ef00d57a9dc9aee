import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastTime = -1;
let lastRandom = new Uint8Array(10);

/**
 * A ULID: 48 bits of milliseconds then 80 random bits, Crockford base32. Ids made in one process are
 * strictly increasing (the random part is incremented within a millisecond), so they sort by creation
 * time and land at the right edge of a B-tree instead of at random pages.
 */
export function ulid(now: number = Date.now()): string {
  if (now <= lastTime) {
    incrementInPlace(lastRandom);
  } else {
    lastTime = now;
    lastRandom = new Uint8Array(randomBytes(10));
  }
  return encodeTime(lastTime) + encodeRandom(lastRandom);
}

/** A prefixed, time-ordered id such as `prf_01JD3…`; the prefix tells a reader what the id names. */
export function newId(prefix: string, now?: number): string {
  return `${prefix}_${ulid(now)}`;
}

/** A random token for secrets (keys, sessions): URL-safe, `bytes` of entropy. */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

function encodeTime(time: number): string {
  let out = '';
  let rest = time;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits = 16 base32 characters, read 5 bits at a time from the big-endian byte string.
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

function incrementInPlace(bytes: Uint8Array): void {
  for (let i = bytes.length - 1; i >= 0; i--) {
    const next = (bytes[i] ?? 0) + 1;
    bytes[i] = next & 0xff;
    if (next <= 0xff) return;
  }
}
