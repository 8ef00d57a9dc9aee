import { groupByWorkspace } from '../core/event.js';
import { HAND_OFF_CREATED, SLA_MISSED, STAGE_CHANGED } from '../core/lifecycle.js';
import { SEGMENT_ENTERED, SEGMENT_EXITED } from '../core/segment-definition.js';
import { eventProfileIds } from '../profiles/profiles.js';
import type {
  PipelineBatch,
  ProfileEventFact,
  Storage,
  StorageReader,
  StorageTx,
} from '../storage/storage.js';
import {
  buildFacts,
  decideMembership,
  groupEvents,
  type MembershipChanges,
  membershipEvents,
  type RuleSegment,
} from './membership.js';
import { dependencyOrder, type RuleNeeds, ruleNeeds } from './rule-needs.js';

/** The segments consumer's cursor: after scores (rules may ask about them), before nothing. */
export const SEGMENTS_CURSOR = 'segments';

/** The names of the events Mops writes itself. */
const MOPS_EVENT_NAMES = new Set([
  SEGMENT_ENTERED,
  SEGMENT_EXITED,
  STAGE_CHANGED,
  HAND_OFF_CREATED,
  SLA_MISSED,
]);

/** What a batch of re-evaluation wrote: the earliest timer it set, to wake the timer loop for. */
export interface SegmentWork {
  earliestTimer: number | undefined;
  changed: number;
}

/** The workspace's live segments, each after the segments it asks about. */
export async function liveRuleSegments(reader: StorageReader, workspaceId: string): Promise<RuleSegment[]> {
  const live = await reader.segments.listLive(workspaceId);
  const withRules = live.filter((segment) => segment.rule !== null);
  return dependencyOrder(withRules).map((segment) => {
    const rule = segment.rule as NonNullable<typeof segment.rule>;
    const needs = ruleNeeds([rule], 0);
    return { id: segment.id, name: segment.name, rule, isTimeDependent: needs.isTimeDependent, needs };
  });
}

/** What a batch's events may have changed about a profile; `all` when anything may have (a timer, a merge). */
export interface Touch {
  names: Set<string>;
  identify: boolean;
  group: boolean;
  /** Segments to decide whatever else (their timer fell due). */
  segments: Set<string>;
  all: boolean;
}

/** A touch that chooses nothing yet. */
export function newTouch(): Touch {
  return { names: new Set(), identify: false, group: false, segments: new Set(), all: false };
}

export const TOUCHED_ALL: Touch = {
  names: new Set(),
  identify: false,
  group: false,
  segments: new Set(),
  all: true,
};

/**
 * The segments worth deciding again after a touch, in dependency order: those counting one of the
 * events, reading traits after an identify or account traits after a group call, asking about
 * scores, stages or consent (any event may have moved those), and those asking about a segment
 * chosen. The others cannot have changed: time alone moves them, and their timers are still right.
 */
