import { isDeepStrictEqual } from 'node:util';
import { groupByWorkspace, payloadProperties, type StoredEvent } from '../core/event.js';
import { STAGE_CHANGED } from '../core/lifecycle.js';
import { ACCOUNT_LEFT, isMopsEventName } from '../core/mops-events.js';
import { isContactMadeByMops, TRAITS_UPDATED } from '../core/profile.js';
import { PAST_EVENTS_SCORED } from '../core/score-replay.js';
import { SEGMENT_ENTERED, SEGMENT_EXITED, type Segment } from '../core/segment-definition.js';
import type { DueTimer } from '../core/timers.js';
import { singledOut } from '../pipeline/timer-scheduler.js';
import { contactsOfAccountsChanged, eventProfileIds, profilesMergedSince } from '../profiles/profiles.js';
import {
  type PipelineBatch,
  StaleBatchError,
  type Storage,
  type StorageReader,
  type StorageTx,
} from '../storage/storage.js';
import type { DigestCache } from './digest-cache.js';
import { type DigestEvent, digestQueries } from './event-digest.js';
import { logFacts, updateDigests } from './event-facts.js';
import {
  buildFacts,
  decideMembership,
  groupEvents,
  type MembershipChanges,
  membershipEvents,
  profilesDecided,
  type RuleSegment,
  withoutProfiles,
} from './membership.js';
import { dependencyOrder, ruleNeeds } from './rule-needs.js';

/** The segments consumer's cursor: after scores (rules may ask about them), before nothing. */
export const SEGMENTS_CURSOR = 'segments';

/**
 * Which of Mops's own events the segments consumer must read: those a rule counts, the stage changes
 * Mops makes outside scoring (a missed SLA, a recycle) when a rule asks about stages, the scores a
 * replay of past events moved when a rule asks about scores, and its trait updates (journeys'
 * update_traits, and the first event of a contact Mops made) whenever a segment is live. It passes
 * over the rest unread.
 */
export function mopsEventsToRead(segments: readonly RuleSegment[]): Set<string> {
  const names = new Set<string>();
  // A static list changes by import (or a merge): the live segments asking about it learn of it from
  // the list's Segment Entered events.
  if (listsAskedAbout(segments).size > 0) {
    names.add(SEGMENT_ENTERED);
    names.add(SEGMENT_EXITED);
  }
  for (const { needs } of segments) {
    for (const name of needs.events.keys()) if (isMopsEventName(name)) names.add(name);
    if (needs.stage) names.add(STAGE_CHANGED);
    // A score model applied to past events moves scores without an event of the contact's.
    if (needs.scores) names.add(PAST_EVENTS_SCORED);
    // A contact taken out of an account no longer has its traits, nor the fit points they gave.
    if (needs.accounts || needs.scores) names.add(ACCOUNT_LEFT);
  }
  // Rules on traits read it, a segment being backfilled is decided for every profile touched meanwhile
  // (see segmentsTouched), and a contact Mops makes (a text from a number no contact holds) is first
  // seen in it.
  if (segments.length > 0) names.add(TRAITS_UPDATED);
  return names;
}

/** The segments live rules ask about that are not live themselves: static lists. */
function listsAskedAbout(segments: readonly RuleSegment[]): Set<string> {
  const live = new Set(segments.map((segment) => segment.id));
  const lists = new Set<string>();
  for (const { needs } of segments) for (const id of needs.segments) if (!live.has(id)) lists.add(id);
  return lists;
}

/** `mopsEventsToRead` for every live segment anywhere: what the consumer's next batch reads. */
export async function mopsEventsSegmentsRead(reader: StorageReader): Promise<string[]> {
  const live = await reader.segments.listLive();
  return [...mopsEventsToRead(live.filter((segment) => segment.rule !== null).map(toRuleSegment))];
}

/** What a batch of re-evaluation wrote: the earliest timer it set, to wake the timer loop for. */
export interface SegmentWork {
  earliestTimer: number | undefined;
  changed: number;
}

/** The workspace's live segments, each after the segments it asks about. */
export async function liveRuleSegments(reader: StorageReader, workspaceId: string): Promise<RuleSegment[]> {
  const live = await reader.segments.listLive(workspaceId);
  const withRules = live.filter((segment) => segment.rule !== null);
  return dependencyOrder(withRules).map(toRuleSegment);
}

