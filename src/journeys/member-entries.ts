import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Journey, JourneyVersion } from '../core/journey.js';
import { currentMembersSegment } from '../core/journey-definition.js';
import type { MemberEntry } from '../core/member-entry.js';
import { SEGMENT_ENTERED } from '../core/segment-definition.js';
import { encodeCursor } from '../storage/paging.js';
import { FAILURES_BEFORE_GIVING_UP, isPassingFailure } from '../storage/passing-failures.js';
import type { Storage, StorageTx } from '../storage/storage.js';
import { JOURNEYS_CURSOR, type JourneyEngine } from './engine.js';

/** Members per page: each page enters them and commits with its position, in one transaction. */
export const MEMBER_ENTRY_PAGE = 200;
/** Pages per run, resting between them as long as each took, so that ingest and the pipeline go on. */
const PAGES_PER_RUN = 20;
const MAX_REST_MS = 1000;

/**
 * What publishing `version` (after `previous`) does to the entry of current members, in the publish's
 * transaction: it starts one when the version enters a segment's current members and the version before
 * did not (for that segment), and stops a running one the new version no longer asks for.
 */
export async function memberEntryOnPublish(
  tx: StorageTx,
  input: { journey: Journey; previous: JourneyVersion | undefined; version: JourneyVersion; now: number },
): Promise<void> {
  const { journey, previous, version, now } = input;
  const segmentId = currentMembersSegment(version.definition);
  if (segmentId !== undefined && previous && currentMembersSegment(previous.definition) === segmentId) return;
  const reason =
    segmentId === undefined
      ? `version ${version.version} enters only those who enter the segment from now on`
      : `version ${version.version} enters the current members of ${segmentId} instead`;
  await tx.journeys.endMemberEntry(
    { journeyId: journey.id },
    { status: 'cancelled', finishedAt: now, reason },
  );
  if (segmentId === undefined) return;
  const created = await tx.journeys.createMemberEntry({
    id: newId('jme', now),
    workspaceId: journey.workspaceId,
    journeyId: journey.id,
    segmentId,
    status: 'running',
    afterProfile: null,
    membersTotal: await tx.segments.countMembers(segmentId),
    membersDone: 0,
    entered: 0,
    requestedAt: now,
    finishedAt: null,
    reason: null,
  });
  // Publishes of one journey take turns (the definitions lock), and the running one was ended above.
  if (!created) throw new Error(`journey ${journey.id} has an entry of current members running still`);
}

/** What one look at the running entries did. */
type PageOutcome =
  | { kind: 'none' }
  /**
   * Its journey is paused, its segment being backfilled, or journeys not yet through the events
   * received before the publish: looked at again at the next run.
   */
  | { kind: 'waiting'; entry: MemberEntry }
  | { kind: 'page'; entry: MemberEntry };

/**
 * One page of the oldest running entry but those passed over: its members who were in the segment
 * before the publish enter the journey's current version as on `Segment Entered` (under its re-entry
 * rules; one the journey took since the publish is not entered twice), and the position is saved in the
 * same transaction as their instances. It waits while the journey is paused or the segment is being
 * backfilled, and until journeys have read every event received before the publish: a Segment
 * Entered written before it, read after it, enters its contact on its own, and a page entering the
 * same contact meanwhile would enter it twice. It stops when the journey is archived or the segment
 * deleted.
 */
