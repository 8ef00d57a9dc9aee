import type { FastifyInstance } from 'fastify';
import { AppError } from '../core/errors.js';
import { findUnstorableText } from '../core/storable-text.js';

/** The admin API, and the SMS provider's webhooks (whose form bodies the handlers read themselves). */
const CHECKED_PATHS = ['/api/', '/v1/sms/'];

/** A JSON body as parsed (not a CSV upload's stream or buffer, which their routes read themselves). */
function isParsedJson(body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false;
  return Array.isArray(body) || Object.getPrototypeOf(body) === Object.prototype;
}

/**
 * Refuses, naming the field, an admin API call carrying text no database column takes (a NUL, half a
 * surrogate pair) in its path, query or JSON body: PostgreSQL would refuse it with a 500 halfway
 * through, and SQLite would keep what it cannot give back. So is a body nesting deeper than anything
 * Mops reads (before a schema's recursion meets it), or holding a number JSON cannot (stored as null,
 * unlike what was previewed). So are the ids in an SMS provider's webhook URL, looked up before its
 * signature can be checked. Ingest checks its events itself.
 */
export function refuseUnstorableInput(server: FastifyInstance): void {
  server.addHook('preValidation', async (request) => {
    if (!CHECKED_PATHS.some((prefix) => request.url.startsWith(prefix))) return;
    const found =
      findUnstorableText(request.params, '') ??
      findUnstorableText(request.query, '') ??
      (isParsedJson(request.body) ? findUnstorableText(request.body, '', { numbers: 'finite' }) : undefined);
    if (found === undefined) return;
    // Named as the schemas name fields: `rule.all.1.path`, not `rule.all[1].path`.
    const field = found.path.replace(/\[(\d+)\]/g, '.$1') || 'body';
    throw new AppError('invalid_input', `${field} ${found.problem}`, { field });
  });
}