function toRuleSegment(segment: Segment): RuleSegment {
  const rule = segment.rule as NonNullable<typeof segment.rule>;
  const needs = ruleNeeds([rule], 0);
  return {
    id: segment.id,
    name: segment.name,
    rule,
    isTimeDependent: needs.isTimeDependent,
    isBackfilling: segment.status === 'backfilling',
    isFirstBackfill: segment.status === 'backfilling' && segment.readySince === null,
    needs,
  };
}

/** What a batch's events may have changed about a profile; `all` when anything may have (a merge). */
export interface Touch {
  names: Set<string>;
  identify: boolean;
  group: boolean;
  /** The profile's timer fell due: its time-dependent segments are decided again. */
  isDue: boolean;
  /** Static lists the profile entered or left: the segments asking about them are decided again. */
  lists: Set<string>;
  /** When the earliest of the batch's client events for the profile happened. */
  firstEventAt: number | undefined;
  /** When the latest of the batch's events for the profile happened, whoever wrote it. */
  lastEventAt: number | undefined;
  all: boolean;
  /** The batch's events of the profile, for its digest. */
  events: DigestEvent[];
}

/** A touch that chooses nothing yet. */
export function newTouch(): Touch {
  return {
    names: new Set(),
    identify: false,
    group: false,
    isDue: false,
    lists: new Set(),
    firstEventAt: undefined,
    lastEventAt: undefined,
    all: false,
    events: [],
  };
}

export const TOUCHED_ALL: Touch = { ...newTouch(), all: true };

/**
 * The segments worth deciding again after a touch, in dependency order: those counting one of the
 * events, reading traits after an identify or account traits after a group call, asking about
 * scores, stages or consent (any event may have moved those), the time-dependent ones when the
 * profile's timer fell due, those asking about a segment chosen, and those still being backfilled
 * (the backfill leaves profiles touched since it began to this). The others cannot have changed:
 * time alone moves them, and the profile's timer is still right for them.
 */
export function segmentsTouched(segments: readonly RuleSegment[], touch: Touch): RuleSegment[] {
  if (touch.all) return [...segments];
  const chosen = new Set<string>(touch.lists);
  for (const segment of segments) {
    const needs = segment.needs;
    const isTouched =
      segment.isBackfilling === true ||
      (touch.isDue && segment.isTimeDependent) ||
      needs.scores ||
      needs.stage ||
      needs.subscriptions ||
      (needs.traits && touch.identify) ||
      (needs.accounts && touch.group) ||
      [...needs.events.keys()].some((name) => touch.names.has(name)) ||
      [...needs.segments].some((id) => chosen.has(id));
    if (isTouched) chosen.add(segment.id);
  }
  return segments.filter((segment) => chosen.has(segment.id));
}

/** Touches with equal keys choose the same segments. */
function touchKey(touch: Touch): string {
  const flags = [touch.all, touch.isDue, touch.identify, touch.group].map(Number).join('');
  return `${flags}:${[...touch.names].sort().join('\u0000')}:${[...touch.lists].sort().join(',')}`;
}

/**
 * Re-decides the live segments a touch concerns for these profiles at `now`: brings their event
 * digests up to date with the batch's events (reading from the log only what a digest does not keep
 * yet), compares with what is stored, and returns the writes (members, timers, Segment
 * Entered/Exited), which also hand the digests to the cache.
 */
