import { isDeepStrictEqual } from 'node:util';
import { numberValue, orderOfDates } from './comparison-values.js';
import type { Comparison } from './journey-definition.js';

/**
 * Whether a value (a trait, an event property) holds a comparison with a rule's value: the one answer
 * segment rules (live, preview, backfill), score and lifecycle rules and journey branches all share.
 * docs/segments.md describes it.
 *
 * @example compare(['vip', 'beta'], 'in', ['vip', 'gold']) // true: a list holds when one of its elements does
 */
export function compare(actual: unknown, op: Comparison, expected: unknown): boolean {
  switch (op) {
    case 'exists':
      return actual !== undefined && actual !== null;
    case 'not_exists':
      return actual === undefined || actual === null;
    case 'eq':
      return isOrHolds(actual, expected);
    case 'neq':
      return !isOrHolds(actual, expected);
    case 'in':
      if (!Array.isArray(expected)) return false;
      for (const candidate of expected) if (isOrHolds(actual, candidate)) return true;
      return false;
    case 'contains':
      return Array.isArray(actual) ? holdsElement(actual, expected) : containsText(actual, expected);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      // A list has no order (nor does one of its elements stand for it): these never hold for one.
      const order = ordering(actual, expected);
      if (order === undefined) return false;
      return op === 'gt' ? order > 0 : op === 'gte' ? order >= 0 : op === 'lt' ? order < 0 : order <= 0;
    }
  }
}

/**
 * The value is the expected one, or a list holding it: `tags: ["vip", "beta"]` is `eq "vip"`, as
 * Segment, Braze and Customer.io users expect of a list trait (and `neq "vip"` only when none is).
 */
function isOrHolds(actual: unknown, expected: unknown): boolean {
  return isEqual(actual, expected) || (Array.isArray(actual) && holdsElement(actual, expected));
}

function holdsElement(list: readonly unknown[], expected: unknown): boolean {
  for (const element of list) if (isEqual(element, expected)) return true;
  return false;
}

/**
 * Text holds the expected text whatever its case; a number or a yes/no is read as its text on either
 * side, so 12345 contains "234", true contains "tru", and `contains 42` finds "order-42-x" (a form or
 * the console sends a bare 42 as a number).
 */
function containsText(actual: unknown, expected: unknown): boolean {
  const text = textOf(actual);
  const part = textOf(expected);
  return text !== undefined && part !== undefined && text.toLowerCase().includes(part.toLowerCase());
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

/** Numbers compare as numbers (numeric strings too, as CSV imports and forms send them), dates as dates. */
function ordering(actual: unknown, expected: unknown): number | undefined {
  const a = numberValue(actual);
  const b = numberValue(expected);
  if (a !== undefined && b !== undefined) return a - b;
  return orderOfDates(actual, expected);
}

/**
 * Text compares whatever its case, as `contains` does: a CSV's "us" is the form's "US" (HubSpot's "is
 * any of" does the same), and a rule on `country in [US, GB]` would otherwise miss it in silence. ISO
 * dates compare as dates (see `orderOfDates`): "…10:00:00Z" is "…10:00:00.000Z" and "…11:00:00+01:00".
 */
function isEqual(actual: unknown, expected: unknown): boolean {
  if (actual === expected) return true;
  if (typeof actual === 'string' && typeof expected === 'string') {
    if (actual.length === expected.length && actual.toLowerCase() === expected.toLowerCase()) return true;
    return orderOfDates(actual, expected) === 0;
  }
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
