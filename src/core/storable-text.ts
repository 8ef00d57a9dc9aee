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

/** The first string or key, depth first, holding a NUL or a lone UTF-16 surrogate: its path, and which. */
export function findUnstorableText(
  value: unknown,
  path: string,
): { path: string; problem: string } | undefined {
  if (typeof value === 'string') {
    if (hasNul(value)) return { path, problem: 'holds a NUL character (\\u0000), which cannot be stored' };
    if (hasLoneSurrogate(value))
      return {
        path,
        problem:
          'holds half of a character (a lone UTF-16 surrogate, as from text cut in the middle of an emoji)',
      };
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const entries = Array.isArray(value)
    ? value.map((item, index) => [String(index), item] as const)
    : Object.entries(value);
  for (const [key, item] of entries) {
    const itemPath = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    if (!isStorableText(key))
      return {
        path: itemPath,
        problem: 'is a key holding a NUL or half of a character',
      };
    const found = findUnstorableText(item, itemPath);
    if (found) return found;
  }
  return undefined;
}
