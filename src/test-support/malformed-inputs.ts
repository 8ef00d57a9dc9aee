/**
 * Bad input for an API operation, derived from its OpenAPI schemas: what a client gets wrong (a value of
 * the wrong type, a text far too long, an empty object or list, a body that is not an object, a field
 * no schema has) and the path ids an attacker or a broken link would send.
 */

/** The parts of a JSON Schema (as OpenAPI 3.1 writes them) that decide whether a value fits. */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  minProperties?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

/** Finds a `#/components/schemas/…` reference in the document. */
export type SchemaResolver = (ref: string) => JsonSchema;

export function schemaResolver(document: { components?: { schemas?: Record<string, JsonSchema> } }) {
  return (ref: string): JsonSchema => {
    const name = ref.replace('#/components/schemas/', '');
    const found = document.components?.schemas?.[name];
    if (!found) throw new Error(`the document has no schema ${ref}`);
    return found;
  };
}

/** Long past every limit the API documents for a text (its longest, a template's MJML, aside). */
export const LONG_TEXT = 'x'.repeat(100_000);

/** One value of each JSON type, empty where it is a container: each is wrong wherever another is expected. */
const VALUES_OF_EVERY_TYPE: unknown[] = ['text', 42, true, {}, [], null, LONG_TEXT];
/** Where a field takes a number: out of the range or precision a count, a port or a weight takes. */
const ODD_NUMBERS: unknown[] = [-1, 1.5, 1e300];

export interface BodyCase {
  label: string;
  body: unknown;
  /** The wrong value, where one field has it. */
  value?: unknown;
  /** The field the refusal must name. */
  field: string;
}

/** How deep into a body its fields are made wrong: a score rule's condition in the settings, counting list positions. */
const MAX_DEPTH = 8;
/** How many items of a list in the body: a journey's steps, one of each kind. */
const MAX_ITEMS = 12;

/**
 * The malformed bodies for an operation, each from a valid `base` with one thing wrong: each property
 * the schema documents (at the top and inside the objects and list items the base holds) given a
 * value of each other type, a 100,000-character text, an empty object or list, where the documented
 * schema refuses it; the whole body as something other than an object; an extra property no schema has;
 * a body over the admin API's size limit. A value the document takes is not bad input and is left out.
 */
export function malformedBodies(schema: JsonSchema, base: unknown, resolve: SchemaResolver): BodyCase[] {
  const cases: BodyCase[] = [];
  const fits = (value: unknown) => accepts(schema, value, resolve);
  for (const body of [[], null, 42, 'text'])
    if (!fits(body)) cases.push({ label: `the body as ${describe(body)}`, body, field: 'body' });
  for (const path of documentedFields(schema, base, resolve, [])) {
    const field = path.join('.');
    const takesNumbers = fits(withValueAt(base, path, 42));
    for (const value of [...VALUES_OF_EVERY_TYPE, ...(takesNumbers ? ODD_NUMBERS : [])]) {
      const body = withValueAt(base, path, value);
      if (!fits(body)) cases.push({ label: `${field} as ${describe(value)}`, body, value, field });
    }
  }
  const baseObject = isPlainObject(base) ? base : {};
  const isObjectBody = Object.keys(objectProperties(schema, resolve)).length > 0;
  cases.push({
    label: 'an unknown extra property',
    body: { ...baseObject, unexpectedField: true },
    field: isObjectBody ? 'unexpectedField' : 'body',
  });
  // Past the admin API's 1 MB (a route taking more refuses the unknown field instead).
  cases.push({
    label: 'a body over 1 MB',
    body: { ...baseObject, unexpectedPadding: 'x'.repeat(1_100_000) },
    field: isObjectBody ? 'unexpectedPadding' : 'body',
  });
  return cases;
}

/** The paths of the fields `schema` documents for `value` and for the objects and lists it holds. */
function documentedFields(
  schema: JsonSchema | undefined,
  value: unknown,
  resolve: SchemaResolver,
  path: Array<string | number>,
): Array<Array<string | number>> {
  if (schema === undefined || path.length >= MAX_DEPTH) return [];
  const node = branchFor(schema, value, resolve);
  if (Array.isArray(value))
    return value
      .slice(0, MAX_ITEMS)
      .flatMap((item, index) => documentedFields(node.items, item, resolve, [...path, index]));
  if (path.length > 0 && !isPlainObject(value)) return [];
  const properties = objectProperties(node, resolve);
  const inside = isPlainObject(value) ? value : {};
  return Object.entries(properties).flatMap(([name, inner]) => [
    [...path, name],
    ...(name in inside ? documentedFields(inner, inside[name], resolve, [...path, name]) : []),
  ]);
}

/** The schema `value` is read by: a reference followed, and of a union, the branch that takes it. */
function branchFor(schema: JsonSchema, value: unknown, resolve: SchemaResolver): JsonSchema {
  const resolved = schema.$ref ? resolve(schema.$ref) : schema;
  const branches = [...(resolved.anyOf ?? []), ...(resolved.oneOf ?? [])];
  const taking = branches.find((branch) => accepts(branch, value, resolve));
  return taking ? branchFor(taking, value, resolve) : resolved;
}

