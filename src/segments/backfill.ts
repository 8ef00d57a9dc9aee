import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { Segment, SegmentCondition } from '../core/segment-definition.js';
import { FAILURES_BEFORE_GIVING_UP, isPassingFailure } from '../storage/passing-failures.js';
import type { ProfileEventFact, Storage, StorageReader, StorageTx } from '../storage/storage.js';
import type { EventFact } from './evaluate.js';
import { isMember } from './evaluate.js';
import { writeChanges } from './live-segments.js';
import {
  buildFacts,
  decideMembership,
  groupEvents,
  type MembershipChanges,
  membershipEvents,
  profilesDecided,
  type SegmentFacts,
  withoutProfiles,
} from './membership.js';
import { type RuleNeeds, requiredEventNames, ruleNeeds } from './rule-needs.js';

/** Profiles evaluated per transaction: big enough to be quick, small enough to show progress. */
const BATCH_PROFILES = 10_000;
/** A preview's batches: small, as each holds up the requests the server answers meanwhile. */
const PREVIEW_BATCH_PROFILES = 2_000;

/**
 * A rule's events for every profile, read once per event name through the (workspace, name, time)
 * index, only as far back as the rule looks: what makes a backfill one pass over profiles instead of
 * one query per profile.
 */
export async function preloadEvents(
  reader: StorageReader,
  workspaceId: string,
  needs: RuleNeeds,
): Promise<Map<string, Map<string, EventFact[]>>> {
  const all: ProfileEventFact[] = [];
  for (const [name, { since, withProperties }] of needs.events) {
    // Millions of events: appended one by one, not spread into arguments.
    for (const fact of await reader.segments.eventsNamed({ workspaceId, name, since, withProperties }))
      all.push(fact);
  }
  return groupEvents(all);
}

/** Every live profile of the workspace after `after`, in batches with their facts for `rule`. */
async function* profileBatches(
  reader: StorageReader,
  options: {
    workspaceId: string;
    rule: SegmentCondition;
    now: number;
    after: string | null;
    segmentIds?: string[];
    batchSize?: number;
    /** The segment whose current members are to be decided again too (a backfill of a changed rule). */
    membersOf?: string;
  },
): AsyncGenerator<{
  last: string;
  profiles: Array<{ id: string; lastSeenAt: number }>;
  facts: Map<string, SegmentFacts>;
  /** How many profiles the rule can hold at most, when it requires events; undefined when anyone. */
  total: number | undefined;
}> {
  const { workspaceId, rule, now } = options;
  const needs = ruleNeeds([rule], now);
  const [events, settings] = await Promise.all([
    preloadEvents(reader, workspaceId, needs),
    reader.settings.get(workspaceId),
  ]);
  const batchSize = options.batchSize ?? BATCH_PROFILES;
  const candidates = await candidateProfiles(reader, { rule, events, members: options.membersOf });
  let after = options.after;
  for (;;) {
    let profiles: Array<{ id: string; traits: Record<string, unknown>; lastSeenAt: number }>;
    if (candidates) {
      // Only profiles with the events the rule requires (and current members) can be members.
      const start = after === null ? 0 : sortedIndexAfter(candidates, after);
      const ids = candidates.slice(start, start + batchSize);
      if (ids.length === 0) return;
      const found = await reader.segments.findLiveProfiles(workspaceId, ids, needs.traits);
      const byId = new Map(found.map((profile) => [profile.id, profile]));
      profiles = ids.flatMap((id) => byId.get(id) ?? []);
      after = ids.at(-1) as string;
      if (profiles.length === 0) continue;
    } else {
      profiles = await reader.segments.listProfilesAfter(workspaceId, after, batchSize);
      const last = profiles.at(-1);
      if (!last) return;
      after = last.id;
    }
    const facts = await buildFacts(reader, {
      workspaceId,
      profiles,
      needs,
      settings,
      events,
      ...(options.segmentIds ? { segmentIds: options.segmentIds } : {}),
    });
    yield { last: after, profiles, facts, total: candidates?.length };
  }
}

