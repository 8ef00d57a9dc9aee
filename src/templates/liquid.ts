import { type FS, Liquid, Tag, type Template } from 'liquidjs';

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
 * Two Liquid engines: one for HTML, where every `{{ … }}` output is escaped (a trait holding
 * `<script>` stays text), and one for plain text, subjects, trait values and JSON bodies. Both know
 * `json`, which writes a value as JSON. Parsed templates are cached by their source.
 */
function engine(isHtml: boolean): Liquid {
  const liquid = new Liquid({
    outputEscape: isHtml ? 'escape' : undefined,
    strictFilters: true,
    jsTruthy: true,
    fs: NO_FILES,
    relativeReference: false,
    root: [],
    partials: [],
    layouts: [],
  });
  liquid.registerFilter('json', (value: unknown) => JSON.stringify(value ?? null));
  for (const name of FILE_TAGS) liquid.registerTag(name, refusedTag(name));
  return liquid;
}

const html = engine(true);
const plain = engine(false);
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

/** Checks a template's syntax; the error names the line. */
export function checkLiquid(source: string): string | undefined {
  try {
    plain.parse(source);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