export function segmentsTouched(segments: readonly RuleSegment[], touch: Touch): RuleSegment[] {
  if (touch.all) return [...segments];
  const chosen = new Set<string>();
  for (const segment of segments) {
    const needs = segment.needs;
    const isTouched =
      touch.segments.has(segment.id) ||
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

/**
 * Re-decides the live segments a touch concerns for these profiles at `now`: reads what those rules
 * need, compares with what is stored, and returns the writes (members, timers, Segment Entered/Exited).
 */
export async function reevaluateProfiles(
  reader: StorageReader,
  options: {
    workspaceId: string;
    touches: Map<string, Touch>;
    segments: RuleSegment[];
    now: number;
  },
): Promise<(tx: StorageTx) => Promise<SegmentWork>> {
  const { workspaceId, segments, now } = options;
  const nothing = async () => ({ earliestTimer: undefined, changed: 0 });
  const chosen = new Map<string, RuleSegment[]>();
  for (const [profileId, touch] of options.touches) {
    const touched = segmentsTouched(segments, touch);
    if (touched.length > 0) chosen.set(profileId, touched);
  }
  if (chosen.size === 0) return nothing;
  const rules = new Map<string, RuleSegment>();
  for (const list of chosen.values()) for (const segment of list) rules.set(segment.id, segment);
  const needs = ruleNeeds(
    [...rules.values()].map((segment) => segment.rule),
    now,
  );
  const profiles = (await reader.profiles.findProfilesByIds([...chosen.keys()])).filter(
    (profile) => profile.mergedInto === null,
  );
  const ids = profiles.map((profile) => profile.id);
  const [settings, eventFacts, timers] = await Promise.all([
    reader.settings.get(workspaceId),
    factsByNeeds(reader, { workspaceId, profileIds: ids, chosen, now }),
    reader.segments.timersOf(
      ids,
      [...rules.values()].filter((segment) => segment.isTimeDependent).map((segment) => segment.id),
    ),
  ]);
  const facts = await buildFacts(reader, {
    workspaceId,
    profiles,
    needs,
    settings,
    events: groupEvents(eventFacts),
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
  const events = membershipEvents({
    changes,
    segmentNames: new Map(segments.map((segment) => [segment.id, segment.name])),
    ids: profileIds,
    at: now,
  });
  return async (tx) => {
    await writeChanges(tx, changes);
    await tx.generatedEvents.append(events);
    return { earliestTimer: earliestTimer(changes), changed: changes.entered.length + changes.exited.length };
  };
}

/**
 * The events each profile's chosen segments count, one query per distinct set of names (a page view
 * needs the page-view segments' events, not the orders' too), each name only as far back as needed.
 */
async function factsByNeeds(
  reader: StorageReader,
  options: { workspaceId: string; profileIds: string[]; chosen: Map<string, RuleSegment[]>; now: number },
): Promise<ProfileEventFact[]> {
  const groups = new Map<string, { needs: RuleNeeds; profileIds: string[] }>();
  for (const profileId of options.profileIds) {
    const segments = options.chosen.get(profileId) ?? [];
    const key = segments.map((segment) => segment.id).join(',');
    let group = groups.get(key);
    if (!group) {
      group = {
        needs: ruleNeeds(
          segments.map((segment) => segment.rule),
          options.now,
        ),
        profileIds: [],
      };
      groups.set(key, group);
    }
    group.profileIds.push(profileId);
  }
  const facts: ProfileEventFact[] = [];
  for (const { needs, profileIds } of groups.values()) {
    if (needs.events.size === 0) continue;
    const found = await reader.segments.eventFacts({
      workspaceId: options.workspaceId,
      profileIds,
      names: [...needs.events].map(([name, { since, withProperties }]) => ({ name, since, withProperties })),
    });
    for (const fact of found) facts.push(fact);
  }
  return facts;
}

export async function writeChanges(tx: StorageTx, changes: MembershipChanges): Promise<void> {
  await tx.segments.applyMembership(changes);
  if (changes.timers.length > 0) await tx.segments.setTimers(changes.timers);
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
export const segmentMembershipBatch = (now: () => number): PipelineBatch<SegmentWork> => ({
  async prepare(events, reader) {
    const at = now();
    const writes: Array<(tx: StorageTx) => Promise<SegmentWork>> = [];
    for (const [workspaceId, workspaceEvents] of groupByWorkspace(events)) {
      const segments = await liveRuleSegments(reader, workspaceId);
      if (segments.length === 0) continue;
      // Mops's own events (Segment Entered, …) change nothing, unless a rule counts them.
      const countsOwnEvents = segments.some((segment) =>
        [...segment.needs.events.keys()].some((name) => MOPS_EVENT_NAMES.has(name)),
      );
      const relevant = countsOwnEvents
        ? workspaceEvents
        : workspaceEvents.filter((event) => event.origin !== 'mops');
      if (relevant.length === 0) continue;
      const profileOfEvent = await eventProfileIds(reader, workspaceId, relevant);
      const touches = new Map<string, Touch>();
      for (const event of relevant) {
        const profileId = profileOfEvent.get(event.id);
        if (profileId === undefined) continue;
        let touch = touches.get(profileId);
        if (!touch) {
          touch = newTouch();
          touches.set(profileId, touch);
        }
        if (event.name !== null) touch.names.add(event.name);
        if (event.type === 'identify') touch.identify = true;
        if (event.type === 'group') touch.group = true;
        // A merge brings another profile's history along: everything may have changed.
        if (event.type === 'alias') touch.all = true;
      }
      writes.push(await reevaluateProfiles(reader, { workspaceId, touches, segments, now: at }));
    }
    return async (tx) => {
      const work: SegmentWork = { earliestTimer: undefined, changed: 0 };
      for (const write of writes) addWork(work, await write(tx));
      return work;
    };
  },
});

/**
 * Fires due membership timers: each profile is re-decided for the segments whose timers fell due and
 * the segments asking about them. Returns how many timers it took.
 */
export async function runDueSegmentTimers(
  storage: Storage,
  options: { now: number; limit?: number },
): Promise<{ taken: number; work: SegmentWork }> {
  return storage.transaction(async (tx) => {
    const due = await tx.segments.takeDueTimers(options.now, options.limit ?? 500);
    const work: SegmentWork = { earliestTimer: undefined, changed: 0 };
    // Each profile decides again the segments whose timers fell due, and those asking about them.
    const touchesByWorkspace = new Map<string, Map<string, Touch>>();
    for (const timer of due) {
      const touches = touchesByWorkspace.get(timer.workspaceId) ?? new Map<string, Touch>();
      const touch = touches.get(timer.profileId) ?? newTouch();
      touch.segments.add(timer.segmentId);
      touches.set(timer.profileId, touch);
      touchesByWorkspace.set(timer.workspaceId, touches);
    }
    for (const [workspaceId, touches] of touchesByWorkspace) {
      const segments = await liveRuleSegments(tx, workspaceId);
      // The timers taken are gone: re-deciding compares against none, and sets what is still needed.
      const write = await reevaluateProfiles(tx, { workspaceId, touches, segments, now: options.now });
      addWork(work, await write(tx));
    }
    return { taken: due.length, work };
  });
}
