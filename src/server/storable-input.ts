import type { FastifyInstance } from 'fastify';
import { AppError } from '../core/errors.js';
import { unstorableAt } from '../core/storable-text.js';

/**
 * Refuses, naming the field, an admin API call carrying text no database column takes (a NUL, half a
 * surrogate pair) in its path, query or JSON body: PostgreSQL would refuse it with a 500 halfway
 * through, and SQLite would keep what it cannot give back. Ingest checks its events itself.
 */
/** A JSON body as parsed (not a CSV upload's stream or buffer, which their routes read themselves). */
function isParsedJson(body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false;
  return Array.isArray(body) || Object.getPrototypeOf(body) === Object.prototype;
}

export function refuseUnstorableInput(server: FastifyInstance): void {
  server.addHook('preValidation', async (request) => {
    if (!request.url.startsWith('/api/')) return;
    const field =
      unstorableAt(request.params, '') ??
      unstorableAt(request.query, '') ??
      (isParsedJson(request.body) ? unstorableAt(request.body, '') : undefined);
    if (field === undefined) return;
    throw new AppError(
      'invalid_input',
      `${field || 'body'}: holds a NUL character or half of a surrogate pair, which cannot be stored`,
      { field: field || 'body' },
    );
  });
}
