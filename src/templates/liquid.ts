import { type FS, filters, Liquid, Tag, type Template } from 'liquidjs';

/**
 * Templates come from workspace members, and liquidjs reads partials from the server's disk by
 * default (`{% include 'data/mops.db' %}` would print the database): no file is ever readable.
 */
const NO_FILES: FS = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async (file) => {
    throw new Error(`templates cannot read files (${file})`);
  },
  readFileSync: (file) => {
    throw new Error(`templates cannot read files (${file})`);
  },
  resolve: (_dir, file) => file,
};

/**
 * Limits on one template, so that none written by a member (`{% for a in (1..100000) %}` nested)
 * holds the server's one thread for minutes or fills its memory: rendering stops with an error past
 * them. Real templates stay far below: an e-mail renders in milliseconds, its HTML in a few hundred KB.
 */
export const TEMPLATE_LIMITS = {
  /** Characters of source parsed. */
  parseLimit: 1_000_000,
  /** Milliseconds of rendering. */
  renderLimit: 250,
  /** liquidjs's count of what rendering builds: characters of strings, items of lists and ranges. */
  memoryLimit: 20_000_000,
} as const;

/** Tags that pull in other files: refused when a template is parsed, so publishing names them. */
const FILE_TAGS = ['include', 'render', 'layout'] as const;

function refusedTag(name: string) {
  return class extends Tag {
    constructor(...args: ConstructorParameters<typeof Tag>) {
      super(...args);
      throw new Error(`{% ${name} %} is not available: Mops templates cannot read files`);
    }
    *render(): Generator<unknown, void, unknown> {}
  };
}

/**
 * An output as text: nothing for nil, lists of plain values run together (as Liquid writes them),
 * and a value holding an object as its JSON, in every engine: Liquid has no text for an object, and
 * liquidjs would write `[object Object]` into a text or an e-mail (`| json` is for writing JSON).
 */
function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (holdsObject(value)) return JSON.stringify(value);
  if (Array.isArray(value)) return value.map(asText).join('');
  return String(value);
}

function holdsObject(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(holdsObject);
  return typeof value === 'object' && value !== null;
}

/** Liquid's own `escape` filter, which counts what it writes against the template's memory limit. */
const escapeHtml = filters.escape as (this: unknown, text: string) => string;

/** An output in HTML: its text, escaped by Liquid's `escape`. */
function asHtml(this: unknown, value: unknown): string {
  return escapeHtml.call(this, asText(value));
}

/** An output as the inside of a JSON string: it cannot close the string it stands in and add keys. */
function asJsonStringContent(value: unknown): string {
  return JSON.stringify(asText(value)).slice(1, -1);
}

/**
 * Three Liquid engines: for HTML, where every `{{ … }}` output is escaped (a trait holding
 * `<script>` stays text); for JSON bodies, where every output is escaped as JSON string content (a
 * trait holding `", "role": "admin` stays inside its string); and for plain text, subjects and trait
 * values. All write an output's value as `asText` does, and all know `json`, which writes a whole
 * value as JSON (as it is, in a JSON body). Parsed templates are cached by their source.
 */
function engine(output: 'html' | 'json' | 'text'): Liquid {
  const liquid = new Liquid({
    outputEscape: output === 'html' ? asHtml : output === 'json' ? asJsonStringContent : asText,
    strictFilters: true,
    jsTruthy: true,
    fs: NO_FILES,
    relativeReference: false,
    root: [],
    partials: [],
    layouts: [],
    ...TEMPLATE_LIMITS,
  });
  liquid.registerFilter('json', {
    handler: (value: unknown) => JSON.stringify(value ?? null),
    raw: output === 'json',
  });
  // Liquid's own `raw` switches escaping off: a trait would write markup into mail, or keys into a
  // body. Here it leaves the value as it is, escaped like any output.
  liquid.registerFilter('raw', (value: unknown) => value);
  for (const name of FILE_TAGS) liquid.registerTag(name, refusedTag(name));
  return liquid;
}

const html = engine('html');
const json = engine('json');
const plain = engine('text');
const parsed = new Map<string, Template[]>();
const MAX_CACHED = 2000;

function parse(liquid: Liquid, key: string, source: string): Template[] {
  let templates = parsed.get(key);
  if (!templates) {
    templates = liquid.parse(source);
    if (parsed.size >= MAX_CACHED) parsed.clear();
    parsed.set(key, templates);
  }
  return templates;
}

export function renderHtml(source: string, data: object): string {
  return html.renderSync(parse(html, `h:${source}`, source), data) as string;
}

export function renderPlain(source: string, data: object): string {
  return plain.renderSync(parse(plain, `p:${source}`, source), data) as string;
}

export function renderJson(source: string, data: object): string {
  return json.renderSync(parse(json, `j:${source}`, source), data) as string;
}

/**
 * Why a JSON body template can never render as JSON, judged only by its own text (what its `{{ }}`
 * and `{% %}` leave around them), or undefined: outputs may write anything, so a body made only of
 * them, or whose text starts and ends as JSON may, passes; a form (`a=1&b=2`) or prose does not.
 */
export function notJsonTemplate(source: string): string | undefined {
  const text = source.replace(/\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g, '').trim();
  // Tags alone write nothing: without an output, nothing is all such a body can render to.
  if (text === '')
    return source.includes('{{')
      ? undefined
      : 'a JSON body cannot be empty (leave body out for the default one)';
  if (!JSON_START.test(text)) return `a JSON body cannot start with ${JSON.stringify(text.slice(0, 10))}`;
  if (!JSON_END.test(text)) return `a JSON body cannot end with ${JSON.stringify(text.slice(-10))}`;
  return undefined;
}

/** How a JSON text can start and end: an object, array, string, number, true, false or null. */
const JSON_START = /^(?:[{["\-0-9]|true|false|null)/;
const JSON_END = /(?:[}\]"0-9]|true|false|null)$/;

/** Checks a template's syntax; the error names the line. */
export function checkLiquid(source: string): string | undefined {
  try {
    plain.parse(source);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
