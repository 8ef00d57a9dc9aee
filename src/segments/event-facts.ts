import type { SegmentCondition } from '../core/segment-definition.js';
import type { ProfileEventFact, StorageReader } from '../storage/storage.js';
import type { DigestCache } from './digest-cache.js';
import { eventQuery } from './evaluate.js';
import {
  addEvent,
  type DigestEvent,
  type DigestQuery,
  digestQueries,
  type EventDigest,
  fillQueries,
  isDigestible,
  pruneDigest,
  queriesByName,
} from './event-digest.js';
import type { RuleSegment } from './membership.js';
import { ruleNeeds } from './rule-needs.js';

/*
 * The events a decision reads: from each profile's digest, brought up to date with the batch, and
 * from the log for what a digest cannot keep.
 */

/** A profile's events in a batch, and whether anything may have changed beyond them (a merge). */
export interface BatchEvents {
  events: DigestEvent[];
  all: boolean;
}

/**
 * Each profile's digest with the batch's events in it. When it lacks a query its chosen segments
 * ask, the queries of every live segment it lacks are read from the log (all of the profile's events
 * of those names, as far back as the queries look; the batch's own are among them). A merged
 * profile's digest starts over.
 */
export async function updateDigests(
  reader: StorageReader,
  options: {
    workspaceId: string;
    profileIds: string[];
    touches: Map<string, BatchEvents>;
    chosen: Map<string, RuleSegment[]>;
    cache: DigestCache | undefined;
    segments: RuleSegment[];
    now: number;
  },
): Promise<Map<string, EventDigest>> {
  const kept = [...digestQueries(options.segments.map((segment) => segment.rule)).values()];
  const keptKeys = new Set(kept.map((query) => query.key));
  const keptByName = queriesByName(kept);
  const queriesOf = memoizedQueries(options.chosen);
  const digests = new Map<string, EventDigest>();
  // Profiles whose digests lack some queries, grouped by those queries, to read them in one go each.
  const toFill = new Map<string, { queries: DigestQuery[]; profileIds: string[] }>();
  for (const profileId of options.profileIds) {
    const touch = options.touches.get(profileId) ?? { events: [], all: false };
    const cached = touch.all ? undefined : options.cache?.get(profileId);
    const digest = cached ? pruneDigest(cached, keptKeys) : {};
    for (const event of touch.events) addEvent(digest, keptByName.get(event.name) ?? [], event);
    digests.set(profileId, digest);
    // Whatever is read, every query of the live segments is read: the next batches find them all.
    if (queriesOf(profileId).every((query) => digest[query.key] !== undefined)) continue;
    const missing = kept.filter((query) => digest[query.key] === undefined);
    const groupKey = missing.map((query) => query.key).join(',');
    const group = toFill.get(groupKey) ?? { queries: missing, profileIds: [] };
    group.profileIds.push(profileId);
    toFill.set(groupKey, group);
  }
  for (const { queries, profileIds } of toFill.values()) {
    const names = new Map<string, { since: number | null; withProperties: boolean }>();
    for (const { query } of queries) {
      const since = query.reachMs === null ? null : options.now - query.reachMs;
      const known = names.get(query.event);
      const withProperties = query.where.length > 0;
      if (!known) names.set(query.event, { since, withProperties });
      else {
        known.since = known.since === null || since === null ? null : Math.min(known.since, since);
        known.withProperties ||= withProperties;
      }
    }
    const found = await reader.segments.eventFacts({
      workspaceId: options.workspaceId,
      profileIds,
      names: [...names].map(([name, wanted]) => ({ name, ...wanted })),
    });
    const byProfile = new Map<string, DigestEvent[]>(profileIds.map((profileId) => [profileId, []]));
    for (const fact of found) byProfile.get(fact.profileId)?.push({ ...fact, id: fact.eventId });
    for (const [profileId, events] of byProfile)
      fillQueries(digests.get(profileId) as EventDigest, queries, events);
  }
  return digests;
}

/** Per profile, the digest queries of its chosen segments (once per list: profiles touched alike share one). */
function memoizedQueries(chosen: Map<string, RuleSegment[]>): (profileId: string) => DigestQuery[] {
  const byChoice = new Map<readonly RuleSegment[], DigestQuery[]>();
  return (profileId) => {
    const segments = chosen.get(profileId) ?? [];
    let queries = byChoice.get(segments);
    if (!queries) {
      queries = [...digestQueries(segments.map((segment) => segment.rule)).values()];
      byChoice.set(segments, queries);
    }
    return queries;
  };
}

/**
 * The events the chosen segments count that a digest cannot keep (a property filter relative to
 * now), read from the log at each decision: one query per distinct choice of segments.
 */
export async function logFacts(
  reader: StorageReader,
  options: { workspaceId: string; profileIds: string[]; chosen: Map<string, RuleSegment[]>; now: number },
): Promise<ProfileEventFact[]> {
  const groups = new Map<
    readonly RuleSegment[],
    { names: Map<string, { since: number | null }>; profileIds: string[] }
  >();
  for (const profileId of options.profileIds) {
    const segments = options.chosen.get(profileId) ?? [];
    let group = groups.get(segments);
    if (!group) {
      group = { names: undigestedNames(segments, options.now), profileIds: [] };
      groups.set(segments, group);
    }
    group.profileIds.push(profileId);
  }
  const facts: ProfileEventFact[] = [];
  for (const { names, profileIds } of groups.values()) {
    if (names.size === 0) continue;
    const found = await reader.segments.eventFacts({
      workspaceId: options.workspaceId,
      profileIds,
      names: [...names].map(([name, { since }]) => ({ name, since, withProperties: true })),
    });
    for (const fact of found) facts.push(fact);
  }
  return facts;
}

/** Event names (with how far back) of the conditions in these rules that a digest cannot answer. */
function undigestedNames(
  segments: readonly RuleSegment[],
  now: number,
): Map<string, { since: number | null }> {
  const names = new Map<string, { since: number | null }>();
  const visit = (condition: SegmentCondition) => {
    if ('all' in condition || 'any' in condition) {
      for (const part of 'all' in condition ? condition.all : condition.any) visit(part);
      return;
    }
    if ('not' in condition) return visit(condition.not);
    if (condition.type !== 'event' && condition.type !== 'event_time') return;
    if (isDigestible(eventQuery(condition))) return;
    const since = ruleNeeds([condition], now).events.get(condition.event)?.since ?? null;
    const known = names.get(condition.event);
    names.set(condition.event, {
      since:
        known === undefined
          ? since
          : known.since === null || since === null
            ? null
            : Math.min(known.since, since),
    });
  };
  for (const segment of segments) visit(segment.rule);
  return names;
}