/** The profiles a rule that requires events can hold, sorted by id; undefined when it can hold anyone. */
async function candidateProfiles(
  reader: StorageReader,
  options: {
    rule: SegmentCondition;
    events: Map<string, Map<string, EventFact[]>>;
    members: string | undefined;
  },
): Promise<string[] | undefined> {
  const required = requiredEventNames(options.rule);
  if (!required) return undefined;
  const ids = new Set<string>();
  for (const [profileId, byName] of options.events)
    if ([...required].some((name) => (byName.get(name)?.length ?? 0) > 0)) ids.add(profileId);
  // Members of an earlier version are decided again too: they may have to leave.
  if (options.members !== undefined) {
    let cursor: string | undefined;
    do {
      const page = await reader.segments.listMembers(options.members, { limit: 5000, cursor });
      for (const item of page.items) ids.add(item.profileId);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }
  return [...ids].sort();
}

/** The index of the first id after `after` in a sorted list. */
function sortedIndexAfter(sorted: readonly string[], after: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as string) <= after) low = middle + 1;
    else high = middle;
  }
  return low;
}

export interface SegmentPreview {
  /** Profiles matching the rule now. */
  count: number;
  /** Profiles in the workspace. */
  total: number;
  /** The first matching profile ids. */
  sample: string[];
}

