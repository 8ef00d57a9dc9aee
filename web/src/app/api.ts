import i18next from 'i18next';
import { type IssueDetail, wordIssue } from './issue-wording.js';

/** An error the API answered with: `{ error: { code, message, field? } }`, or a network failure. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The request field the server blamed, as a dotted path (`definition.steps.2.template`). */
  readonly field: string | undefined;
  /** Whether the message is the console's own wording of a refusal the server named (a wrong password). */
  readonly isWorded: boolean;

  constructor(status: number, code: string, message: string, field?: string, isWorded = false) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.isWorded = isWorded;
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; field?: string; issue?: IssueDetail };
}

/**
 * The server's message, or, when it says what was wrong in a way the console can word, that wording
 * in the console's language, after the field as the server puts it (`rule.0.atLeast: Al massimo 1.000`).
 */
function refusalMessage(failure: NonNullable<ErrorBody['error']>): string | undefined {
  const worded =
    failure.issue && i18next.isInitialized
      ? wordIssue(failure.issue, i18next.t.bind(i18next), i18next.language)
      : undefined;
  if (worded === undefined) return failure.message;
  // A refusal of Mops's own says all there is; a value's check needs the field it is about.
  return failure.field && failure.issue?.code !== 'refused' ? `${failure.field}: ${worded}` : worded;
}

/** Calls the Mops admin API with the session cookie; JSON in, JSON out. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, 'network', error instanceof Error ? error.message : String(error));
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  if (!response.ok) throw refusalOf(response, parsed);
  return parsed as T;
}

/** The error a response that is not ok answered with (its JSON body `parsed`), worded as the console can. */
export function refusalOf(response: Pick<Response, 'status' | 'statusText'>, parsed: unknown): ApiError {
  const failure = (parsed as ErrorBody | undefined)?.error;
  const worded = failure && refusalMessage(failure);
  return new ApiError(
    response.status,
    failure?.code ?? 'http',
    worded ?? `${response.status} ${response.statusText}`,
    failure?.field,
    worded !== undefined && worded !== failure?.message,
  );
}

/** `/api/workspaces/{id}` + rest. */
export const workspacePath = (workspaceId: string, rest: string) =>
  `/api/workspaces/${encodeURIComponent(workspaceId)}${rest}`;
