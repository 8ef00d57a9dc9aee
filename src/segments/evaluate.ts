import { durationMs } from '../core/duration.js';
import { isoDateValue } from '../core/iso-date.js';
import { nextChange } from '../core/next-change.js';
import type {
  EventCondition,
  EventTimeCondition,
  PropertyFilter,
  SegmentCondition,
  ValueOp,
} from '../core/segment-definition.js';
import type { ConsentChannel } from '../core/topic-consent.js';
import { compare } from '../core/value-comparison.js';
import { readPath } from '../journeys/conditions.js';

/** A profile's event, as much of it as segment conditions read. */
export interface EventFact {
  name: string;
  timestamp: number;
  properties: Record<string, unknown>;
}

/**
 * What an event condition asks of a profile's events: those with one name that pass the filters.
 * `keep` is how many of the most recent decide the condition (or that the first one does), so an
 * answer may hold only those (see event-digest.ts).
 */
export interface EventQuery {
  event: string;
  where: readonly PropertyFilter[];
  keep: number | 'first';
  /** How long after it happened an event can still count (ms), or null: forever. */
  reachMs: number | null;
}

/**
 * What a segment rule can ask about one profile. Storage supplies it (a profile's recent events, its
 * accounts, consent, scores), so the rule is decided the same way on backfill and on each event.
 */
export interface ProfileFacts {
  traits: Record<string, unknown>;
  /** The traits of each account (group) the profile belongs to. */
  accounts: Array<Record<string, unknown>>;
  /**
   * The profile's events answering the query, oldest first: all of them, or at least the `keep` most
   * recent (the first, for `first`).
   */
  eventsMatching(query: EventQuery, now: number): readonly EventFact[];
  /** Subscribed to the topic on the channel, or on every channel when none is named. */
  isSubscribed(topic: string, channel?: ConsentChannel): boolean;
  /** The score under the model at `at` (scores decay between events), undefined for no such model. */
  score(model: string, at: number): number | undefined;
  /** After this moment decay no longer moves the score; undefined when nothing in it decays. */
  scoreSettlesBy(model: string): number | undefined;
  /** Moments after `now` a fit rule of the model starts or stops holding by time alone (a trait date). */
  scoreFitChanges(model: string, now: number): readonly number[];
  stage: string | undefined;
  isInSegment(segmentId: string): boolean;
}

const queriesAsked = new WeakMap<EventCondition | EventTimeCondition, EventQuery>();

/** The query an event or event-time condition asks (the same object each time for one condition). */
export function eventQuery(condition: EventCondition | EventTimeCondition): EventQuery {
  let query = queriesAsked.get(condition);
  if (!query) {
    // At least N needs the N most recent; at most M, whether there is an (M + 1)th. A rolling window
    // lets go of events for good (time only moves on); a first time, or a last one before or after a
    // date, looks at all time.
    const isRecentLast =
      condition.type === 'event_time' &&
      condition.which === 'last' &&
      (condition.op === 'within_last' || condition.op === 'not_within_last');
    query =
      condition.type === 'event_time'
        ? {
            event: condition.event,
            where: [],
            keep: condition.which === 'first' ? 'first' : 1,
            reachMs: isRecentLast ? durationMs(condition.value) : null,
          }
        : {
            event: condition.event,
            where: condition.where,
            keep: Math.max(1, condition.atLeast, (condition.atMost ?? -1) + 1),
            reachMs: condition.within === undefined ? null : durationMs(condition.within),
          };
    queriesAsked.set(condition, query);
  }
  return query;
}

/** Answers event queries from a profile's whole event history by name (oldest first). */
export function matchingFrom(
  eventsNamed: (name: string) => readonly EventFact[],
): ProfileFacts['eventsMatching'] {
  return (query, now) => {
    const events = eventsNamed(query.event);
    return query.where.length === 0
      ? events
      : events.filter((event) => matchesFilters(event, query.where, now));
  };
}

/** Facts of traits and accounts alone, for rules that look at nothing else (fit scores, owner assignment). */
export function traitFacts(
  traits: Record<string, unknown>,
  accounts: Array<Record<string, unknown>>,
): ProfileFacts {
  return {
    traits,
    accounts,
    eventsMatching: () => [],
    isSubscribed: () => true,
    score: () => undefined,
    scoreSettlesBy: () => undefined,
    scoreFitChanges: () => [],
    stage: undefined,
    isInSegment: () => false,
  };
}