/** A copy of `base` with `value` at `path` (a fresh object where the base has none). */
function withValueAt(base: unknown, path: Array<string | number>, value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  if (Array.isArray(base)) {
    const copy = [...base];
    copy[head as number] = withValueAt(base[head as number], rest, value);
    return copy;
  }
  const object = isPlainObject(base) ? base : {};
  return { ...object, [head]: withValueAt(object[head], rest, value) };
}

/** The top-level properties an object schema (or any branch of it) documents. */
function objectProperties(schema: JsonSchema, resolve: SchemaResolver): Record<string, JsonSchema> {
  const resolved = schema.$ref ? resolve(schema.$ref) : schema;
  const branches = [...(resolved.anyOf ?? []), ...(resolved.oneOf ?? []), ...(resolved.allOf ?? [])];
  return Object.assign(
    {},
    ...branches.map((branch) => objectProperties(branch, resolve)),
    resolved.properties ?? {},
  );
}

/** Path ids no object has, each odd in its own way, as they go in a URL. */
export const ODD_PATH_IDS: Array<{ label: string; encoded: string; value: string }> = [
  'no_such_id',
  'x'.repeat(300),
  '../../settings',
  'ünïcødé-名前-🙂',
  'nul\u0000byte',
].map((value) => ({ label: describe(value), encoded: encodeURIComponent(value), value }));

/** Query values a client gets wrong: not a number, out of range, fractional, huge, long, unicode, a NUL. */
export const ODD_QUERY_VALUES: string[] = [
  'text',
  '-1',
  '0',
  '1.5',
  '1e309',
  'x'.repeat(6000),
  'ünïcødé-🙂',
  'nul\u0000byte',
];

/** A query value as the schema reads it: Fastify coerces numeric text to a number where one is expected. */
export function queryValue(schema: JsonSchema, text: string, resolve: SchemaResolver): unknown {
  const resolved = schema.$ref ? resolve(schema.$ref) : schema;
  const types = [resolved.type ?? []].flat();
  const isNumeric = types.includes('number') || types.includes('integer');
  return isNumeric && text.trim() !== '' && !Number.isNaN(Number(text)) ? Number(text) : text;
}

/** Whether `value` fits `schema`; where the schema says more than this reads (an unknown format), yes. */
export function accepts(
  schema: JsonSchema | boolean | undefined,
  value: unknown,
  resolve: SchemaResolver,
): boolean {
  if (schema === undefined || schema === true) return true;
  if (schema === false) return false;
  if (schema.$ref) return accepts(resolve(schema.$ref), value, resolve);
  const fits = (inner: JsonSchema | boolean | undefined, innerValue: unknown) =>
    accepts(inner, innerValue, resolve);
  if (schema.anyOf && !schema.anyOf.some((branch) => fits(branch, value))) return false;
  if (schema.oneOf && !schema.oneOf.some((branch) => fits(branch, value))) return false;
  if (schema.allOf && !schema.allOf.every((branch) => fits(branch, value))) return false;
  if (schema.enum && !schema.enum.some((allowed) => isSameJson(allowed, value))) return false;
  if ('const' in schema && !isSameJson(schema.const, value)) return false;
  if (schema.type !== undefined && ![schema.type].flat().some((type) => isOfType(type, value))) return false;
  if (typeof value === 'string') return textFits(schema, value);
  if (typeof value === 'number') return numberFits(schema, value);
  if (Array.isArray(value)) {
    if (value.length < (schema.minItems ?? 0) || value.length > (schema.maxItems ?? Number.POSITIVE_INFINITY))
      return false;
    return value.every((item) => fits(schema.items, item));
  }
  if (isPlainObject(value)) {
    if ((schema.required ?? []).some((name) => !(name in value))) return false;
    if (Object.keys(value).length < (schema.minProperties ?? 0)) return false;
    return Object.entries(value).every(([name, inner]) => {
      const declared = schema.properties?.[name];
      return declared !== undefined ? fits(declared, inner) : fits(schema.additionalProperties, inner);
    });
  }
  return true;
}

function textFits(schema: JsonSchema, value: string): boolean {
  const length = [...value].length;
  if (length < (schema.minLength ?? 0) || length > (schema.maxLength ?? Number.POSITIVE_INFINITY))
    return false;
  if (schema.pattern !== undefined && !patternOf(schema.pattern).test(value)) return false;
  switch (schema.format) {
    case 'date-time':
      return !Number.isNaN(Date.parse(value));
    case 'email':
      return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value);
    case 'uri':
      return URL.canParse(value);
    default:
      return true;
  }
}

/** JSON Schema patterns are ECMA-262 with Unicode; some the document carries compile only without the flag. */
function patternOf(pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return new RegExp(pattern);
  }
}

function numberFits(schema: JsonSchema, value: number): boolean {
  if (schema.minimum !== undefined && value < schema.minimum) return false;
  if (schema.maximum !== undefined && value > schema.maximum) return false;
  if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return false;
  if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) return false;
  return true;
}

function isOfType(type: string, value: unknown): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isPlainObject(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    default:
      return typeof value === type;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isSameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A value as a case's label names it: its type, and a long text by its length. */
function describe(value: unknown): string {
  if (typeof value === 'string') {
    if (value.length > 40) return `a ${value.length}-character text`;
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (isPlainObject(value)) return Object.keys(value).length === 0 ? 'an empty object' : 'an object';
  return String(value);
}
