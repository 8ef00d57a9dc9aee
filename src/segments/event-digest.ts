import { createHash } from 'node:crypto';
import type { SegmentCondition } from '../core/segment-definition.js';
import { type EventFact, type EventQuery, eventQuery, isRelativeToNow, matchesFilters } from './evaluate.js';

/**
 * A profile's event digest: for each event query its live segments ask (see `EventQuery`), the few
 * events that decide it — the `keep` most recent matching ones, or the first — as a flat list
 * `[timestamp, eventId, …]`, oldest first. A query present with an empty list has no matching event;
 * one absent has not been read from the log yet.
 *
 * A digest is derived from the log: deciding a profile's segments from it spares reading its events,
 * each new event updates it, and one lost is read again. Adding an event is idempotent (the most
 * recent N of a set, keyed by timestamp and id): an event read from the log and met again in a batch
 * counts once.
 */
export type EventDigest = Record<string, number[]>;

/** An event query a digest keeps, with the key it is stored under. */
export interface DigestQuery {
  key: string;
  query: EventQuery;
}

/** An event as the digest reads it. */
export interface DigestEvent {
  id: number;
  name: string;
  timestamp: number;
  properties: Record<string, unknown>;
}

const KEY_LENGTH = 10;

/** Every event query these rules ask, by key (a digest can keep those `isDigestible` says). */
export function ruleQueries(rules: readonly SegmentCondition[]): Map<string, DigestQuery> {
  const queries = new Map<string, DigestQuery>();
  for (const rule of rules) collect(rule, queries);
  return queries;
}

/** The queries these rules ask that a digest can keep, by key. */
export function digestQueries(rules: readonly SegmentCondition[]): Map<string, DigestQuery> {
  const queries = ruleQueries(rules);
  for (const [key, { query }] of queries) if (!isDigestible(query)) queries.delete(key);
  return queries;
}

function collect(condition: SegmentCondition, queries: Map<string, DigestQuery>): void {
  if ('all' in condition || 'any' in condition) {
    for (const part of 'all' in condition ? condition.all : condition.any) collect(part, queries);
    return;
  }
  if ('not' in condition) {
    collect(condition.not, queries);
    return;
  }
  if (condition.type !== 'event' && condition.type !== 'event_time') return;
  const query = eventQuery(condition);
  const key = queryKey(query);
  if (!queries.has(key)) queries.set(key, { key, query });
}

/**
 * Whether a query's answer can be kept as events arrive: not when a filter compares a property with
 * the time of deciding (`within_last`), which changes which events match without any new event.
 */
export function isDigestible(query: EventQuery): boolean {
  return !query.where.some(isRelativeToNow);
}

const keys = new WeakMap<EventQuery, string>();

/** A short stable key for a query (a digest row holds dozens of them). */
export function queryKey(query: EventQuery): string {
  let key = keys.get(query);
  if (key === undefined) {
    // A query read from the log only as far back as its window cannot answer a longer one.
    const canonical = JSON.stringify([query.event, query.where, query.keep, query.reachMs]);
    key = createHash('sha1').update(canonical).digest('base64url').slice(0, KEY_LENGTH);
    keys.set(query, key);
  }
  return key;
}

/**
 * Adds an event to every query of the digest it answers (queries not yet in the digest are left
 * out); whether that changed the digest. `queries` may be only those asking about its name.
 */
export function addEvent(digest: EventDigest, queries: readonly DigestQuery[], event: DigestEvent): boolean {
  let isChanged = false;
  for (const { key, query } of queries) {
    const kept = digest[key];
    if (kept === undefined || query.event !== event.name) continue;
    if (!matchesFilters(event, query.where, event.timestamp)) continue;
    const next = withEvent(kept, query.keep, event.timestamp, event.id);
    if (next !== kept) {
      digest[key] = next;
      isChanged = true;
    }
  }
  return isChanged;
}

/** Starts the queries from events read from the log (all of the profile's events of those names). */
export function fillQueries(
  digest: EventDigest,
  queries: readonly DigestQuery[],
  events: readonly DigestEvent[],
): void {
  for (const { key } of queries) digest[key] = [];
  const byName = queriesByName(queries);
  for (const event of events) addEvent(digest, byName.get(event.name) ?? [], event);
}

/** Queries by the event name they ask about, so that each event meets only its own. */
export function queriesByName(queries: readonly DigestQuery[]): Map<string, DigestQuery[]> {
  const byName = new Map<string, DigestQuery[]>();
  for (const query of queries) {
    const list = byName.get(query.query.event);
    if (list) list.push(query);
    else byName.set(query.query.event, [query]);
  }
  return byName;
}

/** The list with the event in it, keeping the `keep` most recent (or the first one). */
function withEvent(kept: number[], keep: number | 'first', timestamp: number, id: number): number[] {
  if (keep === 'first') {
    const [firstAt, firstId] = kept;
    const isEarlier =
      firstAt === undefined || timestamp < firstAt || (timestamp === firstAt && id < (firstId as number));
    return isEarlier ? [timestamp, id] : kept;
  }
  // Sorted by (timestamp, id), oldest first: find the slot, skip an event already there.
  let slot = kept.length;
  while (slot > 0) {
    const at = kept[slot - 2] as number;
    const keptId = kept[slot - 1] as number;
    if (at < timestamp || (at === timestamp && keptId < id)) break;
    if (at === timestamp && keptId === id) return kept;
    slot -= 2;
  }
  // Older than every one kept, with as many kept as needed: it would not stay.
  if (slot === 0 && kept.length >= keep * 2) return kept;
  const next = [...kept.slice(0, slot), timestamp, id, ...kept.slice(slot)];
  return next.length > keep * 2 ? next.slice(next.length - keep * 2) : next;
}

/** The digest's answer to a query, oldest first, or undefined when the digest does not keep it. */
export function digestAnswer(digest: EventDigest, query: EventQuery): EventFact[] | undefined {
  if (!isDigestible(query)) return undefined;
  const kept = digest[queryKey(query)];
  if (kept === undefined) return undefined;
  const events: EventFact[] = [];
  for (let i = 0; i < kept.length; i += 2)
    events.push({ name: query.event, timestamp: kept[i] as number, properties: {} });
  return events;
}

/** The digest with only these queries, so that those no live segment asks any more go. */
export function pruneDigest(digest: EventDigest, keys: ReadonlySet<string>): EventDigest {
  const pruned: EventDigest = {};
  for (const [key, kept] of Object.entries(digest)) if (keys.has(key)) pruned[key] = kept;
  return pruned;
}
