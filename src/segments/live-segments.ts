import { groupByWorkspace } from '../core/event.js';
import { SEGMENT_ENTERED, SEGMENT_EXITED } from '../core/segment-definition.js';
import { identityKeysOf } from '../profiles/identity-resolution.js';
import type { PipelineBatch, Storage, StorageReader, StorageTx } from '../storage/storage.js';
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

/** What a batch of re-evaluation wrote: the earliest timer it set, to wake the timer loop for. */
export interface SegmentWork {
  earliestTimer: number | undefined;
  changed: number;
}

/** The workspace's live segments, each after the segments it asks about. */
export async function liveRuleSegments(reader: StorageReader, workspaceId: string): Promise<RuleSegment[]> {
  const live = await reader.segments.listLive(workspaceId);
  const withRules = live.filter((segment) => segment.rule !== null);
  return dependencyOrder(withRules).map((segment) => ({
    id: segment.id,
    name: segment.name,
    rule: segment.rule as NonNullable<typeof segment.rule>,
    isTimeDependent: ruleNeeds([segment.rule as NonNullable<typeof segment.rule>], 0).isTimeDependent,
  }));
}

/**
 * Re-decides every live segment of the workspace for these profiles at `now`: reads what the rules
 * need, compares with what is stored, and returns the writes (members, timers, Segment Entered/Exited).
 */
export async function reevaluateProfiles(
  reader: StorageReader,
  options: { workspaceId: string; profileIds: string[]; segments: RuleSegment[]; now: number },
): Promise<(tx: StorageTx) => Promise<SegmentWork>> {
  const { workspaceId, segments, now } = options;
  const nothing = async () => ({ earliestTimer: undefined, changed: 0 });
  if (segments.length === 0 || options.profileIds.length === 0) return nothing;
  const needs = ruleNeeds(
    segments.map((segment) => segment.rule),
    now,
  );
  const profiles = (await reader.profiles.findProfilesByIds(options.profileIds)).filter(
    (profile) => profile.mergedInto === null,
  );
  const ids = profiles.map((profile) => profile.id);
  const [settings, eventFacts, timers] = await Promise.all([
    reader.settings.get(workspaceId),
    reader.segments.eventFacts({ workspaceId, profileIds: ids, ...eventQuery(needs) }),
    reader.segments.timersOf(ids),
  ]);
  const facts = await buildFacts(reader, {
    workspaceId,
    profiles,
    needs,
    settings,
    events: groupEvents(eventFacts),
  });
  const changes = decideMembership({ workspaceId, segments, facts, timers, now });
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

/** One query for all the names the rules count: back as far as the longest window, properties if any rule filters. */
function eventQuery(needs: RuleNeeds): { names: string[]; since: number | null; withProperties: boolean } {
  const wanted = [...needs.events.values()];
  return {
    names: [...needs.events.keys()],
    since: wanted.some((event) => event.since === null)
      ? null
      : Math.min(...wanted.map((event) => event.since as number)),
    withProperties: wanted.some((event) => event.withProperties),
  };
}

export async function writeChanges(tx: StorageTx, changes: MembershipChanges): Promise<void> {
  await tx.segments.applyMembership(changes);
  if (changes.timers.length > 0) await tx.segments.setTimers(changes.timers);
}

export function earliestTimer(changes: MembershipChanges): number | undefined {
  let earliest: number | undefined;
  for (const timer of changes.timers)
    if (timer.dueAt !== null && (earliest === undefined || timer.dueAt < earliest)) earliest = timer.dueAt;
  return earliest;
}

/**
 * Incremental membership as a pipeline batch: the profiles a batch of events touched (their events
 * and identify calls) are re-decided against every live segment of their workspace.
 */
export const segmentMembershipBatch = (now: () => number): PipelineBatch<SegmentWork> => ({
  async prepare(events, reader) {
    const at = now();
    const writes: Array<(tx: StorageTx) => Promise<SegmentWork>> = [];
    for (const [workspaceId, workspaceEvents] of groupByWorkspace(events)) {
      const segments = await liveRuleSegments(reader, workspaceId);
      if (segments.length === 0) continue;
      const asksAboutMembershipEvents = segments.some((segment) => {
        const names = ruleNeeds([segment.rule], at).events;
        return names.has(SEGMENT_ENTERED) || names.has(SEGMENT_EXITED);
      });
      // Mops's own Segment Entered/Exited change nothing, unless a rule counts them.
      const relevant = asksAboutMembershipEvents
        ? workspaceEvents
        : workspaceEvents.filter((event) => event.name !== SEGMENT_ENTERED && event.name !== SEGMENT_EXITED);
      if (relevant.length === 0) continue;
      const identities = await reader.profiles.findIdentities(workspaceId, relevant.flatMap(identityKeysOf));
      const profileIds = [...new Set(identities.map((identity) => identity.profileId))];
      writes.push(await reevaluateProfiles(reader, { workspaceId, profileIds, segments, now: at }));
    }
    return async (tx) => {
      const work: SegmentWork = { earliestTimer: undefined, changed: 0 };
      for (const write of writes) {
        const done = await write(tx);
        work.changed += done.changed;
        if (done.earliestTimer !== undefined)
          work.earliestTimer = Math.min(work.earliestTimer ?? done.earliestTimer, done.earliestTimer);
      }
      return work;
    };
  },
});

/**
 * Fires due membership timers: the profiles whose windows let go of something are re-decided (all
 * live segments, so segments asking about them follow). Returns how many timers it took.
 */
export async function runDueSegmentTimers(
  storage: Storage,
  options: { now: number; limit?: number },
): Promise<{ taken: number; work: SegmentWork }> {
  return storage.transaction(async (tx) => {
    const due = await tx.segments.takeDueTimers(options.now, options.limit ?? 500);
    const work: SegmentWork = { earliestTimer: undefined, changed: 0 };
    const byWorkspaceProfiles = new Map<string, Set<string>>();
    for (const timer of due) {
      const set = byWorkspaceProfiles.get(timer.workspaceId) ?? new Set<string>();
      set.add(timer.profileId);
      byWorkspaceProfiles.set(timer.workspaceId, set);
    }
    for (const [workspaceId, profileIds] of byWorkspaceProfiles) {
      const segments = await liveRuleSegments(tx, workspaceId);
      // The timers taken are gone: re-deciding compares against none, and sets what is still needed.
      const write = await reevaluateProfiles(tx, {
        workspaceId,
        profileIds: [...profileIds],
        segments,
        now: options.now,
      });
      const done = await write(tx);
      work.changed += done.changed;
      if (done.earliestTimer !== undefined)
        work.earliestTimer = Math.min(work.earliestTimer ?? done.earliestTimer, done.earliestTimer);
    }
    return { taken: due.length, work };
  });
}
