/**
 * A failed delivery worth another attempt (network, timeout, 5xx, throttling), after `retryAfterMs` if
 * the receiver said when; the dispatcher retries it with back-off. Other failures are final.
 */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    /** Where the attempt went, for the message log once the retries run out. */
    readonly toAddress?: string,
  ) {
    super(message);
    this.name = 'RetryableError';
  }
}

/**
 * An error's message as a failed attempt's reason. An AggregateError has none of its own when each
 * of several tries failed — a name with several addresses, every one refused (Node tries them in
 * turn) — so its reason lists each try's: `connect ECONNREFUSED 127.0.0.1:1; connect ECONNREFUSED ::1:1`.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    const each = error.errors.map(errorMessage).join('; ');
    return error.message ? `${error.message}: ${each}` : each;
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** How the reason of a message waiting for another attempt begins; what follows is the last attempt's error. */
export const RETRYING_PREFIX = 'retrying: ';

const MAX_RETRY_AFTER_MS = 3_600_000;

/** A receiver's `Retry-After` (seconds, or an HTTP date), at most an hour; undefined when it said nothing usable. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const ms = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}
