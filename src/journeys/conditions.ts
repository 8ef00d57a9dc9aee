import { isDeepStrictEqual } from 'node:util';
import { numberValue } from '../core/comparison-values.js';
import { isoDateValue } from '../core/iso-date.js';
import type { Comparison, Condition, ValueCondition } from '../core/journey-definition.js';

/** What conditions look at: the profile's traits, the event being handled, the event that entered. */
export interface ConditionScope {
  traits: Record<string, unknown>;
  event: Record<string, unknown> | undefined;
  entryEvent: Record<string, unknown> | undefined;
  /** Per sending step id: whether its message was opened or clicked (e-mail), or delivered (a text). */
  engagement: (stepId: string) => { opened: boolean; clicked: boolean; delivered: boolean };
  /** Where the profile stands (read only when a branch asks). */
  audience: Audience;
}

export interface Audience {
  isInSegment(segmentId: string): boolean;
  score(model: string): number | undefined;
  stage: string | undefined;
}

export const NO_AUDIENCE: Audience = { isInSegment: () => false, score: () => undefined, stage: undefined };

export function matchesAll(conditions: readonly Condition[], scope: ConditionScope): boolean {
  return conditions.every((condition) => matches(condition, scope));
}

export function matches(condition: Condition, scope: ConditionScope): boolean {
  if (condition.source === 'message') {
    const { opened, clicked, delivered } = scope.engagement(condition.step);
    switch (condition.op) {
      case 'delivered':
        return delivered;
      case 'not_delivered':
        return !delivered;
      case 'opened':
        return opened;
      case 'clicked':
        return clicked;
      case 'not_opened':
        return !opened;
      case 'not_clicked':
        return !clicked;
    }
  }
  if (condition.source === 'segment')
    return scope.audience.isInSegment(condition.segment) === (condition.op === 'in');
  if (condition.source === 'score') {
    const score = scope.audience.score(condition.model);
    return score !== undefined && compare(score, condition.op, condition.value);
  }
  if (condition.source === 'lifecycle') {
    const stage = scope.audience.stage;
    return (stage !== undefined && condition.stages.includes(stage)) === (condition.op === 'in');
  }
  const root =
    condition.source === 'trait'
      ? scope.traits
      : condition.source === 'event'
        ? scope.event
        : scope.entryEvent;
  return compare(readPath(root, condition.path), condition.op, (condition as ValueCondition).value);
}

/**
 * `a.b.c` in nested objects; undefined where any part is missing. Only what the data holds counts:
 * `constructor` or `toString` are no trait of everyone.
 */
export function readPath(root: unknown, path: string): unknown {
  let current = root;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

export function compare(actual: unknown, op: Comparison, expected: unknown): boolean {
  switch (op) {
    case 'exists':
      return actual !== undefined && actual !== null;
    case 'not_exists':
      return actual === undefined || actual === null;
    case 'eq':
      return isEqual(actual, expected);
    case 'neq':
      return !isEqual(actual, expected);
    case 'in':
      return Array.isArray(expected) && expected.some((candidate) => isEqual(actual, candidate));
    case 'contains':
      // A number asked of text looks for its digits: `contains 42` finds "order-42-x" (a form or the
      // console sends a bare 42 as a number).
      if (typeof actual === 'string') {
        const part = typeof expected === 'number' && Number.isFinite(expected) ? String(expected) : expected;
        return typeof part === 'string' && actual.toLowerCase().includes(part.toLowerCase());
      }
      return Array.isArray(actual) && actual.some((item) => isEqual(item, expected));
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const order = ordering(actual, expected);
      if (order === undefined) return false;
      return op === 'gt' ? order > 0 : op === 'gte' ? order >= 0 : op === 'lt' ? order < 0 : order <= 0;
    }
  }
}

/** Numbers compare as numbers (numeric strings too, as CSV imports and forms send them), dates as dates. */
function ordering(actual: unknown, expected: unknown): number | undefined {
  const a = numberValue(actual);
  const b = numberValue(expected);
  if (a !== undefined && b !== undefined) return a - b;
  const da = isoDateValue(actual);
  const db = isoDateValue(expected);
  if (da !== undefined && db !== undefined) return da - db;
  return undefined;
}

/**
 * Text compares whatever its case, as `contains` does: a CSV's "us" is the form's "US" (HubSpot's "is
 * any of" does the same), and a rule on `country in [US, GB]` would otherwise miss it in silence.
 */
function isEqual(actual: unknown, expected: unknown): boolean {
  if (actual === expected) return true;
  if (typeof actual === 'string' && typeof expected === 'string')
    return actual.length === expected.length && actual.toLowerCase() === expected.toLowerCase();
  const a = numberValue(actual);
  const b = numberValue(expected);
  if (a !== undefined && b !== undefined) return a === b;
  // A yes/no asked of text (or text of a yes/no): a CSV's "TRUE" or a form's "False" is the boolean.
  if (typeof actual === 'boolean' || typeof expected === 'boolean')
    return booleanValue(actual) !== undefined && booleanValue(actual) === booleanValue(expected);
  if (typeof actual === 'object' && typeof expected === 'object' && actual !== null && expected !== null) {
    return isDeepStrictEqual(actual, expected); // whatever the keys' order (jsonb reorders them)
  }
  return false;
}

/** A boolean, or text reading true or false whatever its case; undefined for anything else. */
function booleanValue(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  return text === 'true' ? true : text === 'false' ? false : undefined;
}
