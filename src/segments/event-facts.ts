import type { ProfileEventFact, StorageReader } from '../storage/storage.js';
import type { DigestCache } from './digest-cache.js';
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
  ruleQueries,
} from './event-digest.js';
import type { RuleSegment } from './membership.js';

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
    const found = await reader.segments.eventFacts({
      workspaceId: options.workspaceId,
      profileIds,
      names: namesToRead(queries, options.now),
    });
    const byProfile = new Map<string, DigestEvent[]>(profileIds.map((profileId) => [profileId, []]));
    // A decision as of a moment past (a timer, judged through the events read before it fell due)
    // must not keep a later event in place of one in its window; the batch reading it adds it then.
    for (const fact of found)
      if (fact.timestamp <= options.now) byProfile.get(fact.profileId)?.push({ ...fact, id: fact.eventId });
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
  const groups = new Map<readonly RuleSegment[], { queries: DigestQuery[]; profileIds: string[] }>();
  for (const profileId of options.profileIds) {
    const segments = options.chosen.get(profileId) ?? [];
    let group = groups.get(segments);
    if (!group) {
      const asked = ruleQueries(segments.map((segment) => segment.rule)).values();
      group = { queries: [...asked].filter(({ query }) => !isDigestible(query)), profileIds: [] };
      groups.set(segments, group);
    }
    group.profileIds.push(profileId);
  }
  const facts: ProfileEventFact[] = [];
  for (const { queries, profileIds } of groups.values()) {
    if (queries.length === 0) continue;
    const found = await reader.segments.eventFacts({
      workspaceId: options.workspaceId,
      profileIds,
      names: namesToRead(queries, options.now),
    });
    for (const fact of found) facts.push(fact);
  }
  return facts;
}

/** The event names these queries read from the log, each as far back as the longest of them looks. */
function namesToRead(
  queries: readonly DigestQuery[],
  now: number,
): Array<{ name: string; since: number | null; withProperties: boolean }> {
  const names = new Map<string, { name: string; since: number | null; withProperties: boolean }>();
  for (const { query } of queries) {
    const since = query.reachMs === null ? null : now - query.reachMs;
    const withProperties = query.where.length > 0;
    const known = names.get(query.event);
    if (!known) names.set(query.event, { name: query.event, since, withProperties });
    else {
      known.since = known.since === null || since === null ? null : Math.min(known.since, since);
      known.withProperties ||= withProperties;
    }
  }
  return [...names.values()];
}
