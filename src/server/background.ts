import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { MessageDispatcher } from '../channels/dispatcher.js';
import type { EmailJob, EmailSender } from '../channels/email/email-channel.js';
import { SecretBox } from '../channels/email/secret-box.js';
import { SendThreads } from '../channels/email/send-thread-client.js';
import { LinkSigner } from '../channels/email/signed-links.js';
import { SmtpTransports } from '../channels/email/smtp-transports.js';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { Serial } from '../core/serial.js';
import {
  JOURNEYS_CURSOR,
  JourneyEngine,
  journeyTimersJudgedThrough,
  type WorkLog,
} from '../journeys/engine.js';
import { type MemberEntryFailures, runMemberEntries } from '../journeys/member-entries.js';
import { EventPipeline, type LogConsumer } from '../pipeline/pipeline.js';
import { TimerScheduler } from '../pipeline/timer-scheduler.js';
import { PROFILES_CURSOR, profileResolutionBatch } from '../profiles/profiles.js';
import { runOverdueHandOffs } from '../scoring/hand-offs.js';
import { runDueScoreRefreshes } from '../scoring/score-refresh.js';
import { type ReplayFailures, runScoreReplays } from '../scoring/score-replay.js';
import {
  MOPS_EVENTS_SCORED,
  SCORING_CURSOR,
  type ScoringWork,
  scoringBatch,
  scoringReadThrough,
} from '../scoring/scoring-batch.js';
import { runDueStageTimers } from '../scoring/stage-timers.js';
import { type ListAdditionFailures, runListAdditions } from '../segments/list-additions.js';
import { SEGMENTS_CURSOR } from '../segments/live-segments.js';
import { createSegmentUpkeep } from '../segments/segment-upkeep.js';
import type { SegmentsThreadData } from '../segments/segments-thread.js';
import { SegmentsThread } from '../segments/segments-thread-client.js';
import type { Storage } from '../storage/storage.js';
import { compileLayout, WARM_UP_MJML } from '../templates/email-template.js';

/** How often to look for score replays requested through another process (this one's wake it at once). */
const SCORE_REPLAY_POLL_MS = 5000;
/** How often to look for current members to enter (a paused journey's, another process's publish). */
const MEMBER_ENTRY_POLL_MS = 5000;
/** How often to look whether imported contacts waiting to join a list are profiles yet. */
const LIST_ADDITION_POLL_MS = 2000;

/** Rendering and SMTP are the heaviest part of sending; two threads share them and the connections. */
const SEND_THREADS = 2;

interface Services {
  storage: Storage;
  clock: Clock;
  logger: Logger;
}

/**
 * What works off the event log and the clock: the pipeline (profiles, segments, journeys), journey
 * and segment timers, segment backfills.
 */
export interface JourneyWork {
  pipeline: EventPipeline;
  engine: JourneyEngine;
  scheduler: TimerScheduler;
  /** Checks hand-offs whose acceptance SLA ran out. */
  handOffTimers: TimerScheduler;
  /** Moves stages that scores reach by time alone (a negative award fading, a fit rule starting to hold). */
  stageTimers: TimerScheduler;
  /** Stores current scores again as decay moves them (the contacts list ranks by them). */
  scoreRefreshes: TimerScheduler;
  /** A segment was saved: its backfill starts now (backfills also poll for other processes' saves). */
  segmentSaved(): void;
  /** Applies score models to past events (replays requested through the API). */
  scoreReplays: TimerScheduler;
  /** A score replay was requested: it starts now (replays also poll for other processes' requests). */
  scoreReplayRequested(): void;
  /** Enters segments' current members into journeys published to take them. */
  memberEntries: TimerScheduler;
  /** A journey was published: the current members it enters start now (entries also poll). */
  journeyPublished(): void;
  /** Adds imported contacts to the static segments their imports named, once they are profiles. */
  listAdditions: TimerScheduler;
  /** An import asked for its contacts to join a list: look for them now (additions also poll). */
  listAdditionRequested(): void;
  start(): void;
  stop(): Promise<void>;
}

