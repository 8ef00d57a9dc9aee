/**
 * A failed delivery worth another attempt (network, timeout, 5xx, throttling), after `retryAfterMs` if
 * the receiver said when; the dispatcher retries it with back-off. Other failures are final.
 */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryableError';
  }
}
