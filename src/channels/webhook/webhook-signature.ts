import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'mops-signature';

/**
 * The `Mops-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
 * destination's secret. The time is signed with the body so that a captured request cannot be
 * replayed later than the receiver's tolerance.
 */
export function signatureHeader(secret: string, body: string, atMs: number): string {
  const timestamp = Math.floor(atMs / 1000);
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;
}

/**
 * What a receiver does (documented in docs/journeys.md): recompute the HMAC, compare in constant
 * time, and refuse a timestamp older than the tolerance.
 */
export function verifySignature(input: {
  secret: string;
  body: string;
  header: string | undefined;
  nowMs: number;
  toleranceS?: number;
}): boolean {
  const parts = new Map(
    (input.header ?? '').split(',').map((part) => {
      const [key = '', value = ''] = part.trim().split('=', 2);
      return [key, value] as const;
    }),
  );
  const timestamp = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isInteger(timestamp) || !/^[0-9a-f]{64}$/.test(given)) return false;
  if (Math.abs(input.nowMs / 1000 - timestamp) > (input.toleranceS ?? 300)) return false;
  return timingSafeEqual(
    Buffer.from(given, 'hex'),
    Buffer.from(hmac(input.secret, timestamp, input.body), 'hex'),
  );
}

function hmac(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}