/** Sending what journeys queued: the message dispatcher, and the threads that render and speak SMTP. */
export interface Sending {
  dispatcher: MessageDispatcher;
  /** How this process renders and sends e-mail (test sends use it too). */
  email: EmailSender;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Both, in one thread: a worker process (role worker), and tests. The server with role all splits
 * them: journey work on the log thread, sending on the main thread, so each has a core's share.
 * On PostgreSQL several processes may run them, sharing the work.
 */
export interface Background extends JourneyWork, Sending {}

export function createJourneyWork(
  options: Services & {
    /** Called after a transaction queued messages: wake the dispatcher, wherever it runs. */
    onMessagesQueued: () => void;
    /**
     * Keep live segments current on a thread of their own, which opens storage with this config
     * (not with `:memory:`); otherwise in this thread's pipeline.
     */
    segmentsThread?: Config;
    /** How the segments thread is started, when it is (tests wrap it to stop the thread). */
    startSegmentsThread?: (data: SegmentsThreadData) => Worker;
  },
): JourneyWork {
  const { storage, clock, logger } = options;
  let scheduler: TimerScheduler | undefined;
  const engine = new JourneyEngine({
    storage,
    clock,
    logger,
    onMessagesQueued: options.onMessagesQueued,
    onTimersSet: (dueAt) => scheduler?.timerSet(dueAt),
  });
  const timers = new TimerScheduler({
    work: {
      name: 'journey timers',
      runDue: (limit) => engine.runDueTimers(limit),
      nextDue: () => storage.journeys.nextTimerDue(),
      judgedThrough: (now) => journeyTimersJudgedThrough(storage, now),
    },
    storage,
    clock,
    logger,
  });
  scheduler = timers;
  let pipeline: EventPipeline | undefined;
  const wakePipeline = () => pipeline?.wake();
  const segmentsThread = options.segmentsThread
    ? new SegmentsThread(options.segmentsThread, {
        logger,
        onDecided: wakePipeline,
        ...(options.startSegmentsThread ? { startThread: options.startSegmentsThread } : {}),
      })
    : undefined;
  const segments = segmentsThread
    ? undefined
    : createSegmentUpkeep({ storage, clock, logger, onDecided: wakePipeline });
  const handOffTimers: TimerScheduler = new TimerScheduler({
    work: {
      name: 'hand-off SLA checks',
      async runDue(limit) {
        const { handled, queued } = await runOverdueHandOffs(storage, {
          now: clock.now(),
          ...(limit === undefined ? {} : { limit }),
        });
        if (queued > 0) options.onMessagesQueued();
        if (handled > 0) pipeline?.wake();
        return handled;
      },
      nextDue: () => storage.scoring.nextHandOffDue(),
      judgedThrough: (now) => scoringReadThrough(storage, now),
    },
    storage,
    clock,
    logger,
  });
  // A replay page, and a stage timer, read ledgers and write scores as a scoring batch does: in this
  // process they take turns (across PostgreSQL processes, they hold the scoring cursor's row).
  const scoringTurns = new Serial();
  const stageTimers: TimerScheduler = new TimerScheduler({
    work: {
      name: 'stage timers',
      async runDue(limit) {
        const work = await scoringTurns.run(() =>
          runDueStageTimers(storage, { now: clock.now(), ...(limit === undefined ? {} : { limit }) }),
        );
        if (work.handled === 0) return 0;
        scoringDone(work);
        // Lifecycle Stage Changed written: journeys and segments read it.
        pipeline?.wake();
        return work.handled;
      },
      nextDue: () => storage.scoring.nextStageTimerDue(),
      judgedThrough: (now) => scoringReadThrough(storage, now),
    },
    storage,
    clock,
    logger,
  });
  const scoreRefreshes = new TimerScheduler({
    work: {
      name: 'score refreshes',
      runDue: (limit) =>
        runDueScoreRefreshes(storage, { now: clock.now(), ...(limit === undefined ? {} : { limit }) }),
      nextDue: () => storage.scoring.nextScoreRefreshDue(),
    },
    storage,
    clock,
    logger,
  });
  const replayFailures: ReplayFailures = new Map();
  const scoreReplays = new TimerScheduler({
    work: {
      name: 'score replays',
      async runDue() {
        const pages = await runScoreReplays(storage, {
          clock,
          logger,
          turn: (work) => scoringTurns.run(work),
          failures: replayFailures,
        });
        // Past Events Scored written: segments asking about scores decide those profiles again.
        if (pages > 0) pipeline?.wake();
        return pages;
      },
      nextDue: async () => undefined,
    },
    storage,
    clock,
    logger,
    pollIntervalMs: SCORE_REPLAY_POLL_MS,
  });
  const memberEntryFailures: MemberEntryFailures = new Map();
  const memberEntries = new TimerScheduler({
    work: {
      name: 'current members entering journeys',
      // The engine announces what the entered instances queued and scheduled.
      runDue: () => runMemberEntries(storage, { engine, clock, logger, failures: memberEntryFailures }),
      nextDue: async () => undefined,
    },
    storage,
    clock,
    logger,
    pollIntervalMs: MEMBER_ENTRY_POLL_MS,
  });
  const listAdditionFailures: ListAdditionFailures = new Map();
  const listAdditions = new TimerScheduler({
    work: {
      name: 'imported contacts joining lists',
      async runDue() {
        const ended = await runListAdditions(storage, { clock, logger, failures: listAdditionFailures });
        // Segment Entered written: journeys entering on the list follow it.
        if (ended > 0) pipeline?.wake();
        return ended;
      },
      nextDue: async () => undefined,
    },
    storage,
    clock,
    logger,
    pollIntervalMs: LIST_ADDITION_POLL_MS,
  });
  const scoringDone = (work: ScoringWork) => {
    if (work.earliestDue !== undefined) handOffTimers.timerSet(work.earliestDue);
    if (work.earliestStageTimer !== undefined) stageTimers.timerSet(work.earliestStageTimer);
    if (work.queued > 0) options.onMessagesQueued();
    // Segments follow scores: the thread deciding them may have a batch now.
    segmentsThread?.wake();
  };
  const consumers: LogConsumer[] = [
    // Neither resolves nor scores Mops's own events (they are filed under their profile as written).
    { cursor: PROFILES_CURSOR, batch: profileResolutionBatch(() => clock.now()), skipsMopsEvents: true },
    {
      cursor: SCORING_CURSOR,
      batch: scoringBatch(() => clock.now()),
      skipsMopsEvents: true,
      mopsEventsRead: async () => MOPS_EVENTS_SCORED,
      notBeyond: PROFILES_CURSOR,
      afterCommit: (work) => scoringDone(work as ScoringWork),
      exclusive: (work) => scoringTurns.run(work),
    } satisfies LogConsumer<ScoringWork> as LogConsumer,
    ...(segments ? [segments.consumer] : []),
    {
      cursor: JOURNEYS_CURSOR,
      batch: engine.eventBatch(),
      // After segments (which follow scores): a branch on membership, a score or a stage sees what the
      // very event that moved the instance did to them.
      notBeyond: SEGMENTS_CURSOR,
      afterCommit: (work) => engine.afterCommit(work as WorkLog),
    } satisfies LogConsumer<WorkLog> as LogConsumer,
  ];
  const eventPipeline = new EventPipeline({
    storage,
    clock,
    logger,
    consumers,
    ...(segmentsThread ? { followers: [SEGMENTS_CURSOR] } : {}),
  });
  pipeline = eventPipeline;
  return {
    pipeline: eventPipeline,
    engine,
    scheduler: timers,
    handOffTimers,
    stageTimers,
    scoreRefreshes,
    segmentSaved() {
      segments?.backfills.wake();
      segmentsThread?.segmentSaved();
    },
    scoreReplays,
    scoreReplayRequested() {
      scoreReplays.wake();
    },
    memberEntries,
    journeyPublished() {
      memberEntries.wake();
    },
    listAdditions,
    listAdditionRequested() {
      listAdditions.wake();
    },
    start() {
      eventPipeline.start();
      timers.start();
      handOffTimers.start();
      stageTimers.start();
      scoreRefreshes.start();
      scoreReplays.start();
      memberEntries.start();
      listAdditions.start();
      segments?.start();
      segmentsThread?.start().catch((error: unknown) => logger.error({ err: error }, 'segments thread'));
    },
    async stop() {
      await eventPipeline.stop();
      await timers.stop();
      await handOffTimers.stop();
      await stageTimers.stop();
      await scoreRefreshes.stop();
      await scoreReplays.stop();
      await memberEntries.stop();
      await listAdditions.stop();
      await segments?.stop();
      await segmentsThread?.close();
    },
  };
}

export function createSending(
  options: Services & {
    secret: string;
    publicUrl: string;
    sendLeaseMs?: number;
    sendBatch?: number;
    sendConcurrency?: number;
    /** Render and send e-mail on threads of their own (the server); otherwise in this thread (tests). */
    sendThread?: boolean;
    /** MOPS_ALLOW_PRIVATE_NETWORKS: whether SMTP hosts, webhook targets and SMS providers may be private addresses. */
    allowPrivateNetworks: boolean;
  },
): Sending {
  const { storage, clock, logger, allowPrivateNetworks } = options;
  const transports = new SmtpTransports({ allowPrivateNetworks });
  const sendThreads = options.sendThread
    ? new SendThreads({
        secret: options.secret,
        publicUrl: options.publicUrl,
        threads: SEND_THREADS,
        allowPrivateNetworks,
      })
    : undefined;
  const email: EmailSender = {
    signer: new LinkSigner(options.secret),
    publicUrl: options.publicUrl,
    secrets: new SecretBox(options.secret),
    transports,
    ...(sendThreads ? { deliver: (job: EmailJob) => sendThreads.deliver(job) } : {}),
  };
  const dispatcher = new MessageDispatcher({
    storage,
    clock,
    logger,
    ...(options.sendLeaseMs ? { leaseMs: options.sendLeaseMs } : {}),
    ...(options.sendBatch ? { batchSize: options.sendBatch } : {}),
    ...(options.sendConcurrency ? { concurrency: options.sendConcurrency } : {}),
    email,
    allowPrivateNetworks,
  });
  return {
    dispatcher,
    email,
    start() {
      // Loading MJML's components takes a moment: pay it now, not on the first e-mail.
      if (sendThreads) sendThreads.start();
      else void compileLayout({ id: 'warm-up', updatedAt: 0, mjml: WARM_UP_MJML }).catch(() => undefined);
      dispatcher.start();
    },
    async stop() {
      await dispatcher.stop();
      transports.closeAll();
      await sendThreads?.close();
    },
  };
}

export function createBackground(
  options: Parameters<typeof createSending>[0] & { segmentsThread?: Config },
): Background {
  const sending = createSending(options);
  const work = createJourneyWork({ ...options, onMessagesQueued: () => sending.dispatcher.wake() });
  return {
    ...work,
    ...sending,
    start() {
      sending.start();
      work.start();
    },
    async stop() {
      await work.stop();
      await sending.stop();
    },
  };
}
