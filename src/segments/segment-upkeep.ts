import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { Serial } from '../core/serial.js';
import type { LogConsumer } from '../pipeline/pipeline.js';
import { TimerScheduler } from '../pipeline/timer-scheduler.js';
import { SCORING_CURSOR } from '../scoring/scoring-batch.js';
import type { Storage } from '../storage/storage.js';
import { type BackfillFailures, runPendingBackfills } from './backfill.js';
import { DigestCache } from './digest-cache.js';
import {
  mopsEventsSegmentsRead,
  runDueSegmentTimers,
  SEGMENTS_CURSOR,
  type SegmentWork,
  segmentMembershipBatch,
  segmentTimersJudgedThrough,
} from './live-segments.js';

/**
 * The segments consumer's batch under a backlog. Its writes land at random places (members in two
 * B-trees, Segment Entered/Exited filed per profile), and a larger batch puts more of them on each
 * page it writes (with 50 segments, 5,000 at a time took about an eighth less time than 1,000).
 * Its write transaction holds SQLite's write lock for about half a second at this size, which
 * bounds it.
 */
export const SEGMENTS_BATCH = 5000;
/** How often to look for segments saved through another process (this one's saves wake it at once). */
const BACKFILL_POLL_MS = 5000;

/**
 * Keeping live segments current: the segments consumer of the event log (for whichever pipeline runs
 * it), the membership timers of rolling windows, and the backfills of saved segments.
 */
export interface SegmentUpkeep {
  consumer: LogConsumer;
  /** Fires the membership timers of rolling windows. */
  timers: TimerScheduler;
  /** Runs segment backfills; woken when a segment is saved, and polls for other processes' saves. */
  backfills: TimerScheduler;
  /** Handles the membership timers due now (as the timer scheduler does); how many it took. */
  runDueTimers(limit?: number): Promise<number>;
  /** Starts the timers and backfills; the consumer runs with its pipeline. */
  start(): void;
  stop(): Promise<void>;
}

export function createSegmentUpkeep(options: {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /**
   * Segments are decided further along the log, or Segment Entered/Exited were written: journeys,
   * which follow the segments cursor (their branches ask about membership), may go on.
   */
  onDecided: () => void;
}): SegmentUpkeep {
  const { storage, clock, logger } = options;
  // A batch decides from memberships and timers it read before taking the write lock: a timer of one
  // of its profiles handled in between would leave it comparing with what is no longer stored (a
  // second Segment Exited). Within this process the two take turns; across processes (PostgreSQL)
  // the batch locks its profiles' timer rows, which the timers skip.
  const decisions = new Serial();
  const runDueTimers = async (limit?: number) => {
    const { taken, work } = await decisions.run(() =>
      runDueSegmentTimers(storage, { now: clock.now(), ...(limit === undefined ? {} : { limit }) }),
    );
    workDone(work, false);
    return taken;
  };
  const timers: TimerScheduler = new TimerScheduler({
    work: {
      name: 'segment timers',
      runDue: runDueTimers,
      nextDue: () => storage.segments.nextTimerDue(),
      judgedThrough: (now) => segmentTimersJudgedThrough(storage, now),
    },
    storage,
    clock,
    logger,
  });
  const workDone = (work: SegmentWork, hasCursorMoved: boolean) => {
    if (work.earliestTimer !== undefined) timers.timerSet(work.earliestTimer);
    if (hasCursorMoved || work.changed > 0) options.onDecided();
  };
  const backfillFailures: BackfillFailures = new Map();
  const backfills = new TimerScheduler({
    work: {
      name: 'segment backfills',
      runDue: () =>
        runPendingBackfills(storage, {
          clock,
          logger,
          onChanged: options.onDecided,
          failures: backfillFailures,
        }),
      nextDue: async () => undefined,
    },
    storage,
    clock,
    logger,
    pollIntervalMs: BACKFILL_POLL_MS,
  });
  const consumer = {
    cursor: SEGMENTS_CURSOR,
    batch: segmentMembershipBatch(() => clock.now(), new DigestCache()),
    skipsMopsEvents: true,
    mopsEventsRead: () => mopsEventsSegmentsRead(storage),
    batchSize: SEGMENTS_BATCH,
    // Rules may ask about scores and stages: they are decided first.
    notBeyond: SCORING_CURSOR,
    afterCommit: (work) => workDone(work as SegmentWork, true),
    exclusive: (work) => decisions.run(work),
  } satisfies LogConsumer<SegmentWork> as LogConsumer;
  return {
    consumer,
    timers,
    backfills,
    runDueTimers,
    start() {
      timers.start();
      backfills.start();
    },
    async stop() {
      await timers.stop();
      await backfills.stop();
    },
  };
}
