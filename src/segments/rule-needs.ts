import { durationMs } from '../core/duration.js';
import type { SegmentCondition } from '../core/segment-definition.js';
import { isRelativeToNow } from './evaluate.js';

/** What evaluating some rules needs loaded about a profile, so that nothing else is read. */
export interface RuleNeeds {
  /** Event names, each with how far back its events matter (null: all of them) and whether properties are read. */
  events: Map<string, { since: number | null; withProperties: boolean }>;
  /** Whether a profile trait is read (an identify may change the answer). */
  traits: boolean;
  accounts: boolean;
  subscriptions: boolean;
  scores: boolean;
  stage: boolean;
  /** Other segments the rules ask about. */
  segments: Set<string>;
  /** Whether membership can change by time alone (then it needs timers). */
  isTimeDependent: boolean;
}

export function emptyNeeds(): RuleNeeds {
  return {
    events: new Map(),
    traits: false,
    accounts: false,
    subscriptions: false,
    scores: false,
    stage: false,
    segments: new Set(),
    isTimeDependent: false,
  };
}

/** The needs of these rules together, as of `now` (windows reach back from it). */
export function ruleNeeds(rules: readonly SegmentCondition[], now: number): RuleNeeds {
  const needs = emptyNeeds();
  for (const rule of rules) collect(rule, now, needs);
  return needs;
}

function collect(condition: SegmentCondition, now: number, needs: RuleNeeds): void {
  if ('all' in condition || 'any' in condition) {
    for (const part of 'all' in condition ? condition.all : condition.any) collect(part, now, needs);
    return;
  }
  if ('not' in condition) {
    collect(condition.not, now, needs);
    return;
  }
  switch (condition.type) {
    case 'trait':
    case 'account_trait':
      if (condition.type === 'account_trait') needs.accounts = true;
      else needs.traits = true;
      if (condition.op === 'within_last' || condition.op === 'not_within_last') needs.isTimeDependent = true;
      return;
    case 'event': {
      // A rolling window needs only its own span; a count over all time needs every event.
      const since = condition.within === undefined ? null : now - durationMs(condition.within);
      // A rolling window, or a property filter relative to now, changes which events count by time alone.
      if (condition.within !== undefined || condition.where.some(isRelativeToNow))
        needs.isTimeDependent = true;
      addEvent(needs, condition.event, since, condition.where.length > 0);
      return;
    }
    case 'event_time': {
      const isRelative = condition.op === 'within_last' || condition.op === 'not_within_last';
      if (isRelative) needs.isTimeDependent = true;
      // Whether the last time falls in a window (or after a date) shows from the events in it alone:
      // none there means the last one is older, or never happened, and both answer alike. The first
      // time, or a last time before a date, needs the whole history.
      const since =
        condition.which === 'last' && isRelative
          ? now - durationMs(condition.value)
          : condition.which === 'last' && condition.op === 'after'
            ? Date.parse(condition.value)
            : null;
      addEvent(needs, condition.event, since, false);
      return;
    }
    case 'segment':
      needs.segments.add(condition.segment);
      return;
    case 'subscription':
      needs.subscriptions = true;
      return;
    case 'score':
      // Scores decay between events: a timer finds when one leaves (or enters) the range.
      needs.scores = true;
      needs.isTimeDependent = true;
      // Fit rules score the profile's traits: a score reads them too (its accounts' it reads itself).
      needs.traits = true;
      return;
    case 'lifecycle':
      needs.stage = true;
      return;
  }
}

function addEvent(needs: RuleNeeds, name: string, since: number | null, withProperties: boolean): void {
  const known = needs.events.get(name);
  if (!known) {
    needs.events.set(name, { since, withProperties });
    return;
  }
  known.since = known.since === null || since === null ? null : Math.min(known.since, since);
  known.withProperties ||= withProperties;
}

/** Segments asking about each other in a circle: `cycle` holds their ids, the first one again at the end. */
export class SegmentCycleError extends Error {
  constructor(readonly cycle: string[]) {
    super(`segments refer to each other: ${cycle.join(' → ')}`);
  }
}

/**
 * Live segments in an order where each comes after the segments its rule asks about, so one pass
 * decides them all; throws on a cycle (saving a segment refuses one before it gets here).
 */
export function dependencyOrder<T extends { id: string; rule: SegmentCondition | null }>(segments: T[]): T[] {
  const byId = new Map(segments.map((segment) => [segment.id, segment]));
  const ordered: T[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (segment: T, path: string[]) => {
    const current = state.get(segment.id);
    if (current === 'done') return;
    if (current === 'visiting') {
      const cycle = [...path.slice(path.indexOf(segment.id)), segment.id];
      throw new SegmentCycleError(cycle);
    }
    state.set(segment.id, 'visiting');
    if (segment.rule) {
      for (const dependency of ruleNeeds([segment.rule], 0).segments) {
        const other = byId.get(dependency);
        if (other) visit(other, [...path, segment.id]);
      }
    }
    state.set(segment.id, 'done');
    ordered.push(segment);
  };
  for (const segment of segments) visit(segment, []);
  return ordered;
}

/**
 * Event names of which a profile must have performed at least one (within the rule's windows) for the
 * rule to hold, when the rule implies that; undefined otherwise. A backfill then only looks at the
 * profiles with such events instead of at everyone.
 */
export function requiredEventNames(condition: SegmentCondition): Set<string> | undefined {
  if ('all' in condition) {
    for (const part of condition.all) {
      const names = requiredEventNames(part);
      if (names) return names;
    }
    return undefined;
  }
  if ('any' in condition) {
    const union = new Set<string>();
    for (const part of condition.any) {
      const names = requiredEventNames(part);
      if (!names) return undefined;
      for (const name of names) union.add(name);
    }
    return union;
  }
  if ('not' in condition) return undefined;
  if (condition.type === 'event') return condition.atLeast >= 1 ? new Set([condition.event]) : undefined;
  if (condition.type === 'event_time')
    // Only "last done … ago" holds for a profile that never did it.
    return condition.op === 'not_within_last' && condition.which === 'last'
      ? undefined
      : new Set([condition.event]);
  return undefined;
}
