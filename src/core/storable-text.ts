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
 * Text a user sent, quoted back (a CSV cell or header in a summary or an error): at most `max`
 * characters, an ellipsis in place of the rest, and storable. A 10 MB cell is not sent back whole.
 */
export function quotedText(text: string, max = 200): string {
  const quoted = firstCharacters(text, max);
  return storableText(quoted.length < text.length ? `${quoted}…` : quoted);
}

/**
 * The text's first `count` characters, counted as code points: a cut by UTF-16 units inside an emoji
 * would leave half a surrogate pair, which PostgreSQL refuses in JSON. Read from enough units for
 * `count` points, not the whole text.
 */
export function firstCharacters(text: string, count: number): string {
  if (text.length <= count) return text;
  return Array.from(text.slice(0, count * 2))
    .slice(0, count)
    .join('');
}

/** Errors are kept to this many characters: a stack of a deep recursion can run to megabytes. */
const ERROR_KEPT_MAX = 2000;

/**
 * An error's text as a column keeps it: cut to its first 2,000 characters, and storable (a cut inside
 * an emoji, or a NUL the error quoted from a record, would fail the write on PostgreSQL).
 */
export const storableError = (text: string): string => storableText(text.slice(0, ERROR_KEPT_MAX));

/**
 * How deep a JSON value may nest: far beyond any real event or definition (a segment rule's 20 levels
 * are about 45), and well short of the recursion that overflows the stack of whatever reads it next.
 */
export const MAX_JSON_DEPTH = 100;

const NESTED_TOO_DEEP = `nests deeper than ${MAX_JSON_DEPTH} levels`;
/** Where nesting went too deep, named by its beginning: the rest is a hundred keys more. */
const MAX_DEEP_PATH_LENGTH = 120;

/**
 * The first string or key, depth first, holding a NUL or a lone UTF-16 surrogate, or the first value
 * nesting deeper than MAX_JSON_DEPTH (or, asked to, a number past what JSON holds): its path, and which. Walked with a stack of its own, so no
 * nesting overflows the call stack.
 */
export function findUnstorableText(
  value: unknown,
  path: string,
  options: { numbers?: 'finite' } = {},
): { path: string; problem: string } | undefined {
  const pending: Array<{ value: unknown; path: string; depth: number }> = [{ value, path, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const found = unstorableHere(next.value, next.path, options);
    if (found) return found;
    const item = next.value;
    if (item === null || typeof item !== 'object') continue;
    if (next.depth >= MAX_JSON_DEPTH) return { path: beginningOf(next.path), problem: NESTED_TOO_DEEP };
    const entries = Array.isArray(item)
      ? item.map((child, index) => [String(index), child] as const)
      : Object.entries(item);
    const children = entries.map(([key, child]) => ({
      key,
      value: child,
      path: Array.isArray(item) ? `${next.path}[${key}]` : next.path ? `${next.path}.${key}` : key,
      depth: next.depth + 1,
    }));
    for (const child of children)
      if (!isStorableText(child.key))
        return { path: child.path, problem: 'is a key holding a NUL or half of a character' };
    // Reversed onto the stack, so the first child is looked at first.
    for (let index = children.length - 1; index >= 0; index--)
      pending.push(children[index] as (typeof children)[number]);
  }
  return undefined;
}

/** The path cut to its first keys, at a key's end. */
function beginningOf(path: string): string {
  if (path.length <= MAX_DEEP_PATH_LENGTH) return path;
  const cut = path.slice(0, MAX_DEEP_PATH_LENGTH + 1);
  const end = Math.max(cut.lastIndexOf('.'), cut.lastIndexOf('['));
  return end > 0 ? cut.slice(0, end) : cut.slice(0, MAX_DEEP_PATH_LENGTH);
}

function unstorableHere(
  value: unknown,
  path: string,
  options: { numbers?: 'finite' },
): { path: string; problem: string } | undefined {
  // JSON.parse reads 1e400 as Infinity, which JSON.stringify then writes as null.
  if (typeof value === 'number' && options.numbers === 'finite' && !Number.isFinite(value))
    return { path, problem: 'is a number too large to store' };
  if (typeof value !== 'string') return undefined;
  if (hasNul(value)) return { path, problem: 'holds a NUL character (\\u0000), which cannot be stored' };
  if (hasLoneSurrogate(value))
    return {
      path,
      problem:
        'holds half of a character (a lone UTF-16 surrogate, as from text cut in the middle of an emoji)',
    };
  return undefined;
}