async function enterNextPage(
  engine: JourneyEngine,
  options: {
    passOver: string[];
    pageSize: number;
    now: () => number;
    /** When the first event journeys have not read was received (undefined: none), read before the page. */
    journeysFirstUnread: number | undefined;
    onClaimed: (entry: MemberEntry) => void;
  },
): Promise<PageOutcome> {
  return engine.entering(async (tx, enter): Promise<PageOutcome> => {
    const entry = await tx.journeys.claimMemberEntry(options.passOver);
    if (!entry) return { kind: 'none' };
    options.onClaimed(entry);
    const now = options.now();
    const stop = async (reason: string): Promise<PageOutcome> => {
      const stopped: MemberEntry = { ...entry, status: 'cancelled', finishedAt: now, reason };
      await tx.journeys.endMemberEntry({ id: entry.id }, { status: 'cancelled', finishedAt: now, reason });
      return { kind: 'page', entry: stopped };
    };
    const journey = await tx.journeys.find(entry.workspaceId, entry.journeyId);
    if (!journey || journey.status === 'archived') return stop('the journey was archived');
    const segment = await tx.segments.find(entry.workspaceId, entry.segmentId);
    if (!segment) return stop(`segment ${entry.segmentId} was deleted`);
    const version =
      journey.currentVersion === null
        ? undefined
        : await tx.journeys.findVersion(journey.id, journey.currentVersion);
    // A publish replacing the version stops it in the same transaction; this is a safeguard only.
    if (!version || currentMembersSegment(version.definition) !== entry.segmentId)
      return stop('the current version does not enter the segment’s current members');
    const isJourneysBehind =
      options.journeysFirstUnread !== undefined && options.journeysFirstUnread <= entry.requestedAt;
    if (journey.status !== 'published' || segment.status !== 'ready' || isJourneysBehind)
      return { kind: 'waiting', entry };

    const page = await tx.segments.listMembers(entry.segmentId, {
      limit: options.pageSize,
      cursor: entry.afterProfile === null ? undefined : encodeCursor(entry.afterProfile),
    });
    const profiles = new Map(
      (await tx.profiles.findProfilesByIds(page.items.map((member) => member.profileId))).map((profile) => [
        profile.id,
        profile,
      ]),
    );
    let entered = 0;
    for (const member of page.items) {
      // In the segment since the publish: its own Segment Entered enters it, as for anyone new.
      if (member.enteredAt > entry.requestedAt) continue;
      const profile = profiles.get(member.profileId);
      if (!profile) continue;
      const instance = await enter({
        journey,
        version,
        profile,
        // Taken since the publish (its own Segment Entered, by hand): not entered twice.
        unlessEnteredSince: entry.requestedAt,
        entryEvent: {
          name: SEGMENT_ENTERED,
          messageId: null,
          timestamp: now,
          properties: {
            segment_id: segment.id,
            segment_name: segment.name,
            member_since: new Date(member.enteredAt).toISOString(),
          },
        },
      });
      if (instance) entered++;
    }
    const last = page.items.at(-1);
    const isDone = page.nextCursor === null;
    const moved: MemberEntry = {
      ...entry,
      afterProfile: last?.profileId ?? entry.afterProfile,
      membersDone: entry.membersDone + page.items.length,
      entered: entry.entered + entered,
      ...(isDone ? { status: 'done', finishedAt: now } : {}),
    };
    await tx.journeys.saveMemberEntry(moved);
    return { kind: 'page', entry: moved };
  });
}

/** Failed runs in a row of each entry (by id), kept by the caller between runs. */
export type MemberEntryFailures = Map<string, number>;

/**
 * Works through the running entries, a page at a time, resting between pages as long as each took;
 * returns the pages done (not counting entries that wait). A page that fails is tried again at the next
 * run, until it has failed FAILURES_BEFORE_GIVING_UP times, when its entry stops as `failed`.
 */
export async function runMemberEntries(
  storage: Storage,
  options: {
    engine: JourneyEngine;
    clock: Clock;
    logger: Logger;
    failures?: MemberEntryFailures;
    pageSize?: number;
    /** Pages at most (PAGES_PER_RUN by default). */
    pages?: number;
  },
): Promise<number> {
  const { engine, clock, logger } = options;
  const failures = options.failures ?? new Map<string, number>();
  const passOver: string[] = [];
  let pages = 0;
  while (pages < (options.pages ?? PAGES_PER_RUN)) {
    const startedAt = performance.now();
    let claimed: MemberEntry | undefined;
    let outcome: PageOutcome;
    try {
      outcome = await enterNextPage(engine, {
        passOver,
        pageSize: options.pageSize ?? MEMBER_ENTRY_PAGE,
        now: () => clock.now(),
        journeysFirstUnread: await storage.firstUnprocessedAt(JOURNEYS_CURSOR),
        onClaimed: (entry) => {
          claimed = entry;
        },
      });
    } catch (error) {
      if (!claimed || isPassingFailure(error)) throw error;
      const { id } = claimed;
      const runs = (failures.get(id) ?? 0) + 1;
      failures.set(id, runs);
      if (runs < FAILURES_BEFORE_GIVING_UP) {
        logger.warn({ err: error, entry: id }, 'current members’ entry failed; tried again at the next run');
        return pages;
      }
      const end = { status: 'failed' as const, finishedAt: clock.now(), reason: describeError(error) };
      await storage.transaction((tx) => tx.journeys.endMemberEntry({ id }, end));
      failures.delete(id);
      logger.error(
        { err: error, entry: id },
        'current members’ entry stopped: its page failed at every attempt',
      );
      continue;
    }
    if (outcome.kind === 'none') return pages;
    if (outcome.kind === 'waiting') {
      passOver.push(outcome.entry.id);
      continue;
    }
    pages++;
    failures.delete(outcome.entry.id);
    if (outcome.entry.status !== 'running')
      logger.info(
        {
          entry: outcome.entry.id,
          journey: outcome.entry.journeyId,
          status: outcome.entry.status,
          entered: outcome.entry.entered,
        },
        'current members’ entry',
      );
    await rest(Math.min(MAX_REST_MS, performance.now() - startedAt));
  }
  return pages;
}

const rest = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
