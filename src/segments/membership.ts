import type { GeneratedEvent } from '../core/event.js';
import { SEGMENT_ENTERED, SEGMENT_EXITED, type SegmentCondition } from '../core/segment-definition.js';
import { isSubscribedEverywhere, isSubscribedOn } from '../core/topic-consent.js';
import type { WorkspaceSettings } from '../core/workspace-settings.js';
import { profileEvent } from '../profiles/profile-events.js';
import { readScoresOverTime } from '../scoring/scores-over-time.js';
import type {
  ProfileEventFact,
  ProfileIdentity,
  SegmentMemberChange,
  StorageReader,
} from '../storage/storage.js';
import {
  type EventFact,
  isMember,
  matchingFrom,
  nextMembershipChange,
  type ProfileFacts,
} from './evaluate.js';
import { digestAnswer, type EventDigest } from './event-digest.js';
import type { RuleNeeds } from './rule-needs.js';

/** A live segment as evaluation needs it. */
export interface RuleSegment {
  id: string;
  name: string;
  rule: SegmentCondition;
  /** Whether membership can change by time alone, so a timer is kept per profile. */
  isTimeDependent: boolean;
  /**
   * Saved and still being backfilled: the live consumer decides it for every profile it touches (the
   * backfill leaves those to it).
   */
  isBackfilling?: boolean;
  /**
   * Being backfilled for the first time (a new segment): no Segment Entered/Exited is written for it,
   * by the consumer as by the backfill — its first members did not enter it, it was defined around
   * them. A segment backfilled again (its rule, or one it asks about, changed) reports the changes
   * events make meanwhile.
   */
  isFirstBackfill?: boolean;
  /** What the rule reads (windows as of time 0: only names and kinds count here). */
  needs: RuleNeeds;
}

/** Facts about a profile, with the segments it is in, updated as a pass decides them. */
export interface SegmentFacts extends ProfileFacts {
  memberOf: Set<string>;
}

export interface MembershipChanges {
  entered: SegmentMemberChange[];
  exited: SegmentMemberChange[];
  /** Per profile, a timer earlier than the one it has: the next moment a decided segment may change. */
  timers: Array<{ profileId: string; workspaceId: string; dueAt: number }>;
}

/** The profiles whose membership the changes write. */
export function profilesDecided(changes: MembershipChanges): string[] {
  const decided = [...changes.entered, ...changes.exited, ...changes.timers].map(
    (change) => change.profileId,
  );
  return [...new Set(decided)];
}

/** The changes, less those of these profiles. */
export function withoutProfiles(changes: MembershipChanges, left: ReadonlySet<string>): MembershipChanges {
  if (left.size === 0) return changes;
  const keep = <T extends { profileId: string }>(list: T[]) =>
    list.filter((item) => !left.has(item.profileId));
  return { entered: keep(changes.entered), exited: keep(changes.exited), timers: keep(changes.timers) };
}

const NO_EVENTS: readonly EventFact[] = [];

/** Per profile, its events by name, oldest first. */
export function groupEvents(facts: readonly ProfileEventFact[]): Map<string, Map<string, EventFact[]>> {
  const byProfile = new Map<string, Map<string, EventFact[]>>();
  for (const fact of facts) {
    let byName = byProfile.get(fact.profileId);
    if (!byName) {
      byName = new Map();
      byProfile.set(fact.profileId, byName);
    }
    // The fact is the event as rules read it: a backfill groups hundreds of thousands, not copied.
    const list = byName.get(fact.name);
    if (list) list.push(fact);
    else byName.set(fact.name, [fact]);
  }
  return byProfile;
}

/**
 * Reads what the rules need about these profiles (and nothing more) and builds their facts. Events
 * come from the caller: a batch reads them per profile, a backfill per event name for everyone.
 */
export async function buildFacts(
  reader: StorageReader,
  options: {
    workspaceId: string;
    profiles: ReadonlyArray<{ id: string; traits: Record<string, unknown> }>;
    needs: RuleNeeds;
    settings: WorkspaceSettings;
    events: Map<string, Map<string, EventFact[]>>;
    /** Per profile, its event digest: the queries it keeps are answered from it, not from `events`. */
    digests?: Map<string, EventDigest>;
    /** Only these segments' memberships are read (all of the profile's when omitted). */
    segmentIds?: string[];
  },
): Promise<Map<string, SegmentFacts>> {
  const { workspaceId, profiles, needs, settings, events } = options;
  const ids = profiles.map((profile) => profile.id);
  const [accounts, subscriptions, scores, stages, memberships] = await Promise.all([
    needs.accounts ? reader.segments.accountTraits(ids) : undefined,
    needs.subscriptions ? reader.consent.listSubscriptions(workspaceId, ids) : undefined,
    needs.scores ? readScoresOverTime(reader, { profiles, models: settings.scoring.models }) : undefined,
    needs.stage ? reader.scoring.stages(ids) : undefined,
    reader.segments.memberships(ids, options.segmentIds),
  ]);
  const topicDefaults = new Map(settings.topics.map((topic) => [topic.id, topic.defaultSubscribed]));
  const facts = new Map<string, SegmentFacts>();
  for (const profile of profiles) {
    const byName = events.get(profile.id);
    const chosen = subscriptions?.get(profile.id) ?? {};
    const profileScores = scores?.get(profile.id);
    const memberOf = memberships.get(profile.id) ?? new Set<string>();
    const fromLog = matchingFrom((name) => byName?.get(name) ?? NO_EVENTS);
    const digest = options.digests?.get(profile.id);
    facts.set(profile.id, {
      traits: profile.traits,
      accounts: accounts?.get(profile.id) ?? [],
      eventsMatching: digest ? (query, now) => digestAnswer(digest, query) ?? fromLog(query, now) : fromLog,
      isSubscribed: (topic, channel) => {
        const byDefault = topicDefaults.get(topic) ?? false;
        return channel
          ? isSubscribedOn(chosen, topic, channel, byDefault)
          : isSubscribedEverywhere(chosen, topic, byDefault);
      },
      score: (model, at) => profileScores?.get(model)?.at(at),
      scoreSettlesBy: (model) => profileScores?.get(model)?.settlesBy,
      scoreFitChanges: (model, now) => profileScores?.get(model)?.fitChangesAfter(now) ?? [],
      stage: stages?.get(profile.id),
      isInSegment: (segmentId) => memberOf.has(segmentId),
      memberOf,
    });
  }
  return facts;
}

