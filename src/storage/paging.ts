import { AppError } from '../core/errors.js';
import { findUnstorableText } from '../core/storable-text.js';
import type { Page } from './storage.js';

/** Cursors are opaque to clients: base64url JSON of the sort key of the last item returned. */
export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<T>(
  cursor: string | undefined,
  isValid: (value: unknown) => value is T,
): T | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!isValid(value) || findUnstorableText(value, '') !== undefined)
    throw new AppError('invalid_input', 'cursor is not one this API returned', { field: 'cursor' });
  return value;
}

/** Turns `limit + 1` fetched rows into a page: the extra row only tells that a next page exists. */
export function toPage<Row, Item>(
  rows: Row[],
  limit: number,
  toItem: (row: Row) => Item,
  keyOf: (row: Row) => unknown,
): Page<Item> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows.at(-1);
  return {
    items: pageRows.map(toItem),
    nextCursor: hasMore && last !== undefined ? encodeCursor(keyOf(last)) : null,
  };
}

export const isString = (value: unknown): value is string => typeof value === 'string';
/** Ids and times: a fraction or 1e300 in a crafted cursor would reach SQL's bigint as an error, not a 400. */
export const isInteger = (value: unknown): value is number => Number.isSafeInteger(value);
export const isIntegerPair = (value: unknown): value is [number, number] =>
  Array.isArray(value) && value.length === 2 && isInteger(value[0]) && isInteger(value[1]);
export const isIntegerStringPair = (value: unknown): value is [number, string] =>
  Array.isArray(value) && value.length === 2 && isInteger(value[0]) && isString(value[1]);
