import { skipString } from './batch-ranges.js';
import {
  CLOSE_ARRAY,
  CLOSE_OBJECT,
  COMMA,
  DIGIT_0,
  DIGIT_9,
  MINUS,
  OPEN_ARRAY,
  OPEN_OBJECT,
  QUOTE,
} from './json-characters.js';

/**
 * Numbers JSON allows and PostgreSQL's jsonb refuses ("value overflows numeric format"): more than
 * 16,383 digits after the point once written out, as `1e-20000` or a fraction 20,000 digits long is.
 * JSON.parse reads them as 0 or the nearest double, so they cannot be told apart in the parsed call:
 * they are found in the text, which is what would be stored.
 */
export const MAX_DECIMAL_PLACES = 16_383;

/** Where a key or an index leads in a JSON value: `['batch', 3, 'properties', 'x']`. */
export type JsonPath = Array<string | number>;

/**
 * Whether JSON text may hold such a number: a cheap look, so that only such requests are scanned. A
 * number stands after `:`, `[` or `,` (an id's `…e-512…` is no number); over the limit it needs an
 * exponent below -99 or a fraction of more than 16,000 digits.
 */
export function mayHoldUnstorableNumbers(text: string): boolean {
  return MANY_DECIMAL_PLACES.test(text);
}

/**
 * Whether JSON text may hold a number out of what is kept either way: past what JSON holds (see
 * `mayHoldHugeNumbers`) or with too many decimal places (above). One look for both, so that the usual
 * request, holding neither, is scanned once on the ingest path rather than twice.
 */
export function mayHoldOutOfRangeNumbers(text: string): boolean {
  return OUT_OF_RANGE.test(text);
}

const OUT_OF_RANGE = /[:[,]\s*-?(?:\d+(?:\.\d+)?[eE][-+]?\d{3}|\d{309}|\d+\.\d{1000})/;

const MANY_DECIMAL_PLACES = /[:[,]\s*-?\d+(?:\.\d+)?[eE]-\d{3}|[:[,]\s*-?\d+\.\d{1000}/;

/**
 * Where each number with more than MAX_DECIMAL_PLACES stands in JSON text that JSON.parse accepted,
 * in the order written. Walked with a stack of its own: no nesting overflows the call stack.
 */
export function findUnstorableNumbers(text: string): JsonPath[] {
  const found: JsonPath[] = [];
  const containers: Array<{ key: string | number; isObject: boolean }> = [];
  let isKeyNext = false;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const top = containers[containers.length - 1];
    if (c === QUOTE) {
      const end = skipString(text, i);
      if (isKeyNext && top) {
        const quoted = text.slice(i, end);
        top.key = quoted.includes('\\') ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
        isKeyNext = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      containers.push({ key: c === OPEN_OBJECT ? '' : 0, isObject: c === OPEN_OBJECT });
      isKeyNext = c === OPEN_OBJECT;
      i++;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      containers.pop();
      i++;
    } else if (c === COMMA) {
      if (top?.isObject) isKeyNext = true;
      else if (top) top.key = (top.key as number) + 1;
      i++;
    } else if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text);
      const places = (match?.[1]?.length ?? 0) - Number(match?.[2] ?? 0);
      if (places > MAX_DECIMAL_PLACES) found.push(containers.map((container) => container.key));
      i += Math.max(match?.[0].length ?? 0, 1);
    } else {
      i++;
    }
  }
  return found;
}

/** `a.b[0].c`, as validation names fields. */
export function pathText(path: JsonPath): string {
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : text === '' ? key : `.${key}`;
  return text;
}

/** A number where the scan stands (sticky): its fraction's digits, and its exponent. */
const NUMBER = /-?\d+(?:\.(\d+))?(?:[eE]([+-]?\d+))?/y;
