import type { InputIssue } from './input-issues.js';
import { type EntryTrigger, JourneyDefinition, STEP_REFERENCE, type StepType } from './journey-definition.js';

/**
 * A journey's draft as saved: the document of docs/journeys.md while it is being built, over several
 * sittings. Anything may still be missing or empty (a step's settings, its connections, the first
 * step) except what makes it a journey at all: its name, what kind of entry it has, and its steps'
 * ids and types. Publishing needs the complete `JourneyDefinition`.
 *
 * ```ts
 * { name: 'Welcome', entry: { trigger: { type: 'event', event: '' } }, start: '',
 *   steps: [{ id: 'send_email_1', type: 'send_email', template: '' }] }
 * ```
 */
export interface JourneyDraft {
  name: string;
  entry: { trigger: { type: EntryTrigger['type'] } & Record<string, unknown> } & Record<string, unknown>;
  start?: string;
  steps: Array<{ id: string; type: StepType } & Record<string, unknown>>;
  canvas?: Record<string, { x: number; y: number }>;
  [field: string]: unknown;
}

export type DraftReading =
  | { isWellFormed: true; draft: JourneyDraft; isComplete: boolean }
  | { isWellFormed: false; issue: InputIssue };

/** Where a value is what makes a draft a journey: these may never be missing, even in a draft. */
const ESSENTIAL_PATHS = [
  ['name'],
  ['entry'],
  ['entry', 'trigger'],
  ['entry', 'trigger', 'type'],
  ['steps', '*'],
  ['steps', '*', 'id'],
  ['steps', '*', 'type'],
];

/**
 * Reads a draft: complete, it is the definition as publishing will take it (its defaults filled in);
 * unfinished, it is kept as written (its name trimmed), as long as every problem is something not filled in yet (a
 * value missing or empty, a step not connected, a reference to a step not there yet). Anything else
 * is malformed and named as the definition would name it: a value of the wrong type or form, a key
 * the document does not know, a step of no known type, two steps with one id, too long or too many.
 */
export function readDraft(input: unknown): DraftReading {
  const notJourney = notAJourney(input);
  if (notJourney) return { isWellFormed: false, issue: notJourney };
  const parsed = JourneyDefinition.safeParse(input);
  if (parsed.success) return { isWellFormed: true, draft: parsed.data, isComplete: true };
  const malformed = parsed.error.issues.find((issue) => !isUnfinished(issue, input, []));
  if (malformed) return { isWellFormed: false, issue: malformed };
  // The definition's checks across steps do not run while a step is unfinished; this one matters to
  // a draft too, as the canvas and every refusal know a step by its id.
  const repeated = repeatedStepId(input);
  if (repeated) return { isWellFormed: false, issue: repeated };
  // Its name is trimmed as the definition trims it: lists show it and `journeys apply` matches it.
  // (Essential, so it passed the definition's check: a string here.)
  const draft = input as JourneyDraft;
  return { isWellFormed: true, draft: { ...draft, name: draft.name.trim() }, isComplete: false };
}

/**
 * A document that is no object at all (an empty file, `null`, a list) is no journey, finished or
 * not: not something left to fill in.
 */
export function notAJourney(input: unknown): InputIssue | undefined {
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) return undefined;
  return { path: [], message: 'must be a journey (an object)' };
}

/** Whether an issue only says a value is not filled in yet (or, of a union, that one branch only does). */
function isUnfinished(issue: InputIssue, input: unknown, base: readonly PropertyKey[]): boolean {
  const path = [...base, ...issue.path];
  if (issue.code === 'unrecognized_keys' || issue.note === 'No matching discriminator') return false;
  if (issue.code === 'invalid_union' && issue.errors && issue.errors.length > 0)
    return issue.errors.some((branch) => branch.every((inner) => isUnfinished(inner, input, path)));
  if (issue.params?.isStepReference === STEP_REFERENCE.isStepReference) return true;
  const value = valueAt(input, path);
  // No steps yet is a canvas with only its entry; no list of steps at all is no journey.
  if (path.length === 1 && path[0] === 'steps') return Array.isArray(value) && value.length === 0;
  if (isEssential(path)) return false;
  return isEmpty(value);
}

function isEssential(path: readonly PropertyKey[]): boolean {
  return ESSENTIAL_PATHS.some(
    (essential) =>
      essential.length === path.length &&
      essential.every((key, index) => key === '*' || key === String(path[index])),
  );
}

/** Not filled in: missing, null (JSON's "no value", as an empty number box sends), blank, an empty list. */
export function isEmpty(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    (typeof value === 'string' && value.trim() === '') ||
    (Array.isArray(value) && value.length === 0)
  );
}

export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cursor = input;
  for (const key of path) {
    if (cursor === null || typeof cursor !== 'object') return undefined;
    cursor = (cursor as Record<PropertyKey, unknown>)[key];
  }
  return cursor;
}

function repeatedStepId(input: unknown): InputIssue | undefined {
  const steps = valueAt(input, ['steps']) as Array<{ id: string }>;
  const seen = new Set<string>();
  for (const [index, step] of steps.entries()) {
    if (seen.has(step.id))
      return { path: ['steps', index, 'id'], message: `step id ${step.id} is used twice` };
    seen.add(step.id);
  }
  return undefined;
}
