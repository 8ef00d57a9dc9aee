import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, type ErrorCode, HTTP_STATUS_BY_CODE } from '../core/errors.js';
import { describeIssue, type InputIssue, type IssueDetail } from '../core/input-issues.js';

export interface ErrorBody {
  error: { code: ErrorCode | 'internal'; message: string; field?: string; issue?: IssueDetail };
}

/**
 * One error shape for the whole API: `{ error: { code, message, field?, issue? } }`. An unknown path a browser
 * asks a page for goes to `pageFallback` first (the web console's client-side routes).
 */
export function installErrorHandler(
  app: FastifyInstance,
  options: { pageFallback?: (request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined } = {},
): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = toAppError(error);
    if (known) {
      const body: ErrorBody = { error: { code: known.code, message: known.message } };
      if (known.field) body.error.field = known.field;
      if (known.issue) body.error.issue = known.issue;
      return reply.status(HTTP_STATUS_BY_CODE[known.code]).send(body);
    }
    request.log.error({ err: error }, 'request failed');
    const body: ErrorBody = {
      error: { code: 'internal', message: 'internal error; the server log has the details' },
    };
    return reply.status(500).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const page = options.pageFallback?.(request, reply);
    if (page) return page;
    const body: ErrorBody = {
      error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` },
    };
    return reply.status(404).send(body);
  });
}

/**
 * Fastify's own refusals before any route runs (`frameworkErrors`) in the API's error shape: a path
 * with a malformed percent-escape, a path parameter past the length limit.
 */
export function answerFrameworkError(error: FastifyError, reply: FastifyReply): FastifyReply {
  const refusal = FRAMEWORK_REFUSALS[error.code];
  if (refusal === undefined) {
    reply.log.error({ err: error }, 'request failed before routing');
    const body: ErrorBody = {
      error: { code: 'internal', message: 'internal error; the server log has the details' },
    };
    return reply.status(500).send(body);
  }
  const body: ErrorBody = { error: { code: 'invalid_input', message: refusal.message, field: 'url' } };
  return reply.status(refusal.status).send(body);
}

const FRAMEWORK_REFUSALS: Partial<Record<string, { status: number; message: string }>> = {
  FST_ERR_BAD_URL: { status: 400, message: 'the URL path holds a malformed percent-escape (%XX)' },
  // 414 URI Too Long, as Fastify answers it.
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, message: 'a part of the URL path is too long' },
};

function toAppError(error: FastifyError): AppError | undefined {
  if (error instanceof AppError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const [issue] = error.validation;
    const path =
      issue?.instancePath
        .replace(/^\//, '')
        .split('/')
        .filter((part) => part !== '') ?? [];
    const {
      field: described,
      message,
      detail,
    } = describeIssue(
      issue && {
        path,
        message: issue.message ?? 'is invalid',
        code: issue.keyword,
        ...(issue.params as Omit<InputIssue, 'path' | 'message' | 'code'>),
      },
    );
    const field = described || (error.validationContext ?? 'body');
    return new AppError('invalid_input', `${field}: ${message}`, { field, cause: error, issue: detail });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', 'request body exceeds the size limit for this endpoint', {
        field: 'body',
        cause: error,
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError(
        'invalid_input',
        'this endpoint does not take a body of that Content-Type: send application/json (a static list upload takes text/csv)',
        { field: 'content-type', cause: error },
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid_input', 'request body is empty: send a JSON object', {
        field: 'body',
        cause: error,
      });
    default:
      break;
  }
  if (error.statusCode === 400 && error instanceof SyntaxError) {
    return new AppError('invalid_input', `malformed JSON: ${error.message}`, { field: 'body', cause: error });
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new AppError('invalid_input', error.message, { cause: error });
  }
  return undefined;
}
