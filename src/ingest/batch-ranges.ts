import {
  BACKSLASH,
  CLOSE_ARRAY,
  CLOSE_OBJECT,
  COMMA,
  OPEN_ARRAY,
  OPEN_OBJECT,
  QUOTE,
} from './json-characters.js';

/**
 * Where each element of the top-level `batch` array starts and ends in the request's JSON text, so
 * that an event is stored exactly as the client sent it without serialising it again (that cost as
 * much as parsing). Expects text that JSON.parse accepted; answers undefined whenever the layout is
 * not the plain one (no `batch`, a repeated or escaped key), and callers then serialise instead.
 */
export function batchElementRanges(text: string): Array<[number, number]> | undefined {
  let i = skipWhitespace(text, 0);
  if (text.charCodeAt(i) !== OPEN_OBJECT) return undefined;
  i = skipWhitespace(text, i + 1);
  let ranges: Array<[number, number]> | undefined;
  let batchKeys = 0;
  while (text.charCodeAt(i) === QUOTE) {
    const keyEnd = skipString(text, i);
    const isBatch = keyEnd - i === 7 && text.startsWith('"batch"', i);
    i = skipWhitespace(text, keyEnd);
    i = skipWhitespace(text, i + 1); // the colon
    if (isBatch) {
      batchKeys++;
      if (text.charCodeAt(i) !== OPEN_ARRAY) return undefined;
      const elements = arrayElements(text, i);
      ranges = elements.ranges;
      i = elements.end;
    } else {
      i = skipValue(text, i);
    }
    i = skipWhitespace(text, i);
    if (text.charCodeAt(i) !== COMMA) break;
    i = skipWhitespace(text, i + 1);
  }
  return batchKeys === 1 ? ranges : undefined;
}

function arrayElements(text: string, open: number): { ranges: Array<[number, number]>; end: number } {
  const ranges: Array<[number, number]> = [];
  let i = skipWhitespace(text, open + 1);
  if (text.charCodeAt(i) === CLOSE_ARRAY) return { ranges, end: i + 1 };
  for (;;) {
    const start = i;
    i = skipValue(text, i);
    ranges.push([start, i]);
    i = skipWhitespace(text, i);
    if (text.charCodeAt(i) !== COMMA) return { ranges, end: i + 1 };
    i = skipWhitespace(text, i + 1);
  }
}

/** The index just past the value starting at `i`. */
function skipValue(text: string, i: number): number {
  const first = text.charCodeAt(i);
  if (first === QUOTE) return skipString(text, i);
  if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const c = text.charCodeAt(j);
      if (c === QUOTE) {
        j = skipString(text, j) - 1;
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        depth++;
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return text.length;
  }
  let j = i;
  while (j < text.length) {
    const c = text.charCodeAt(j);
    if (c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || c <= 0x20) break;
    j++;
  }
  return j;
}

/** The index just past the string whose opening quote is at `i`. */
export function skipString(text: string, i: number): number {
  let from = i + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return text.length;
    let backslashes = 0;
    for (let k = quote - 1; text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

function skipWhitespace(text: string, i: number): number {
  let j = i;
  for (;;) {
    const c = text.charCodeAt(j);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return j;
    j++;
  }
}
