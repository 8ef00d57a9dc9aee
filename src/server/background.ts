import type { Logger } from 'pino';
import { MessageDispatcher } from '../channels/dispatcher.js';
import type { EmailJob, EmailSender } from '../channels/email/email-channel.js';
import { SecretBox } from '../channels/email/secret-box.js';
import { SendThreads } from '../channels/email/send-thread-client.js';
import { LinkSigner } from '../channels/email/signed-links.js';
import { SmtpTransports } from '../channels/email/smtp-transports.js';
import type { Clock } from '../core/clock.js';
import { JOURNEYS_CURSOR, JourneyEngine, type WorkLog } from '../journeys/engine.js';
import { EventPipeline, type LogConsumer } from '../pipeline/pipeline.js';
import { TimerScheduler } from '../pipeline/timer-scheduler.js';
import { PROFILES_CURSOR, profileResolutionBatch } from '../profiles/profiles.js';
import { runOverdueHandOffs } from '../scoring/hand-offs.js';
import { SCORING_CURSOR, type ScoringWork, scoringBatch } from '../scoring/scoring-batch.js';
import { runPendingBackfills } from '../segments/backfill.js';
import { DigestCache } from '../segments/digest-cache.js';
import {
  runDueSegmentTimers,
  SEGMENTS_CURSOR,
  type SegmentWork,
  segmentMembershipBatch,
  segmentsSkipMopsEvents,
} from '../segments/live-segments.js';
import type { Storage } from '../storage/storage.js';
import { compileLayout, WARM_UP_MJML } from '../templates/email-template.js';

/** Rendering and SMTP are the heaviest part of sending; two threads share them and the connections. */
const SEND_THREADS = 2;
/** How often to look for segments saved through another process (this one's saves wake it at once). */
const BACKFILL_POLL_MS = 5000;

interface Services {
  storage: Storage;
  clock: Clock;
  logger: Logger;
}

/**
 * The segments consumer's batch under a backlog. Its writes land at random places (members in two
 * B-trees, Segment Entered/Exited filed per profile), and a larger batch puts more of them on each
 * page it writes (with 50 segments, 5,000 at a time took about an eighth less time than 1,000).
 * Its write transaction holds SQLite's write lock for about half a second at this size, which
 * bounds it.
 */
const SEGMENTS_BATCH = 5000;

/**
 * What works off the event log and the clock: the pipeline (profiles, segments, journeys), journey
 * and segment timers, segment backfills.
 */
export interface JourneyWork {
  pipeline: EventPipeline;
  engine: JourneyEngine;
  scheduler: TimerScheduler;
  segmentTimers: TimerScheduler;
  /** Checks hand-offs whose acceptance SLA ran out. */
  handOffTimers: TimerScheduler;
  /** Runs segment backfills; woken when a segment is saved, and polls for other processes' saves. */
  backfills: TimerScheduler;
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
      runDue: () => engine.runDueTimers(),
      nextDue: () => storage.journeys.nextTimerDue(),
    },
    clock,
    logger,
  });
  scheduler = timers;
  let pipeline: EventPipeline | undefined;
  const segmentTimers: TimerScheduler = new TimerScheduler({
    work: {
      name: 'segment timers',
      async runDue() {
        const { taken, work } = await runDueSegmentTimers(storage, { now: clock.now() });
        segmentWorkDone(work);
        return taken;
      },
      nextDue: () => storage.segments.nextTimerDue(),
    },
    clock,
    logger,
  });
  const segmentWorkDone = (work: SegmentWork) => {
    if (work.earliestTimer !== undefined) segmentTimers.timerSet(work.earliestTimer);
    // Segment Entered/Exited are in the log now: journeys may enter on them.
    if (work.changed > 0) pipeline?.wake();
  };
  const handOffTimers: TimerScheduler = new TimerScheduler({
    work: {
      name: 'hand-off SLA checks',
      async runDue() {
        const { handled, queued } = await runOverdueHandOffs(storage, { now: clock.now() });
        if (queued > 0) options.onMessagesQueued();
        if (handled > 0) pipeline?.wake();
        return handled;
      },
      nextDue: () => storage.scoring.nextHandOffDue(),
    },
    clock,
    logger,
  });
  const scoringDone = (work: ScoringWork) => {
    if (work.earliestDue !== undefined) handOffTimers.timerSet(work.earliestDue);
    if (work.queued > 0) options.onMessagesQueued();
  };
  const backfills = new TimerScheduler({
    work: {
      name: 'segment backfills',
      runDue: () => runPendingBackfills(storage, { clock, logger }),
      nextDue: async () => undefined,
    },
    clock,
    logger,
    pollIntervalMs: BACKFILL_POLL_MS,
  });
  const consumers: LogConsumer[] = [
    // Neither resolves nor scores Mops's own events (they are filed under their profile as written).
    { cursor: PROFILES_CURSOR, batch: profileResolutionBatch(() => clock.now()), skipsMopsEvents: true },
    {
      cursor: SCORING_CURSOR,
      batch: scoringBatch(() => clock.now()),
      skipsMopsEvents: true,
      notBeyond: PROFILES_CURSOR,
      afterCommit: (work) => scoringDone(work as ScoringWork),
    } satisfies LogConsumer<ScoringWork> as LogConsumer,
    {
      cursor: SEGMENTS_CURSOR,
      batch: segmentMembershipBatch(() => clock.now(), new DigestCache()),
      skipsMopsEvents: () => segmentsSkipMopsEvents(storage),
      batchSize: SEGMENTS_BATCH,
      // Rules may ask about scores and stages: they are decided first.
      notBeyond: SCORING_CURSOR,
      afterCommit: (work) => segmentWorkDone(work as SegmentWork),
    } satisfies LogConsumer<SegmentWork> as LogConsumer,
    {
      cursor: JOURNEYS_CURSOR,
      batch: engine.eventBatch(),
      notBeyond: PROFILES_CURSOR,
      afterCommit: (work) => engine.afterCommit(work as WorkLog),
    } satisfies LogConsumer<WorkLog> as LogConsumer,
  ];
  const eventPipeline = new EventPipeline({ storage, clock, logger, consumers });
  pipeline = eventPipeline;
  return {
    pipeline: eventPipeline,
    engine,
    scheduler: timers,
    segmentTimers,
    handOffTimers,
    backfills,
    start() {
      eventPipeline.start();
      timers.start();
      segmentTimers.start();
      handOffTimers.start();
      backfills.start();
    },
    async stop() {
      await eventPipeline.stop();
      await timers.stop();
      await segmentTimers.stop();
      await handOffTimers.stop();
      await backfills.stop();
    },
  };
}

export function createSending(
  options: Services & {
    secret: string;
    publicUrl: string;
    sendLeaseMs?: number;
    sendBatch?: number;
    /** Render and send e-mail on threads of their own (the server); otherwise in this thread (tests). */
    sendThread?: boolean;
  },
): Sending {
  const { storage, clock, logger } = options;
  const transports = new SmtpTransports();
  const sendThreads = options.sendThread
    ? new SendThreads({ secret: options.secret, publicUrl: options.publicUrl, threads: SEND_THREADS })
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
    email,
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

export function createBackground(options: Parameters<typeof createSending>[0]): Background {
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
