import { isoDateValue, parseIsoDate } from './iso-date.js';

/**
 * A number as people write one: no leading zero before other digits. `01234` (a postcode, an id `007`)
 * is a code that only looks like a number: read as one it would lose its zeros and equal 1234.
 */
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

/** A value as comparisons read a number: a finite number, or a numeric string (as CSV imports and forms send them). */
export function numberValue(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && NUMBER.test(value.trim())) return Number(value);
  return undefined;
}

/** Text of digits with a leading zero (`01234`, `007`): a code, which neither equals a number nor has an order. */
export function isNumericCode(value: unknown): boolean {
  return typeof value === 'string' && /^-?0\d+(?:\.\d+)?$/.test(value.trim());
}

/** Whether `gt`, `lte` and the like can order by the value: a number, a numeric string or an ISO date. */
export function isOrderable(value: unknown): boolean {
  return numberValue(value) !== undefined || isoDateValue(value) !== undefined;
}

const DAY_MS = 86_400_000;
/** `2026-01-05`: a day alone is exactly this long (a moment has a time after it). */
const DAY_LENGTH = 10;

/**
 * How two ISO dates order (negative, zero, positive), or undefined unless both are one. Moments
 * compare as instants whatever their offsets (`10:00:00Z` is `11:00:00+01:00`); when either is a day
 * alone both compare by their UTC day, so `2026-01-05` equals any moment of it and `lte` takes it whole.
 */
export function orderOfDates(a: unknown, b: unknown): number | undefined {
  if (!looksLikeIsoDate(a) || !looksLikeIsoDate(b)) return undefined;
  const at = parseIsoDate(a);
  const bt = parseIsoDate(b);
  if (Number.isNaN(at) || Number.isNaN(bt)) return undefined;
  if (a.length === DAY_LENGTH || b.length === DAY_LENGTH)
    return Math.floor(at / DAY_MS) - Math.floor(bt / DAY_MS);
  return at - bt;
}

/** `dddd-dd-…` at a glance, so that comparing other text parses no date (comparisons run per event). */
function looksLikeIsoDate(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= DAY_LENGTH &&
    value.charCodeAt(4) === 45 && // '-'
    value.charCodeAt(7) === 45
  );
}
