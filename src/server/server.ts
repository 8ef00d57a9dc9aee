import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ensureFirstRun, type FirstRun } from '../access/access.js';
import { type Clock, systemClock } from '../core/clock.js';
import { type Config, ConfigError, withPort } from '../core/config.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { type App, buildApp } from './app.js';
import { type Background, createBackground, createSending, type Sending } from './background.js';
import { LogThread } from './log-thread-client.js';
import { createLogger } from './logger.js';
import { resolveSecret } from './secret.js';

/** all: one process does everything (the embedded default); api and worker split it over several processes. */
export type ProcessRole = 'all' | 'api' | 'worker';
export const PROCESS_ROLES: readonly ProcessRole[] = ['all', 'api', 'worker'];

export interface RunningMops {
  role: ProcessRole;
  storage: Storage;
  /** Where the HTTP server listens; undefined for a worker. */
  url: string | undefined;
  app: App | undefined;
  /** The pipeline, timers and dispatcher, when they all run on this thread (role worker); role all runs the first two on the log thread. */
  background: Background | undefined;
  firstRun: FirstRun | undefined;
  logger: Logger;
  stop(): Promise<void>;
}

const HOUSEKEEPING_INTERVAL_MS = 3_600_000;
/** How long stopping lets requests in flight finish, within a usual orchestrator's 30 s grace. */
const REQUEST_GRACE_MS = 10_000;
/** How long a health check waits for a log thread it starts again (opening storage takes well under). */
const HEALTH_CHECK_WAIT_MS = 5_000;

/**
 * Composes the process once: configuration, storage, clock and logger are built here and passed down.
 * Migrations run on every start (they are idempotent and take a lock on PostgreSQL).
 */
export async function startMops(options: {
  config: Config;
  role?: ProcessRole;
  clock?: Clock;
  logger?: Logger;
  /** How long stopping waits for requests in flight before cutting their connections. */
  requestGraceMs?: number;
}): Promise<RunningMops> {
  const role = options.role ?? 'all';
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(options.config.logLevel);
  if (options.config.database.kind === 'sqlite' && role !== 'all') {
    throw new ConfigError([
      `--role ${role}: the embedded SQLite database serves one process; set MOPS_DATABASE_URL to a PostgreSQL database to split api and worker processes`,
    ]);
  }
  const secret = resolveSecret(options.config);
  // Port 0 asks for any free port: find it first, so links in e-mails carry the real one. Nothing
  // between here and the try below throws but opening storage, which releases it.
  const reserved =
    options.config.port === 0 && role !== 'worker' ? await reservePort(options.config.host) : undefined;
  const config = reserved ? withPort(options.config, reserved.port) : options.config;

  const storage = await openStorage(config, clock).catch(async (error: unknown) => {
    await reserved?.release();
    throw error;
  });
  let app: App | undefined;
  let background: Background | undefined;
  let sending: Sending | undefined;
  let logThread: LogThread | undefined;
  let housekeeping: NodeJS.Timeout | undefined;
  try {
    const applied = await storage.migrate();
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
    for (const warning of await storage.checkServer()) logger.warn(warning);

    if (role !== 'api') {
      housekeeping = setInterval(() => {
        storage.access
          .deleteExpiredSessions(clock.now())
          .catch((error) => logger.warn({ err: error }, 'session cleanup failed'));
      }, HOUSEKEEPING_INTERVAL_MS);
      housekeeping.unref();
    }
    const sendingOptions = {
      storage,
      clock,
      logger,
      secret,
      publicUrl: config.publicUrl,
      sendLeaseMs: config.sendLeaseMs,
      sendBatch: config.sendBatch,
      sendConcurrency: config.sendConcurrency,
      sendThread: true,
      allowPrivateNetworks: config.allowPrivateNetworks,
    };
    if (role === 'worker') {
      background = createBackground({ ...sendingOptions, segmentsThread: config });
      background.start();
    }
    if (role === 'all') {
      // The log thread runs the pipeline and timers; sending (its bookkeeping, and the send threads)
      // is driven from here, so that the log thread's core is left to appends and journeys.
      sending = createSending(sendingOptions);
      sending.start();
    }
    let url: string | undefined;
    let firstRun: FirstRun | undefined;
    if (role !== 'worker') {
      // Appends, and with role all the pipeline, run on the log thread: a second core for ingest.
      const dispatcher = sending?.dispatcher;
      logThread = new LogThread(config, {
        runBackground: role === 'all',
        logger,
        ...(dispatcher ? { onMessagesQueued: () => dispatcher.wake() } : {}),
      });
      await logThread.start();
      app = await buildApp({
        config,
        storage,
        clock,
        logger,
        appender: logThread,
        secret,
        ...(dispatcher ? { onMessagesQueued: () => dispatcher.wake() } : {}),
        onSegmentSaved: () => logThread?.segmentSaved(),
        onScoreReplayRequested: () => logThread?.scoreReplayRequested(),
        onJourneyPublished: () => logThread?.journeyPublished(),
        onListAdditionRequested: () => logThread?.listAdditionRequested(),
        appenderReady: () => logThread?.takesAppends(HEALTH_CHECK_WAIT_MS) ?? Promise.resolve(),
      });
      await reserved?.release();
      const address = await app.server.listen({ host: config.host, port: config.port });
      url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
      // Only once the port is bound: the first admin's password is shown once, in the banner printed
      // after this returns, and a start that cannot bind its port (EADDRINUSE) prints none.
      firstRun = await ensureFirstRun(storage, clock);
      logger.info({ url, role, database: storage.dialect }, 'mops started');
    } else {
      logger.info({ role, database: storage.dialect }, 'mops worker started');
    }

    let stopping: Promise<void> | undefined;
    return {
      role,
      storage,
      url,
      app,
      background,
      firstRun,
      logger,
      stop() {
        stopping ??= (async () => {
          clearInterval(housekeeping);
          if (app) await closeWithin(app.server, options.requestGraceMs ?? REQUEST_GRACE_MS, logger);
          await logThread?.close();
          await sending?.stop();
          await background?.stop();
          await storage.close();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await reserved?.release();
    clearInterval(housekeeping);
    await app?.server.close().catch(() => undefined);
    await logThread?.close().catch(() => undefined);
    await sending?.stop().catch(() => undefined);
    await background?.stop().catch(() => undefined);
    await storage.close().catch(() => undefined);
    throw error;
  }
}

/**
 * A free port, held (listened on) until released just before the server listens on it: released at
 * once, it stayed free for the whole start (migrations, threads), and any other program asking for a
 * free port meanwhile could be given it.
 */
function reservePort(host: string): Promise<{ port: number; release(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    // Whatever connects meanwhile is turned away, so that closing it never waits on a connection.
    const probe = createServer((socket) => socket.destroy());
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      let released: Promise<void> | undefined;
      const release = () => {
        released ??= new Promise<void>((done) => probe.close(() => done()));
        return released;
      };
      resolve({ port, release });
    });
  });
}

/**
 * Closes the HTTP server, letting requests in flight finish for `graceMs`; then their connections are
 * cut (an event not yet acknowledged is retried by its client), so that a client trickling a body in
 * cannot keep the process from stopping and the work behind it from shutting down in order.
 */
async function closeWithin(server: FastifyInstance, graceMs: number, logger: Logger): Promise<void> {
  const deadline = setTimeout(() => {
    logger.warn({ graceMs }, 'requests still in flight at the shutdown deadline: closing their connections');
    server.server.closeAllConnections();
  }, graceMs);
  try {
    await server.close();
  } finally {
    clearTimeout(deadline);
  }
}