/**
 * Decides each profile's membership of each segment (in dependency order, so a segment asking about
 * another sees its new answer) against what is stored, and the timer time-dependent rules need.
 * Only differences come out: a profile whose membership and timer stay as they are writes nothing.
 */
export function decideMembership(options: {
  workspaceId: string;
  /** The segments to decide for each profile (in dependency order). */
  segmentsOf: (profileId: string) => readonly RuleSegment[];
  facts: Map<string, SegmentFacts>;
  /** Per profile, the timer it has. */
  timers: ReadonlyMap<string, number>;
  now: number;
}): MembershipChanges {
  const { workspaceId, segmentsOf, facts, timers, now } = options;
  const changes: MembershipChanges = { entered: [], exited: [], timers: [] };
  for (const [profileId, profileFacts] of facts) {
    let nextChange: number | undefined;
    for (const segment of segmentsOf(profileId)) {
      const wasMember = profileFacts.memberOf.has(segment.id);
      const isMemberNow = isMember(segment.rule, profileFacts, now);
      if (isMemberNow !== wasMember) {
        const change = { segmentId: segment.id, profileId, workspaceId, at: now };
        if (isMemberNow) {
          profileFacts.memberOf.add(segment.id);
          changes.entered.push(change);
        } else {
          profileFacts.memberOf.delete(segment.id);
          changes.exited.push(change);
        }
      }
      if (!segment.isTimeDependent) continue;
      const dueAt = nextMembershipChange(segment.rule, profileFacts, now);
      if (dueAt !== undefined && (nextChange === undefined || dueAt < nextChange)) nextChange = dueAt;
    }
    // A timer is only ever brought forward. One due later than needed is left: it fires, finds
    // nothing changed and sets the next one. Most events push the next change later (another page
    // view keeps a profile active longer), so this spares a write on almost every event.
    const current = timers.get(profileId);
    if (nextChange !== undefined && (current === undefined || nextChange < current))
      changes.timers.push({ profileId, workspaceId, dueAt: nextChange });
  }
  return changes;
}

/** What a decision from events had read: journeys entering on it look for what came after. */
export interface DecisionRead {
  /** The newest event id in the log once its reads were done: no event after it was read. */
  throughEventId: number;
  /** Per profile decided from its events, when the latest of them happened. */
  lastEventAt: ReadonlyMap<string, number>;
}

/**
 * `Segment Entered` / `Segment Exited` on each profile whose membership changed, for timelines and
 * journeys. With `read`, those of a profile decided from its events carry `last_event_id` (no event
 * after it was read) and `last_event_at`: a journey entering the contact on it counts its goal met by
 * an event after those, which journeys may have handled before the contact entered.
 */
export function membershipEvents(options: {
  changes: MembershipChanges;
  segmentNames: Map<string, string>;
  ids: Map<string, ProfileIdentity>;
  at: number;
  read?: DecisionRead;
}): GeneratedEvent[] {
  const { changes, segmentNames, ids, at } = options;
  const events: GeneratedEvent[] = [];
  const add = (change: SegmentMemberChange, name: string) => {
    const event = profileEvent({
      workspaceId: change.workspaceId,
      identity: ids.get(change.profileId),
      name,
      key: `${change.segmentId}-${change.profileId}`,
      properties: {
        segment_id: change.segmentId,
        segment_name: segmentNames.get(change.segmentId) ?? change.segmentId,
        ...readProperties(options.read, change.profileId),
      },
      at,
    });
    if (event) events.push(event);
  };
  for (const change of changes.entered) add(change, SEGMENT_ENTERED);
  for (const change of changes.exited) add(change, SEGMENT_EXITED);
  return events;
}

function readProperties(
  read: DecisionRead | undefined,
  profileId: string,
): { last_event_id?: number; last_event_at?: string } {
  const at = read?.lastEventAt.get(profileId);
  if (read === undefined || at === undefined) return {};
  return { last_event_id: read.throughEventId, last_event_at: new Date(at).toISOString() };
}