export async function reevaluateProfiles(
  reader: StorageReader,
  options: {
    workspaceId: string;
    touches: Map<string, Touch>;
    segments: RuleSegment[];
    now: number;
    /** Digests kept from earlier batches (the consumer's); without it every digest is read from the log. */
    digests?: DigestCache;
  },
): Promise<(tx: StorageTx) => Promise<SegmentWork>> {
  const { workspaceId, segments, now } = options;
  const nothing = async () => ({ earliestTimer: undefined, changed: 0 });
  // Before any read: a merge committed after it is one these reads may have missed part of.
  const mergesBefore = await reader.profiles.mergeSequence();
  const touchedProfiles = (await reader.profiles.findProfilesByIds([...options.touches.keys()])).filter(
    (profile) => profile.mergedInto === null,
  );
  // A profile whose first event is in this batch was never decided: every segment is, those asking
  // about nothing it did (no country, never ordered) included.
  const touches = new Map(options.touches);
  for (const profile of touchedProfiles) {
    const touch = touches.get(profile.id);
    if (touch?.firstEventAt !== undefined && profile.firstSeenAt >= touch.firstEventAt)
      touches.set(profile.id, { ...touch, all: true });
  }
  // Profiles touched alike share one list of segments: what reads per choice keys on the list.
  const chosen = new Map<string, RuleSegment[]>();
  const choices = new Map<string, RuleSegment[]>();
  for (const [profileId, touch] of touches) {
    const key = touchKey(touch);
    let touched = choices.get(key);
    if (!touched) {
      touched = segmentsTouched(segments, touch);
      choices.set(key, touched);
    }
    if (touched.length > 0) chosen.set(profileId, touched);
  }
  if (chosen.size === 0) return nothing;
  const rules = new Map<string, RuleSegment>();
  for (const list of chosen.values()) for (const segment of list) rules.set(segment.id, segment);
  const needs = ruleNeeds(
    [...rules.values()].map((segment) => segment.rule),
    now,
  );
  const profiles = touchedProfiles.filter((profile) => chosen.has(profile.id));
  const ids = profiles.map((profile) => profile.id);
  const [settings, timers] = await Promise.all([
    reader.settings.get(workspaceId),
    reader.segments.timersOf(ids),
  ]);
  const digests = await updateDigests(reader, {
    workspaceId,
    profileIds: ids,
    touches,
    chosen,
    cache: options.digests,
    segments,
    now,
  });
  const facts = await buildFacts(reader, {
    workspaceId,
    profiles,
    needs,
    settings,
    events: groupEvents(await logFacts(reader, { workspaceId, profileIds: ids, chosen, now })),
    digests,
    // The memberships the chosen segments are compared with, and those their rules ask about.
    segmentIds: [...new Set([...rules.keys(), ...needs.segments])],
  });
  const changes = decideMembership({
    workspaceId,
    segmentsOf: (profileId) => chosen.get(profileId) ?? [],
    facts,
    timers,
    now,
  });
  const changedProfiles = [
    ...new Set([...changes.entered, ...changes.exited].map((change) => change.profileId)),
  ];
  const profileIds = changedProfiles.length > 0 ? await reader.segments.idsOf(changedProfiles) : new Map();
  const backfilling = new Set(
    segments.filter((segment) => segment.isFirstBackfill).map((segment) => segment.id),
  );
  const segmentNames = new Map(segments.map((segment) => [segment.id, segment.name]));
  const lastEventAt = new Map<string, number>();
  for (const [profileId, touch] of touches)
    if (touch.lastEventAt !== undefined) lastEventAt.set(profileId, touch.lastEventAt);
  // After every read above: no event newer than this one was read.
  const read =
    lastEventAt.size > 0 ? { throughEventId: await reader.segments.newestEventId(), lastEventAt } : undefined;
  const eventsOf = (written: MembershipChanges) =>
    membershipEvents({
      changes:
        backfilling.size === 0
          ? written
          : {
              ...written,
              entered: written.entered.filter((change) => !backfilling.has(change.segmentId)),
              exited: written.exited.filter((change) => !backfilling.has(change.segmentId)),
            },
      segmentNames,
      ids: profileIds,
      at: now,
      ...(read ? { read } : {}),
    });
  const events = eventsOf(changes);
  const decided = profilesDecided(changes);
  return async (tx) => {
    await tx.profiles.holdOffMerges();
    // A timer handled since the reads above (PostgreSQL: by another process) decided some of these
    // profiles already: decided again, from what it left.
    const locked = await tx.segments.lockTimersOf(ids);
    if (locked && !isDeepStrictEqual(locked, timers))
      throw new StaleBatchError('a profile’s segment timer changed while its segments were decided');
    // A profile merged away since the reads above has no memberships left to change, and one that
    // absorbed another since was decided without what the merge brought (its memberships among them):
    // the merge event, further on in the log, decides the survivor afresh, with these events as its own.
    const mergedAway = await profilesMergedSince(tx, decided, mergesBefore);
    const written = withoutProfiles(changes, mergedAway);
    await writeChanges(tx, written);
    await tx.generatedEvents.append(mergedAway.size === 0 ? events : eventsOf(written));
    for (const [profileId, digest] of digests)
      if (!mergedAway.has(profileId)) options.digests?.set(profileId, digest);
    return { earliestTimer: earliestTimer(written), changed: written.entered.length + written.exited.length };
  };
}

export async function writeChanges(tx: StorageTx, changes: MembershipChanges): Promise<void> {
  await tx.segments.applyMembership(changes);
  if (changes.timers.length > 0) await tx.segments.bringTimersForward(changes.timers);
}

export function earliestTimer(changes: MembershipChanges): number | undefined {
  return changes.timers.length === 0 ? undefined : Math.min(...changes.timers.map((timer) => timer.dueAt));
}

