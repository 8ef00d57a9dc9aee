/**
 * How a comparison's value is typed in one text box and read back: `5` (or `1e-7`) is a number, but
 * `01234` text, `true` a boolean, `null` nothing, `{…}` or `[…]` JSON, anything else text, and quotes
 * keep text that would read otherwise (`"5"`, `"a, b"`). A list (for `in`) is those separated by
 * commas. Formatting is the inverse, so a stored value reads back unchanged.
 */

/**
 * A number as people write one: no leading zero before other digits, which marks text that only
 * looks like a number (postcode `01234`, an id `007`) and would lose its zeros as one.
 */
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** The value a box holds: a number, a boolean, or text (quoted text has its quotes removed). */
export function parseLiteral(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      return trimmed.slice(1, -1);
    }
  }
  const json = structuredJson(trimmed);
  if (json !== undefined) return json;
  if (NUMBER.test(trimmed) && Number.isFinite(Number(trimmed))) return Number(trimmed);
  if (trimmed === 'true') return true;
  if (trimmed === 'false') return false;
  if (trimmed === 'null') return null;
  return trimmed;
}

/** An object or a list written as JSON (`{"tier": 1}`), else undefined. */
function structuredJson(text: string): unknown {
  if (!text.startsWith('{') && !text.startsWith('[')) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** What the box shows for a value: quoted only where the bare text would read as something else. */
export function formatLiteral(value: unknown, inList = false): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') {
    const readsOtherwise =
      value !== value.trim() ||
      NUMBER.test(value.trim()) ||
      value === 'true' ||
      value === 'false' ||
      value === 'null' ||
      (value.startsWith('"') && value.endsWith('"')) ||
      structuredJson(value.trim()) !== undefined ||
      (inList && (value.includes(',') || value.includes('"') || /^[[{]/.test(value)));
    return readsOtherwise ? JSON.stringify(value) : value;
  }
  return JSON.stringify(value ?? null);
}

/** Splits `a, "b, c", {"x": 1, "y": 2}` on the commas outside quotes and JSON. */
export function splitList(text: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  let depth = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '\\' && quoted) {
      current += char + (text[index + 1] ?? '');
      index++;
    } else if (char === '"') {
      quoted = !quoted;
      current += char;
    } else if (!quoted && (char === '{' || char === '[') && (depth > 0 || current.trim() === '')) {
      // Brackets count only in an item that is JSON, so text like `a [b` stays text.
      depth++;
      current += char;
    } else if (!quoted && (char === '}' || char === ']') && depth > 0) {
      depth--;
      current += char;
    } else if (char === ',' && !quoted && depth <= 0) {
      items.push(current);
      current = '';
    } else current += char;
  }
  items.push(current);
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

export const parseList = (text: string): unknown[] => splitList(text).map((item) => parseLiteral(item));

export const formatList = (values: readonly unknown[]): string =>
  values.map((value) => formatLiteral(value, true)).join(', ');