/** How many profiles a rule would hold now, and some of them, without saving anything. */
export async function previewRule(
  reader: StorageReader,
  options: { workspaceId: string; rule: SegmentCondition; now: number; sampleSize?: number },
): Promise<SegmentPreview> {
  const sampleSize = options.sampleSize ?? 10;
  const preview: SegmentPreview = {
    count: 0,
    total: await reader.segments.countProfiles(options.workspaceId),
    sample: [],
  };
  const referenced = [...ruleNeeds([options.rule], options.now).segments];
  const batches = profileBatches(reader, {
    ...options,
    after: null,
    segmentIds: referenced,
    batchSize: PREVIEW_BATCH_PROFILES,
  });
  for await (const batch of batches) {
    for (const [profileId, facts] of batch.facts) {
      if (!isMember(options.rule, facts, options.now)) continue;
      preview.count++;
      if (preview.sample.length < sampleSize) preview.sample.push(profileId);
    }
    // The preview runs where requests are answered (and, on SQLite, its reads block as it decides):
    // a turn for them between batches, however many profiles the workspace has.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return preview;
}

/**
 * Brings a new or changed segment's membership up to date over every existing profile, in batches
 * that each commit with the position reached, so progress shows through the API and a restart
 * resumes after the last batch. Profiles seen after the backfill began are left to the incremental
 * consumer, which has already decided them against this version. A segment's first backfill writes
 * no Segment Entered: its first members did not enter it, it was defined around them. Once it has
 * been ready, a changed rule (or a segment it asks about) moves people in and out as events would,
 * with Segment Entered/Exited for journeys to act on.
 */
export async function backfillSegment(
  storage: Storage,
  options: {
    segment: Segment;
    clock: Clock;
    logger: Logger;
    batchSize?: number;
    /** A batch wrote Segment Entered/Exited: what follows the log (journeys) may go on. */
    onChanged?: () => void;
  },
): Promise<'finished' | 'superseded'> {
  const { segment, clock } = options;
  if (!segment.rule) return 'finished';
  // Counted only for a rule anyone can meet: one that requires events knows its candidates, and
  // counting a million profiles costs seconds.
  let total: number | undefined;
  const needs = ruleNeeds([segment.rule], 0);
  const ruleSegment = {
    id: segment.id,
    name: segment.name,
    rule: segment.rule,
    isTimeDependent: needs.isTimeDependent,
    needs,
  };
  // A new segment has no members nor timers among the profiles nobody touched since it was saved
  // (the live consumer writes only for the touched ones, which the backfill leaves alone): nothing to
  // read for it. A changed rule compares with the members of the version before.
  const isNew = segment.version === 1;
  const isReported = segment.readySince !== null;
  const resumed = await storage.segments.backfillPosition(segment.id, segment.version);
  if (!resumed) return 'superseded';
  // Profiles events changed after this moment are left to the live consumer. It is read now, after
  // the version committed, not when it was saved: the consumer may have decided a batch without the
  // version until the commit, and a profile its events changed in between would be nobody's.
  const startedAt = await storage.transaction((tx) =>
    tx.segments.startBackfill(segment.id, segment.version, clock.now()),
  );
  if (startedAt === undefined) return 'superseded';
  const referenced = [...(isNew ? [] : [segment.id]), ...ruleNeeds([segment.rule], startedAt).segments];
  let after = resumed.after;
  let done = after === null ? 0 : segment.backfill.done;
  for await (const batch of profileBatches(storage, {
    workspaceId: segment.workspaceId,
    rule: segment.rule,
    now: clock.now(),
    after,
    segmentIds: referenced,
    ...(isNew ? {} : { membersOf: segment.id }),
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
  })) {
    // A rule that requires events is decided for the profiles having them: those are the total.
    const batchTotal = batch.total ?? total ?? (await storage.segments.countProfiles(segment.workspaceId));
    total = batchTotal;
    const untouched = new Map(
      batch.profiles
        .filter((profile) => profile.lastSeenAt <= startedAt)
        .map((profile) => [profile.id, batch.facts.get(profile.id) as SegmentFacts]),
    );
    // Only a rule that time alone can change keeps timers.
    const timers =
      needs.isTimeDependent && !isNew
        ? await storage.segments.timersOf([...untouched.keys()])
        : new Map<string, number>();
    const changes = decideMembership({
      workspaceId: segment.workspaceId,
      segmentsOf: () => [ruleSegment],
      facts: untouched,
      timers,
      now: clock.now(),
    });
    const position = after;
    let changed = 0;
    const saved = await storage.transaction(async (tx) => {
      await tx.profiles.holdOffMerges(); // before the profile rows `changedSince` locks
      // Another process backfilling the same segment got here first, or the rule changed since this
      // batch was decided: write nothing, and let the other (or the new version's backfill) go on.
      if ((await tx.segments.backfillPosition(segment.id, segment.version))?.after !== position) return false;
      const written = await stillToMake(tx, await withoutChangedSince(tx, changes, startedAt), segment.id);
      await writeChanges(tx, written);
      if (isReported) changed = await reportChanges(tx, written, segment);
      return tx.segments.saveBackfillProgress({
        id: segment.id,
        version: segment.version,
        after: batch.last,
        done: done + batch.profiles.length,
        total: batchTotal,
        finishedAt: null,
      });
    });
    if (!saved) return 'superseded';
    if (changed > 0) options.onChanged?.();
    after = batch.last;
    done += batch.profiles.length;
  }
  const finishedAt = clock.now();
  const finished = await storage.transaction(async (tx) => {
    // Finished already by another process (whose dependents are backfilled again once, not twice).
    if ((await tx.segments.backfillPosition(segment.id, segment.version))?.after !== after) return false;
    const saved = await tx.segments.saveBackfillProgress({
      id: segment.id,
      version: segment.version,
      after,
      done,
      // Every profile there is now was reached: the count taken at the start may have held profiles
      // merged away (or missed some created) since.
      total: done,
      finishedAt,
    });
    if (saved) await backfillDependentsAgain(tx, segment, finishedAt);
    return saved;
  });
  return finished ? 'finished' : 'superseded';
}

/** Segment Entered/Exited for a batch's changes; how many were written. */
async function reportChanges(tx: StorageTx, changes: MembershipChanges, segment: Segment): Promise<number> {
  const changed = [...new Set([...changes.entered, ...changes.exited].map((change) => change.profileId))];
  if (changed.length === 0) return 0;
  const events = membershipEvents({
    changes,
    segmentNames: new Map([[segment.id, segment.name]]),
    ids: await tx.segments.idsOf(changed),
    at: changes.entered[0]?.at ?? (changes.exited[0]?.at as number),
  });
  await tx.generatedEvents.append(events);
  return events.length;
}

/**
 * The live segments asking about this one whose backfills began before this one finished decided
 * with its members as they were (an earlier rule's, or this backfill's first batches): each is
 * backfilled again, as a new version, and those asking about it in turn after it.
 */
async function backfillDependentsAgain(tx: StorageTx, segment: Segment, finishedAt: number): Promise<void> {
  for (const dependent of await tx.segments.listLive(segment.workspaceId)) {
    const asks = dependent.rule !== null && ruleNeeds([dependent.rule], 0).segments.has(segment.id);
    if (!asks || dependent.id === segment.id || (dependent.backfill.startedAt ?? 0) > finishedAt) continue;
    await tx.segments.update({ id: dependent.id, at: finishedAt, isNewVersion: true });
  }
}

/**
 * The changes less those of profiles events changed since the backfill began: the live consumer
 * decides those (a segment being backfilled, for every profile it touches), from newer events than the
 * backfill read at its start — a late event, stamped before the start, included.
 */
async function withoutChangedSince(
  tx: StorageTx,
  changes: MembershipChanges,
  startedAt: number,
): Promise<MembershipChanges> {
  const decided = profilesDecided(changes);
  if (decided.length === 0) return changes;
  return withoutProfiles(changes, await tx.segments.changedSince(decided, startedAt));
}

/**
 * The changes less those made meanwhile: a profile's timer (or the live consumer, for a profile only
 * Mops's own events touched) may have decided it against this version since the batch was read, and
 * the change would be reported twice. Its timer is held until the batch commits.
 */
async function stillToMake(
  tx: StorageTx,
  changes: MembershipChanges,
  segmentId: string,
): Promise<MembershipChanges> {
  const decided = profilesDecided(changes);
  if (decided.length === 0) return changes;
  await tx.segments.lockTimersOf(decided);
  const memberships = await tx.segments.memberships(decided, [segmentId]);
  const isMember = (profileId: string) => memberships.get(profileId)?.has(segmentId) === true;
  return {
    entered: changes.entered.filter((change) => !isMember(change.profileId)),
    exited: changes.exited.filter((change) => isMember(change.profileId)),
    timers: changes.timers,
  };
}

/** Failed runs in a row of each segment version's backfill (`seg_…@2`), kept by the caller between runs. */
export type BackfillFailures = Map<string, number>;

/**
 * Runs every pending backfill to its end, one after another; the number finished. One another process
 * is running is left to it (and one it finished first, superseded, is not counted), so the caller
 * waits before looking again. A segment asking about another still being backfilled waits for it:
 * decided against half a backfill, it would report people entering and leaving again once the other
 * finished. One that fails is left for the next run, and the others go on (see `backfillFailed`).
 */
export async function runPendingBackfills(
  storage: Storage,
  options: { clock: Clock; logger: Logger; onChanged?: () => void; failures?: BackfillFailures },
): Promise<number> {
  let count = 0;
  const tried = new Set<string>();
  for (;;) {
    const pending = await storage.segments.listBackfilling();
    const segment = pending.find(
      (candidate) =>
        !tried.has(`${candidate.id}@${candidate.version}`) && !waitsForAnother(candidate, pending),
    );
    if (!segment) return count;
    tried.add(`${segment.id}@${segment.version}`);
    const startedAt = performance.now();
    let outcome: 'finished' | 'superseded' | 'run by another process';
    try {
      const run = await storage.runAlone(`segment-backfill/${segment.id}`, () =>
        backfillSegment(storage, { segment, ...options }),
      );
      outcome = run.ran ? run.value : 'run by another process';
    } catch (error) {
      // The database away: every backfill waits for it, and nothing counts against this one.
      if (isPassingFailure(error)) throw error;
      await backfillFailed(storage, { segment, error, ...options });
      continue;
    }
    options.failures?.delete(`${segment.id}@${segment.version}`);
    options.logger.info(
      {
        segment: segment.id,
        version: segment.version,
        outcome,
        ms: Math.round(performance.now() - startedAt),
      },
      'segment backfill',
    );
    if (outcome === 'finished') count++;
  }
}

/**
 * A backfill threw. One failing segment must not hold up the backfills of every segment after it
 * (each run taking it first again, and stopping there); nor, failing every time, be run again at
 * every poll, reading all its events each time. It is tried again at the next run, and stopped with
 * its error once it has failed this many runs in a row.
 */
async function backfillFailed(
  storage: Storage,
  options: { segment: Segment; error: unknown; logger: Logger; failures?: BackfillFailures },
): Promise<void> {
  const { segment, error, logger, failures } = options;
  const key = `${segment.id}@${segment.version}`;
  const runs = (failures?.get(key) ?? 0) + 1;
  failures?.set(key, runs);
  const context = { err: error, segment: segment.id, version: segment.version };
  if (runs < FAILURES_BEFORE_GIVING_UP) {
    logger.warn(context, 'segment backfill failed; it is tried again at the next run, the others go on');
    return;
  }
  const failure = describeError(error);
  // A database gone away throws here, and the backfill is not stopped.
  await storage.segments.stopBackfill({ id: segment.id, version: segment.version, failure });
  failures?.delete(key);
  logger.error(
    context,
    'segment backfill stopped: it failed at every attempt; saving the segment again retries it',
  );
}

/** Whether the segment asks about another segment of its workspace that is still being backfilled. */
function waitsForAnother(segment: Segment, pending: readonly Segment[]): boolean {
  if (!segment.rule) return false;
  const asked = ruleNeeds([segment.rule], 0).segments;
  return pending.some(
    (other) => other.id !== segment.id && other.workspaceId === segment.workspaceId && asked.has(other.id),
  );
}
