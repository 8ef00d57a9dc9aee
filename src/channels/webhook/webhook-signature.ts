import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'mops-signature';

/** What a call's signature covers besides its time. */
export interface SignedCall {
  /** `POST`, `PUT` or `PATCH`. */
  method: string;
  /** The path and query called (`/hooks/leads?source=mops`): one destination serves many steps' paths. */
  target: string;
  /** The call's `Idempotency-Key`: signed, so that a captured call cannot be replayed under a new one. */
  idempotencyKey: string;
  body: string;
}

/**
 * The `Mops-Signature` header: `t=<unix seconds>,v1=<hex>,v2=<hex>,v3=<hex>`, each an HMAC-SHA256 with
 * the destination's secret. `v3` covers `"<t>\n<method>\n<path and query>\n<Idempotency-Key>\n<body>"`:
 * the time, so that a captured call cannot be replayed after the receiver's tolerance; the method and
 * path, so that one sent to `/hooks/leads` cannot be replayed to `/hooks/unsubscribe` of the same
 * destination (and secret); the key, so that one replayed sooner is one the receiver has seen (none of
 * the first four holds a line break, so the parts cannot be re-split). `v2` leaves out the method and
 * path, `v1` covers `"<t>.<body>"` only: receivers written before them check those.
 */
export function signatureHeader(secret: string, call: SignedCall, atMs: number): string {
  const timestamp = Math.floor(atMs / 1000);
  return [
    `t=${timestamp}`,
    `v1=${hmacV1(secret, timestamp, call.body)}`,
    `v2=${hmacV2(secret, timestamp, call)}`,
    `v3=${hmacV3(secret, timestamp, call)}`,
  ].join(',');
}

/**
 * What a receiver does (documented in docs/journeys.md): recompute the `v3` HMAC over what it was
 * called with, compare in constant time, and refuse a timestamp older than the tolerance.
 */
export function verifySignature(
  input: SignedCall & {
    secret: string;
    header: string | undefined;
    nowMs: number;
    toleranceS?: number;
  },
): boolean {
  const parts = new Map(
    (input.header ?? '').split(',').map((part) => {
      const [key = '', value = ''] = part.trim().split('=', 2);
      return [key, value] as const;
    }),
  );
  const timestamp = Number(parts.get('t'));
  const given = parts.get('v3') ?? '';
  if (!Number.isInteger(timestamp) || !/^[0-9a-f]{64}$/.test(given)) return false;
  if (Math.abs(input.nowMs / 1000 - timestamp) > (input.toleranceS ?? 300)) return false;
  return timingSafeEqual(
    Buffer.from(given, 'hex'),
    Buffer.from(hmacV3(input.secret, timestamp, input), 'hex'),
  );
}

function hmacV3(secret: string, timestamp: number, call: SignedCall): string {
  return createHmac('sha256', secret)
    .update(`${timestamp}\n${call.method}\n${call.target}\n${call.idempotencyKey}\n${call.body}`)
    .digest('hex');
}

function hmacV2(secret: string, timestamp: number, call: SignedCall): string {
  return createHmac('sha256', secret)
    .update(`${timestamp}\n${call.idempotencyKey}\n${call.body}`)
    .digest('hex');
}

function hmacV1(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}
