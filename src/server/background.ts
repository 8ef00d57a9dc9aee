import type { Logger } from 'pino';
import { MessageDispatcher } from '../channels/dispatcher.js';
import type { EmailJob, EmailSender } from '../channels/email/email-channel.js';
import { SecretBox } from '../channels/email/secret-box.js';
import { SendThreads } from '../channels/email/send-thread-client.js';
import { LinkSigner } from '../channels/email/signed-links.js';
import { SmtpTransports } from '../channels/email/smtp-transports.js';
import type { Clock } from '../core/clock.js';
import { JOURNEYS_CURSOR, JourneyEngine, type WorkLog } from '../journeys/engine.js';
import { TimerScheduler } from '../journeys/scheduler.js';
import { EventPipeline, type LogConsumer } from '../pipeline/pipeline.js';
import { PROFILES_CURSOR, profileResolutionBatch } from '../profiles/profiles.js';
import type { Storage } from '../storage/storage.js';
import { compileLayout, WARM_UP_MJML } from '../templates/email-template.js';

/** Rendering and SMTP are the heaviest part of sending; two threads share them and the connections. */
const SEND_THREADS = 2;

/**
 * Everything that works off the event log and the clock: the pipeline (profiles, then journeys),
 * the journey timer scheduler and the message dispatcher. One process runs it (role all: on the
 * log thread; role worker: on its main thread); on PostgreSQL several may, sharing the work.
 */
export interface Background {
  pipeline: EventPipeline;
  engine: JourneyEngine;
  scheduler: TimerScheduler;
  dispatcher: MessageDispatcher;
  /** How this process renders and sends e-mail (test sends use it too). */
  email: EmailSender;
  start(): void;
  stop(): Promise<void>;
}

export function createBackground(options: {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  secret: string;
  publicUrl: string;
  sendLeaseMs?: number;
  sendBatch?: number;
  /** Render and send e-mail on a thread of its own (the server); otherwise in this thread (tests). */
  sendThread?: boolean;
}): Background {
  const { storage, clock, logger } = options;
  const transports = new SmtpTransports();
  const sendThread = options.sendThread
    ? new SendThreads({ secret: options.secret, publicUrl: options.publicUrl, threads: SEND_THREADS })
    : undefined;
  const email: EmailSender = {
    signer: new LinkSigner(options.secret),
    publicUrl: options.publicUrl,
    secrets: new SecretBox(options.secret),
    transports,
    ...(sendThread ? { deliver: (job: EmailJob) => sendThread.deliver(job) } : {}),
  };
  const dispatcher = new MessageDispatcher({
    storage,
    clock,
    logger,
    ...(options.sendLeaseMs ? { leaseMs: options.sendLeaseMs } : {}),
    ...(options.sendBatch ? { batchSize: options.sendBatch } : {}),
    email,
  });
  let scheduler: TimerScheduler | undefined;
  const engine = new JourneyEngine({
    storage,
    clock,
    logger,
    onMessagesQueued: () => dispatcher.wake(),
    onTimersSet: (dueAt) => scheduler?.timerSet(dueAt),
  });
  scheduler = new TimerScheduler({ engine, storage, clock, logger });
  const consumers: LogConsumer[] = [
    { cursor: PROFILES_CURSOR, batch: profileResolutionBatch(() => clock.now()) },
    {
      cursor: JOURNEYS_CURSOR,
      batch: engine.eventBatch(),
      notBeyond: PROFILES_CURSOR,
      afterCommit: (work) => engine.afterCommit(work as WorkLog),
    } satisfies LogConsumer<WorkLog> as LogConsumer,
  ];
  const pipeline = new EventPipeline({ storage, clock, logger, consumers });
  const timers = scheduler;
  return {
    pipeline,
    engine,
    scheduler: timers,
    dispatcher,
    email,
    start() {
      // Loading MJML's components takes a moment: pay it now, not on the first e-mail.
      void compileLayout({ id: 'warm-up', updatedAt: 0, mjml: WARM_UP_MJML }).catch(() => undefined);
      sendThread?.start();
      pipeline.start();
      timers.start();
      dispatcher.start();
    },
    async stop() {
      await pipeline.stop();
      await timers.stop();
      await dispatcher.stop();
      transports.closeAll();
      await sendThread?.close();
    },
  };
}