/** Adds one write's work to a total. */
function addWork(total: SegmentWork, done: SegmentWork): void {
  total.changed += done.changed;
  if (done.earliestTimer !== undefined)
    total.earliestTimer = Math.min(total.earliestTimer ?? done.earliestTimer, done.earliestTimer);
}

/**
 * Incremental membership as a pipeline batch: each profile a batch of events touched is re-decided
 * against the live segments those events can have changed (see `segmentsTouched`).
 */
export const segmentMembershipBatch = (
  now: () => number,
  digests: DigestCache,
): PipelineBatch<SegmentWork> => ({
  async prepare(events, reader, span) {
    digests.beginBatch(span.after);
    // A retry deciding a profile between these reads and the writes (SQLite reads before taking the
    // write lock; PostgreSQL's retry waits for the batch) would have this batch write over it.
    const retriedBefore = await reader.setAsideEvents.retriedCount(SEGMENTS_CURSOR);
    const at = await decidedAsOf(reader, events, span.through, now());
    const writes: Array<(tx: StorageTx) => Promise<SegmentWork>> = [];
    for (const [workspaceId, workspaceEvents] of groupByWorkspace(events)) {
      const segments = await liveRuleSegments(reader, workspaceId);
      digests.noteLiveQueries(
        workspaceId,
        new Set(digestQueries(segments.map((segment) => segment.rule)).keys()),
      );
      if (segments.length === 0) continue;
      // Mops's own events (Segment Entered, …) change nothing, unless the rules need them.
      const mopsEvents = mopsEventsToRead(segments);
      const lists = listsAskedAbout(segments);
      const relevant = workspaceEvents.filter(
        (event) => event.origin !== 'mops' || (event.name !== null && mopsEvents.has(event.name)),
      );
      if (relevant.length === 0) continue;
      const profileOfEvent = await eventProfileIds(reader, workspaceId, relevant);
      // A login carrying the visitor's anonymous id may have merged the visitor's profile in.
      const merging = await reader.profiles.eventsThatMerged(
        relevant
          .filter((event) => event.userId !== null && event.anonymousId !== null)
          .map((event) => event.id),
      );
      const touches = new Map<string, Touch>();
      for (const event of relevant) {
        const profileId = profileOfEvent.get(event.id);
        if (profileId === undefined) continue;
        let touch = touches.get(profileId);
        if (!touch) {
          touch = newTouch();
          touches.set(profileId, touch);
        }
        if (event.name !== null) {
          touch.names.add(event.name);
          touch.events.push({
            id: event.id,
            name: event.name,
            timestamp: event.timestamp,
            properties: payloadProperties(event.payload),
          });
        }
        if (event.origin !== 'mops' || isContactMadeByMops(event))
          touch.firstEventAt = Math.min(touch.firstEventAt ?? event.timestamp, event.timestamp);
        touch.lastEventAt = Math.max(touch.lastEventAt ?? event.timestamp, event.timestamp);
        if (event.type === 'identify' || event.name === TRAITS_UPDATED) touch.identify = true;
        const list = event.origin === 'mops' ? listChanged(event, lists) : undefined;
        if (list !== undefined) touch.lists.add(list);
        if (event.type === 'group' || (event.origin === 'mops' && event.name === ACCOUNT_LEFT))
          touch.group = true;
        // A merge brings another profile's history and traits along: everything may have changed.
        if (event.type === 'alias' || merging.has(event.id)) touch.all = true;
      }
      // A score too: fit rules on account traits move every contact's score with the account's.
      if (segments.some((segment) => segment.needs.accounts || segment.needs.scores))
        await touchAccountContacts(reader, workspaceId, relevant, touches);
      writes.push(await reevaluateProfiles(reader, { workspaceId, touches, segments, now: at, digests }));
    }
    return async (tx) => {
      const work: SegmentWork = { earliestTimer: undefined, changed: 0 };
      if (writes.length > 0 && (await tx.setAsideEvents.retriedCount(SEGMENTS_CURSOR)) !== retriedBefore)
        throw new StaleBatchError('a set-aside event was retried while the batch was decided');
      for (const write of writes) addWork(work, await write(tx));
      digests.endBatch(span.through);
      return work;
    };
  },
});

/**
 * The moment a batch decides membership as of: now, or, behind a backlog, just before the first
 * event it has not read was received — as a timer judges (see `segmentTimersJudgedThrough`), so that a
 * window this batch closes is not opened again by a timer judging an earlier moment (and every event of
 * the batch falls before it).
 */
