import { isDeepStrictEqual } from 'node:util';
import { numberValue } from './comparison-values.js';
import { isoDateValue } from './iso-date.js';
import type { Comparison } from './journey-definition.js';

/**
 * Whether a value (a trait, an event property) holds a comparison with a rule's value: the one answer
 * segment rules (live, preview, backfill), score and lifecycle rules and journey branches all share.
 * docs/segments.md describes it.
 *
 * @example compare('order-42-x', 'contains', 42) // true
 */
export function compare(actual: unknown, op: Comparison, expected: unknown): boolean {
  switch (op) {
    case 'exists':
      return actual !== undefined && actual !== null;
    case 'not_exists':
      return actual === undefined || actual === null;
    case 'eq':
      return isEqual(actual, expected);
    case 'neq':
      return !isEqual(actual, expected);
    case 'in':
      return Array.isArray(expected) && expected.some((candidate) => isEqual(actual, candidate));
    case 'contains':
      // A number asked of text looks for its digits: `contains 42` finds "order-42-x" (a form or the
      // console sends a bare 42 as a number).
      if (typeof actual === 'string') {
        const part = typeof expected === 'number' && Number.isFinite(expected) ? String(expected) : expected;
        return typeof part === 'string' && actual.toLowerCase().includes(part.toLowerCase());
      }
      return Array.isArray(actual) && actual.some((item) => isEqual(item, expected));
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const order = ordering(actual, expected);
      if (order === undefined) return false;
      return op === 'gt' ? order > 0 : op === 'gte' ? order >= 0 : op === 'lt' ? order < 0 : order <= 0;
    }
  }
}

/** Numbers compare as numbers (numeric strings too, as CSV imports and forms send them), dates as dates. */
function ordering(actual: unknown, expected: unknown): number | undefined {
  const a = numberValue(actual);
  const b = numberValue(expected);
  if (a !== undefined && b !== undefined) return a - b;
  const da = isoDateValue(actual);
  const db = isoDateValue(expected);
  if (da !== undefined && db !== undefined) return da - db;
  return undefined;
}

/**
 * Text compares whatever its case, as `contains` does: a CSV's "us" is the form's "US" (HubSpot's "is
 * any of" does the same), and a rule on `country in [US, GB]` would otherwise miss it in silence.
 */
function isEqual(actual: unknown, expected: unknown): boolean {
  if (actual === expected) return true;
  if (typeof actual === 'string' && typeof expected === 'string')
    return actual.length === expected.length && actual.toLowerCase() === expected.toLowerCase();
  const a = numberValue(actual);
  const b = numberValue(expected);
  if (a !== undefined && b !== undefined) return a === b;
  // A yes/no asked of text (or text of a yes/no): a CSV's "TRUE" or a form's "False" is the boolean.
  if (typeof actual === 'boolean' || typeof expected === 'boolean')
    return booleanValue(actual) !== undefined && booleanValue(actual) === booleanValue(expected);
  if (typeof actual === 'object' && typeof expected === 'object' && actual !== null && expected !== null) {
    return isDeepStrictEqual(actual, expected); // whatever the keys' order (jsonb reorders them)
  }
  return false;
}

/** A boolean, or text reading true or false whatever its case; undefined for anything else. */
function booleanValue(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  return text === 'true' ? true : text === 'false' ? false : undefined;
}
