import { type RawBuilder, sql } from 'kysely';
import type { Traits } from '../core/profile.js';
import type { DialectOps } from './dialect-ops.js';

/**
 * Sits between two values in a profile's search text: the console's search box holds no line break,
 * so a search does not run from the end of one value into the next (phone-number matching, which
 * drops spaces, dashes, dots and brackets, keeps it too).
 */
const VALUE_SEPARATOR = '\n';

/**
 * What a profile is searched by (`profiles.search_text`): its trait values, nested ones too, one per
 * line and lower-cased by Unicode's rules in JavaScript on both backends (so `MÜLLER` finds `Müller`
 * alike). Trait names and JSON's quotes and escapes are left out: searching `email` does not find
 * every contact with an e-mail, and `"` or `\` in a value is found as typed. True, false and null
 * name no one and are left out too. Computed when a profile's traits are written, so a search only
 * reads a column: working the values out of the JSON as it searches costs tens of µs a profile.
 *
 * @example searchTextOf({ email: 'Ada@Example.com', address: { city: 'Zürich' }, vip: true }) // 'ada@example.com\nzürich'
 */
export function searchTextOf(traits: Traits): string {
  const values: string[] = [];
  collectValues(traits, values);
  return values.join(VALUE_SEPARATOR).toLowerCase();
}

function collectValues(value: unknown, into: string[]): void {
  if (typeof value === 'string') {
    if (value !== '') into.push(value);
  } else if (typeof value === 'number' || typeof value === 'bigint') {
    into.push(String(value));
  } else if (Array.isArray(value)) {
    for (const item of value) collectValues(item, into);
  } else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) collectValues(item, into);
  }
}

/** A profile's stored search text contains the needle, whatever its case; LIKE's wildcards in it are literal. */
export function searchTextContains(needle: string, ops: DialectOps): RawBuilder<boolean> {
  const pattern = `%${escapeLike(needle.toLowerCase())}%`;
  const contains = sql<boolean>`${sql.ref('search_text')} like ${pattern} escape '\\'`;
  if (!isPhoneLike(needle)) return contains;
  return sql<boolean>`(${contains} or ${ops.phoneContains('search_text', phoneDigits(needle))})`;
}

function escapeLike(needle: string): string {
  return needle.replace(/[\\%_]/g, (match) => `\\${match}`);
}

/** Phone numbers are written with spaces, dashes, dots and brackets in all sorts of places. */
const PHONE_PUNCTUATION = /[ ().-]/g;

/** A search that reads as a phone number: six digits or more, with only a leading + and punctuation besides. */
function isPhoneLike(needle: string): boolean {
  return /^\+?[\d ().-]+$/.test(needle) && phoneDigits(needle).replace('+', '').length >= 6;
}

function phoneDigits(needle: string): string {
  return needle.replace(PHONE_PUNCTUATION, '');
}
