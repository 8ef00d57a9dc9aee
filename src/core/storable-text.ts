/**
 * Text no database column takes: a NUL character (PostgreSQL refuses it in text and jsonb alike), or
 * half of a UTF-16 surrogate pair (text cut inside an emoji; PostgreSQL refuses its JSON escape).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

export const hasNul = (text: string): boolean => text.includes('\0');
export const hasLoneSurrogate = (text: string): boolean => LONE_SURROGATE.test(text);
export const isStorableText = (text: string): boolean => !hasNul(text) && !hasLoneSurrogate(text);

/** The text with what no column takes replaced by U+FFFD, for showing or naming it. */
export const storableText = (text: string): string =>
  text.replace(LONE_SURROGATES, '\uFFFD').replaceAll('\0', '\uFFFD');

/**
 * Where in a parsed value (strings, arrays, objects, their keys) the first text no column takes is,
 * as a dotted path from `path`; undefined when all of it can be stored.
 */
export function unstorableAt(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return isStorableText(value) ? undefined : path;
  if (value === null || typeof value !== 'object') return undefined;
  const entries: Array<[string, unknown]> = Array.isArray(value)
    ? value.map((item, index) => [String(index), item])
    : Object.entries(value);
  for (const [key, item] of entries) {
    const at = path === '' ? storableText(key) : `${path}.${storableText(key)}`;
    if (!isStorableText(key)) return at;
    const found = unstorableAt(item, at);
    if (found !== undefined) return found;
  }
  return undefined;
}