/** Whether the profile matches the rule at `now`. */
export function isMember(condition: SegmentCondition, facts: ProfileFacts, now: number): boolean {
  if ('all' in condition) return condition.all.every((part) => isMember(part, facts, now));
  if ('any' in condition) return condition.any.some((part) => isMember(part, facts, now));
  if ('not' in condition) return !isMember(condition.not, facts, now);
  switch (condition.type) {
    case 'trait':
      return matchesValue(readPath(facts.traits, condition.path), condition.op, condition.value, now);
    case 'account_trait':
      return facts.accounts.some((traits) =>
        matchesValue(readPath(traits, condition.path), condition.op, condition.value, now),
      );
    case 'event': {
      const since =
        condition.within === undefined ? Number.NEGATIVE_INFINITY : now - durationMs(condition.within);
      let count = 0;
      for (const event of facts.eventsMatching(eventQuery(condition), now)) {
        if (event.timestamp > since && event.timestamp <= now) count++;
      }
      return count >= condition.atLeast && (condition.atMost === undefined || count <= condition.atMost);
    }
    case 'event_time': {
      const event = firstOrLast(condition, facts, now);
      // Never done: not done lately, but no first time long ago either.
      if (!event) return condition.op === 'not_within_last' && condition.which === 'last';
      switch (condition.op) {
        case 'before':
          return event.timestamp < Date.parse(condition.value);
        case 'after':
          return event.timestamp > Date.parse(condition.value);
        case 'within_last':
          return event.timestamp > now - durationMs(condition.value);
        case 'not_within_last':
          return event.timestamp <= now - durationMs(condition.value);
      }
      break;
    }
    case 'segment':
      return facts.isInSegment(condition.segment) === (condition.is === 'in');
    case 'subscription':
      return facts.isSubscribed(condition.topic, condition.channel) === condition.subscribed;
    case 'score':
      return isScoreInRange(condition, facts, now);
    case 'lifecycle':
      return facts.stage !== undefined && condition.stages.includes(facts.stage);
  }
  return false;
}

/** Every future moment something in the rule changes by time alone, earliest first. */
export function futureTimeChanges(condition: SegmentCondition, facts: ProfileFacts, now: number): number[] {
  const moments: number[] = [];
  collectTimeChanges(condition, facts, now, moments);
  return [...new Set(moments.filter((moment) => moment > now))].sort((a, b) => a - b);
}

function collectTimeChanges(
  condition: SegmentCondition,
  facts: ProfileFacts,
  now: number,
  out: number[],
): void {
  if ('all' in condition || 'any' in condition) {
    for (const part of 'all' in condition ? condition.all : condition.any)
      collectTimeChanges(part, facts, now, out);
    return;
  }
  if ('not' in condition) {
    collectTimeChanges(condition.not, facts, now, out);
    return;
  }
  switch (condition.type) {
    case 'event': {
      const relative = condition.where.filter(isRelativeToNow);
      // With a filter relative to now, which events match changes by time alone: every event of the
      // name counts, and the moments each of its dates enters the filter's span and leaves it.
      const events = facts.eventsMatching(
        relative.length > 0 ? everyEventOf(condition) : eventQuery(condition),
        now,
      );
      for (const event of events) {
        // Each counted event leaves the window one window-length after it happened.
        if (condition.within !== undefined) out.push(event.timestamp + durationMs(condition.within));
        for (const filter of relative) {
          const at = isoDateValue(readPath(event.properties, filter.path));
          if (at !== undefined) out.push(at, at + durationMs(filter.value as string));
        }
      }
      return;
    }
    case 'event_time': {
      if (condition.op !== 'within_last' && condition.op !== 'not_within_last') return;
      const event = firstOrLast(condition, facts, now);
      if (event) out.push(event.timestamp + durationMs(condition.value));
      return;
    }
    case 'score': {
      const crossing = nextScoreCrossing(condition, facts, now);
      if (crossing !== undefined) out.push(crossing);
      out.push(...facts.scoreFitChanges(condition.model, now));
      return;
    }
    case 'trait':
    case 'account_trait': {
      if (condition.op !== 'within_last' && condition.op !== 'not_within_last') return;
      const values =
        condition.type === 'trait'
          ? [readPath(facts.traits, condition.path)]
          : facts.accounts.map((traits) => readPath(traits, condition.path));
      // A date still to come enters the span when it arrives, and leaves it one span later.
      for (const value of values) {
        const at = isoDateValue(value);
        if (at !== undefined) out.push(at, at + durationMs(condition.value as string));
      }
      return;
    }
  }
}

