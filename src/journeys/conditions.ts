import type { Condition, ValueCondition } from '../core/journey-definition.js';
import { compare } from '../core/value-comparison.js';

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