async function decidedAsOf(
  reader: StorageReader,
  events: readonly StoredEvent[],
  readThrough: string,
  now: number,
): Promise<number> {
  const nextUnread = await reader.segments.firstReceivedAfter(readThrough);
  if (nextUnread === undefined) return now;
  const lastRead = events.reduce((latest, event) => Math.max(latest, event.receivedAt), 0);
  return Math.min(now, Math.max(nextUnread - 1, lastRead));
}

/**
 * The segments consumer's work for one event it set aside, redone now: the event's profile decided
 * afresh for every live segment, from its digest read from the log (no cache kept elsewhere includes
 * the event). Sound out of log order, as membership is decided from the profile's state and the log.
 */
export async function redecideProfileOfEvent(
  tx: StorageTx,
  event: StoredEvent,
  at: number,
): Promise<SegmentWork> {
  const nothing: SegmentWork = { earliestTimer: undefined, changed: 0 };
  const [profileId] = (await eventProfileIds(tx, event.workspaceId, [event])).values();
  if (profileId === undefined) return nothing;
  const segments = await liveRuleSegments(tx, event.workspaceId);
  if (segments.length === 0) return nothing;
  const write = await reevaluateProfiles(tx, {
    workspaceId: event.workspaceId,
    touches: new Map([[profileId, TOUCHED_ALL]]),
    segments,
    now: at,
  });
  return write(tx);
}

/**
 * An account's traits are every one of its contacts' account traits: a group call that sets some
 * touches them all, as if each had made it.
 */
async function touchAccountContacts(
  reader: StorageReader,
  workspaceId: string,
  events: readonly StoredEvent[],
  touches: Map<string, Touch>,
): Promise<void> {
  for (const profileId of await contactsOfAccountsChanged(reader, workspaceId, events)) {
    let touch = touches.get(profileId);
    if (!touch) {
      touch = newTouch();
      touches.set(profileId, touch);
    }
    touch.group = true;
  }
}

/** The static list a Mops Segment Entered/Exited event is about, if a live rule asks about it. */
function listChanged(event: StoredEvent, lists: ReadonlySet<string>): string | undefined {
  if (event.name !== SEGMENT_ENTERED && event.name !== SEGMENT_EXITED) return undefined;
  const segmentId = payloadProperties(event.payload).segment_id;
  return typeof segmentId === 'string' && lists.has(segmentId) ? segmentId : undefined;
}

/**
 * Up to when membership timers can fire: the segments consumer must have read every event received
 * before a timer fell due, or a profile active in time but waiting behind a backlog (a restart, a
 * burst) would leave a rolling window, and enter it again once its event is read.
 */
export async function segmentTimersJudgedThrough(storage: Storage, now: number): Promise<number> {
  const firstUnread = await storage.firstUnprocessedAt(SEGMENTS_CURSOR);
  return firstUnread === undefined ? now : Math.min(now, firstUnread - 1);
}

/**
 * Fires membership timers due by the time every event received before them has been read: each
 * profile is re-decided, as of that time, for the segments whose timers fell due and the segments
 * asking about them. Returns how many timers it took.
 */
export async function runDueSegmentTimers(
  storage: Storage,
  options: { now: number; limit?: number },
): Promise<{ taken: number; work: SegmentWork }> {
  const judgedThrough = await segmentTimersJudgedThrough(storage, options.now);
  let taken: DueTimer[] = [];
  return storage
    .transaction(async (tx) => {
      await tx.profiles.holdOffMerges();
      const due = await tx.segments.takeDueTimers(judgedThrough, options.limit ?? 500);
      taken = due.map(({ workspaceId, profileId, dueAt }) => ({
        kind: 'segment',
        workspaceId,
        subject: profileId,
        token: null,
        dueAt,
      }));
      const work: SegmentWork = { earliestTimer: undefined, changed: 0 };
      // Each profile decides again its time-dependent segments, and those asking about them.
      const touchesByWorkspace = new Map<string, Map<string, Touch>>();
      for (const timer of due) {
        const touches = touchesByWorkspace.get(timer.workspaceId) ?? new Map<string, Touch>();
        touches.set(timer.profileId, { ...newTouch(), isDue: true });
        touchesByWorkspace.set(timer.workspaceId, touches);
      }
      for (const [workspaceId, touches] of touchesByWorkspace) {
        const segments = await liveRuleSegments(tx, workspaceId);
        // The timers taken are cleared: re-deciding compares against none, and sets the next one.
        const write = await reevaluateProfiles(tx, { workspaceId, touches, segments, now: judgedThrough });
        addWork(work, await write(tx));
      }
      return { taken: due.length, work };
    })
    .catch((error: unknown) => {
      throw singledOut(taken, error);
    });
}