type ScoreCondition = Extract<SegmentCondition, { type: 'score' }>;

function isScoreInRange(condition: ScoreCondition, facts: ProfileFacts, at: number): boolean {
  const score = facts.score(condition.model, at);
  if (score === undefined) return false;
  return (
    (condition.min === undefined || score >= condition.min) &&
    (condition.max === undefined || score <= condition.max)
  );
}

/**
 * The first moment after `now` decay alone takes the score into or out of the condition's range, to
 * the second, or undefined if it never does; the timer set for what is found decides again then.
 */
function nextScoreCrossing(condition: ScoreCondition, facts: ProfileFacts, now: number): number | undefined {
  const settlesBy = facts.scoreSettlesBy(condition.model);
  if (settlesBy === undefined) return undefined;
  return nextChange((at) => isScoreInRange(condition, facts, at), now, settlesBy);
}

/** Whether a property filter compares with the time of deciding, so its answer changes as time passes. */
export function isRelativeToNow(filter: PropertyFilter): boolean {
  return filter.op === 'within_last' || filter.op === 'not_within_last';
}

const everyEventAsked = new WeakMap<EventCondition, EventQuery>();

/**
 * Every event of the condition's name in its window, whatever its properties: a query no digest keeps
 * (its `keep` is no rule's), so it is answered from the log, as queries with such filters are.
 */
function everyEventOf(condition: EventCondition): EventQuery {
  let query = everyEventAsked.get(condition);
  if (!query) {
    query = { ...eventQuery(condition), where: [], keep: Number.MAX_SAFE_INTEGER };
    everyEventAsked.set(condition, query);
  }
  return query;
}

/** The profile's first or last event of the condition's name that has happened by `now`. */
function firstOrLast(condition: EventTimeCondition, facts: ProfileFacts, now: number): EventFact | undefined {
  const events = facts.eventsMatching(eventQuery(condition), now);
  if (condition.which === 'first')
    return events[0] !== undefined && events[0].timestamp <= now ? events[0] : undefined;
  return events.findLast((event) => event.timestamp <= now);
}

/** Whether the event's properties pass every filter. */
export function matchesFilters(
  event: Pick<EventFact, 'properties'>,
  filters: readonly PropertyFilter[],
  now: number,
): boolean {
  return filters.every((filter) =>
    matchesValue(readPath(event.properties, filter.path), filter.op, filter.value, now),
  );
}

function matchesValue(actual: unknown, op: ValueOp, expected: unknown, now: number): boolean {
  if (op === 'within_last' || op === 'not_within_last') {
    const at = isoDateValue(actual);
    if (at === undefined) return false;
    const isRecent = at > now - durationMs(expected as string) && at <= now;
    return op === 'within_last' ? isRecent : !isRecent;
  }
  return compare(actual, op, expected);
}

/** At most this many future moments are tried when looking for the next change of membership. */
const MAX_MOMENTS_TRIED = 64;

/**
 * The next moment membership actually flips by time alone (not every moment an event leaves a window:
 * most do not change the outcome), or undefined. A durable timer is set for it.
 */
export function nextMembershipChange(
  condition: SegmentCondition,
  facts: ProfileFacts,
  now: number,
): number | undefined {
  const future = futureTimeChanges(condition, facts, now);
  if (future.length === 0) return undefined;
  const isMemberNow = isMember(condition, facts, now);
  for (const moment of future.slice(0, MAX_MOMENTS_TRIED)) {
    if (isMember(condition, facts, moment) !== isMemberNow) return moment;
  }
  // Beyond the moments tried: look again at the last one.
  return future.length > MAX_MOMENTS_TRIED ? future[MAX_MOMENTS_TRIED - 1] : undefined;
}
