import { groupByWorkspace } from '../core/event.js';
import type { DueTimer } from '../core/timers.js';
import { singledOut } from '../pipeline/timer-scheduler.js';
import { StaleBatchError, type Storage } from '../storage/storage.js';
import {
  addedWork,
  decideWorkspace,
  NO_WORK,
  SCORING_CURSOR,
  type ScoringWork,
  scoringReadThrough,
} from './scoring-batch.js';

/** Profiles whose stage timers a round decides, in one transaction. */
const STAGE_TIMERS_PER_ROUND = 200;

/**
 * Decides again, now, the scores and stages of the profiles whose stage timer fell due — time alone
 * (a negative award fading, a fit rule starting to hold) may have taken a score over a stage's
 * threshold — as a scoring batch would at an event of theirs: the stage moves, a hand-off is made on
 * reaching its stage, and the next timer is set. Waits for scoring to have read what was received
 * before the timers fell due, and decides as of how far it has read. Returns the work done, with how
 * many timers it handled.
 */
export async function runDueStageTimers(
  storage: Storage,
  options: { now: number; limit?: number },
): Promise<ScoringWork & { handled: number }> {
  const readThrough = await scoringReadThrough(storage, options.now);
  // Polled every second: the scoring cursor is locked only when a timer is due.
  const nextDue = await storage.scoring.nextStageTimerDue();
  if (nextDue === undefined || nextDue > readThrough) return { ...NO_WORK, handled: 0 };
  let taken: DueTimer[] = [];
  try {
    return await storage.transaction(async (tx) => {
      // Decided from reads in this transaction: other processes' scoring batches wait for it. Locks
      // in a batch's order (the cursor, then merges), merges before any timer row, which a merge deletes.
      await tx.scoring.holdConsumer(SCORING_CURSOR);
      await tx.profiles.holdOffMerges();
      const due = await tx.scoring.takeDueStageTimers(readThrough, options.limit ?? STAGE_TIMERS_PER_ROUND);
      taken = due.map(({ workspaceId, profileId, dueAt }) => ({
        kind: 'stage',
        workspaceId,
        subject: profileId,
        token: null,
        dueAt,
      }));
      // A profile merged away since its timer was set (the survivor's own stage was decided at the
      // merge) has nothing left to move: its timer just goes, or it would roll back every round.
      const mergedAway = await tx.profiles.mergedAwayAmong(due.map((timer) => timer.profileId));
      let work = NO_WORK;
      for (const [workspaceId, timers] of groupByWorkspace(
        due.filter((timer) => !mergedAway.has(timer.profileId)),
      )) {
        const settings = await tx.settings.get(workspaceId);
        // A lifecycle removed since leaves nothing to move; its timers simply go.
        if (!settings.lifecycle) continue;
        const write = await decideWorkspace(tx, {
          workspaceId,
          settings,
          events: [],
          alsoDecide: timers.map((timer) => timer.profileId),
          at: readThrough,
        });
        work = addedWork(work, await write(tx));
      }
      return { ...work, handled: due.length };
    });
  } catch (error) {
    // A merge or a stage moved while it was decided: nothing was written, and the next round decides again.
    if (error instanceof StaleBatchError) return { ...NO_WORK, handled: 0 };
    throw singledOut(taken, error);
  }
}
