import type { IssueDetail } from './input-issues.js';
/**
 * The one error type the domain throws for expected failures. The server maps `code` to an HTTP
 * status through `HTTP_STATUS_BY_CODE`; adding a code without a status fails to compile.
 *
 * @example throw new AppError('not_found', `profile ${id} does not exist`)
 */
export type ErrorCode =
  | 'invalid_input'
  | 'payload_too_large'
  | 'unsupported_encoding'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rate_limited'
  | 'unavailable';

export const HTTP_STATUS_BY_CODE = {
  invalid_input: 400,
  // Segment answers 400 for every size limit, and clients treat 400 as "do not retry".
  payload_too_large: 400,
  unsupported_encoding: 415,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
} as const satisfies Record<ErrorCode, number>;

export class AppError extends Error {
  readonly code: ErrorCode;
  /** The request field the problem is about, as a dotted path (`batch[3].userId`). */
  readonly field: string | undefined;
  /** What a standard check found, for a client to word in its own language. */
  readonly issue: IssueDetail | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { field?: string; cause?: unknown; issue?: IssueDetail | undefined } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.field = options.field;
    this.issue = options.issue;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** An error as a failure record keeps it (`TypeError: …`): what was thrown, for whoever mends it. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
