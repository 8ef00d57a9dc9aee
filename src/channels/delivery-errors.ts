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
