import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { StoredEvent } from '../core/event.js';
import { FAILURES_BEFORE_GIVING_UP, isPassingFailure } from '../storage/passing-failures.js';
import type { CursorSpan, PipelineBatch, PipelineOutcome, Storage } from '../storage/storage.js';
import { RetryDelay } from './retry-delay.js';

/**
 * One consumer of the event log: its own durable cursor, its batch, and optionally another cursor it
 * must not overtake (journeys read only events whose profiles are resolved).
 */
export interface LogConsumer<T = unknown> {
  cursor: string;
  batch: PipelineBatch<T>;
  notBeyond?: string;
  /** Whether it passes over Mops's own events (Segment Entered, …) unread. */
  skipsMopsEvents?: boolean;
  /**
   * Mops's own events it reads all the same, by name; asked before each batch, as it depends on what
   * is configured (segments counting Segment Entered, or asking about stages).
   */
  mopsEventsRead?: () => Promise<string[]>;
  /**
   * Events per batch when not the pipeline's. A consumer with a larger batch, behind another cursor,
   * waits while that one works off a backlog until it is a batch this size ahead: it then writes
   * fewer, fuller pages per event. Without a backlog it runs each round as the others do.
   */
  batchSize?: number;
  /** Runs after the batch committed, with what it returned (to wake what depends on its writes). */
  afterCommit?: (result: T) => void;
  /**
   * Runs each batch (from reading to commit) through this, so that other work of the process that
   * writes what the batch decides from (segment timers) cannot run between its reads and its writes.
   */
  exclusive?: <R>(work: () => Promise<R>) => Promise<R>;
}

export interface PipelineOptions {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** In order: each consumer runs after the one before it. */
  consumers: LogConsumer[];
  /**
   * Cursors of consumers that run elsewhere (another thread) on events this pipeline's consumers
   * wrote or handed on: `drain` also waits for them, and for what this pipeline then has to do after them.
   */
  followers?: string[];
  /** Events per transaction; a backlog is worked off in batches of this size. */
  batchSize?: number;
  /** How often to look for work nobody announced (another process's events when NOTIFY was missed). */
  pollIntervalMs?: number;
  /**
   * While ingest saturates the process, the share of the time the pipeline may take (default 0.1).
   * Ingest comes first: an acknowledged event is already durable, so under saturation profiles lag
   * and catch up at full speed once the load eases.
   */
  shareUnderLoad?: number;
}

/** A merge or a stage moving under a batch twice running is rare; ten times is something stuck. */
const MAX_STALE_IN_A_ROW = 10;
/** Appends this recent mean ingest is busy. */
const INGEST_ACTIVE_MS = 1000;

/**
 * Runs the log's consumers (profiles, then journeys): each reads committed events after its durable
 * cursor and writes its results in the transaction that moves the cursor, so a crash at any moment
 * replays from exactly where the last commit stopped. Runs as soon as events are appended, not on a
 * timer.
 */
export class EventPipeline {
  readonly #options: Required<PipelineOptions>;
  #running: Promise<void> | undefined;
  #pending = false;
  #stopped = true;
  #unsubscribe: (() => void) | undefined;
  #poller: NodeJS.Timeout | undefined;
  #processed = 0;
  #lastAppendAt = 0;
  /** Stale outcomes in a row, per cursor: a batch that never stops going stale is a bug to surface. */
  readonly #staleInARow = new Map<string, number>();
  /** Consumers whose last full batch failed: they go one event at a time past it, to find the one. */
  readonly #failing = new Map<string, FailingBatch>();
  #setAsideCount = 0;
  readonly #retryDelay = new RetryDelay();

  constructor(options: PipelineOptions) {
    this.#options = { batchSize: 1000, pollIntervalMs: 1000, shareUnderLoad: 0.1, followers: [], ...options };
  }

  get processedCount(): number {
    return this.#processed;
  }

  /** Events this pipeline set aside since it started (each is logged and kept in the database). */
  get setAsideCount(): number {
    return this.#setAsideCount;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#unsubscribe = this.#options.storage.onEventsAppended(() => this.eventsAppended());
    this.#poller = setInterval(() => this.wake(), this.#options.pollIntervalMs);
    this.#poller.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    clearInterval(this.#poller);
    await this.#running;
  }

  /** New events are in the log: process them now, and yield to ingest while it is this busy. */
  eventsAppended(): void {
    this.#lastAppendAt = performance.now();
    this.wake();
  }

  /** Asks for a run; runs that are asked for while one is going coalesce into one more. */
  wake(): void {
    if (this.#stopped) return;
    this.#pending = true;
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  /**
   * Processes until every consumer has handled every committed event; tests and the CLI use it to wait
   * for consumers to be current. On PostgreSQL, committed events may wait behind an older transaction
   * still open elsewhere on the server (see ARCHITECTURE.md): it waits for that, up to `timeoutMs`.
   */
  async drain(timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let total = 0;
    for (;;) {
      const count = await this.runOnce();
      total += count;
      if (count > 0) continue;
      if (!(await this.isBehind())) return total;
      if (Date.now() > deadline) throw new Error(`the pipeline is still behind after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /**
   * Whether a consumer (or a follower) has committed events still to handle. A round that found
   * nothing does not say so on PostgreSQL: events wait there behind older transactions still open.
   */
  async isBehind(): Promise<boolean> {
    const { consumers, followers, storage } = this.#options;
    for (const cursor of [...consumers.map((consumer) => consumer.cursor), ...followers])
      if ((await storage.pipelineLag(cursor)) > 0) return true;
    return false;
  }

  /**
   * One batch for each consumer, in order. Returns how far it got: the most events one consumer took
   * (at least 1 for a batch that only passed over skipped events), 0 when all were idle.
   */
  async runOnce(): Promise<number> {
    let progress = 0;
    let hasStale = false;
    for (const [index, consumer] of this.#options.consumers.entries()) {
      const outcome = await this.#runBatch(consumer);
      if (outcome === undefined) continue;
      if (outcome.status === 'stale') {
        hasStale = true;
        const inARow = (this.#staleInARow.get(consumer.cursor) ?? 0) + 1;
        this.#staleInARow.set(consumer.cursor, inARow);
        if (inARow >= MAX_STALE_IN_A_ROW) {
          this.#staleInARow.delete(consumer.cursor);
          throw new Error(`${consumer.cursor}: the batch went stale ${inARow} times in a row`);
        }
        progress = Math.max(progress, 1); // to go again at once, from fresh reads
        continue;
      }
      this.#staleInARow.delete(consumer.cursor);
      if (outcome.status === 'set aside') {
        progress = Math.max(progress, 1);
        continue;
      }
      if (outcome.status !== 'done') continue;
      this.#passedOneByOne(consumer.cursor, outcome.events);
      consumer.afterCommit?.(outcome.result);
      if (index === 0) this.#processed += outcome.events.length;
      progress = Math.max(progress, outcome.events.length, 1);
    }
    // A round that went through ends a run of failures, one with nothing to do too (the database is
    // back); one that went stale does not: a batch stale every time ends in an error, and its
    // retries must wait longer each time, not run ten stale batches every 50 ms for good.
    if (!hasStale) this.#retryDelay.reset();
    return progress;
  }

  /**
   * One batch of one consumer; undefined when it sits this round out. A batch that throws is tried
   * again one event at a time, to single out the event it fails on (one bad event must not stop the
   * consumer for good, every later event stored and never processed); that event is set aside once it
   * has failed several times running while the database answered.
   */
  async #runBatch(consumer: LogConsumer): Promise<BatchOutcome | undefined> {
    const { storage, clock, batchSize } = this.#options;
    const failing = this.#failing.get(consumer.cursor);
    if (failing === undefined && (await this.#waitsForFullBatch(consumer))) return undefined;
    const skipMopsEvents = consumer.skipsMopsEvents === true;
    const mopsEventsRead = skipMopsEvents ? await consumer.mopsEventsRead?.() : undefined;
    let taken: { events: StoredEvent[]; span: CursorSpan } | undefined;
    const watched: PipelineBatch<unknown> = {
      prepare(events, reader, span) {
        taken = { events, span };
        return consumer.batch.prepare(events, reader, span);
      },
    };
    const runBatch = () =>
      storage.runPipelineBatch(
        consumer.cursor,
        failing ? 1 : (consumer.batchSize ?? batchSize),
        watched,
        clock.now(),
        {
          ...(consumer.notBeyond ? { notBeyond: consumer.notBeyond } : {}),
          ...(skipMopsEvents ? { skipMopsEvents } : {}),
          ...(mopsEventsRead?.length ? { mopsEventsRead } : {}),
          // One event, Mops's own included: else the batch carries the Mops events before the next
          // client event (all up to the log's end, when none follows) and sets them all aside together.
          ...(failing ? { countsEveryEvent: true } : {}),
        },
      );
    try {
      return await (consumer.exclusive ? consumer.exclusive(runBatch) : runBatch());
    } catch (error) {
      // Failing before it had its events, or as the database fails, is not an event's doing.
      if (taken === undefined || isPassingFailure(error)) throw error;
      if (failing === undefined) {
        this.#failing.set(consumer.cursor, {
          eventsLeft: taken.events.length,
          after: taken.span.after,
          attempts: 1,
        });
        throw error;
      }
      // Only failures at the same event count: another process may have moved the cursor meanwhile.
      if (failing.after === taken.span.after) failing.attempts += 1;
      else Object.assign(failing, { after: taken.span.after, attempts: 1 });
      if (failing.attempts < FAILURES_BEFORE_GIVING_UP) throw error;
      await storage.ping(); // a database gone away throws here, and nothing is set aside
      return this.#setAside(consumer.cursor, taken, error);
    }
  }

  async #setAside(
    cursor: string,
    batch: { events: StoredEvent[]; span: CursorSpan },
    error: unknown,
  ): Promise<BatchOutcome> {
    const { storage, clock, logger } = this.#options;
    const reason = describeError(error);
    const moved = await storage.setAside(cursor, batch.span, batch.events, reason, clock.now());
    if (!moved) return { status: 'busy' };
    this.#setAsideCount += batch.events.length;
    logger.error(
      {
        err: error,
        consumer: cursor,
        events: batch.events.map(({ id, workspaceId, messageId }) => ({ id, workspaceId, messageId })),
      },
      'event pipeline set an event aside: it failed at every attempt; the consumer goes on past it',
    );
    this.#passedOneByOne(cursor, batch.events);
    return { status: 'set aside' };
  }

  /** A consumer going one event at a time past a failed batch got these past: back to full batches once through it. */
  #passedOneByOne(cursor: string, events: StoredEvent[]): void {
    const failing = this.#failing.get(cursor);
    if (failing === undefined) return;
    failing.attempts = 0;
    failing.eventsLeft -= Math.max(1, events.length);
    if (failing.eventsLeft <= 0) this.#failing.delete(cursor);
  }

  /**
   * Whether a consumer with a batch larger than the pipeline's sits this round out: the cursor it
   * follows is still working off a backlog (behind the end of the log, so more is coming) and is not
   * yet a full batch ahead of it. The cursors are read from the database, so this holds wherever
   * the one it follows runs (this pipeline, or another thread).
   */
  async #waitsForFullBatch(consumer: LogConsumer): Promise<boolean> {
    if (consumer.batchSize === undefined || consumer.notBeyond === undefined) return false;
    const { storage } = this.#options;
    const upstreamLag = await storage.pipelineLag(consumer.notBeyond);
    if (upstreamLag === 0) return false;
    const ownLag = await storage.pipelineLag(consumer.cursor);
    return ownLag - upstreamLag < consumer.batchSize;
  }

  async #loop(): Promise<void> {
    while (this.#pending && !this.#stopped) {
      this.#pending = false;
      try {
        for (;;) {
          const startedAt = performance.now();
          const count = this.#stopped ? 0 : await this.runOnce();
          if (count === 0) break;
          await this.#yieldToIngest(performance.now() - startedAt, count >= this.#options.batchSize);
        }
      } catch (error) {
        this.#options.logger.error({ err: error }, 'event pipeline batch failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, this.#retryDelay.next()).unref());
        this.#pending = true;
      }
    }
  }

  /**
   * Between batches, a turn for queued work; and while ingest is saturating the process (events keep
   * arriving and the pipeline is a full batch behind), a pause that keeps the pipeline to its share.
   * Below saturation batches are small and run back to back, so events are processed within
   * milliseconds.
   */
  async #yieldToIngest(batchMs: number, isBehind: boolean): Promise<void> {
    const isIngestActive = performance.now() - this.#lastAppendAt < INGEST_ACTIVE_MS;
    const share = this.#options.shareUnderLoad;
    const pauseMs = isBehind && isIngestActive && share < 1 ? (batchMs * (1 - share)) / share : 0;
    await new Promise((resolve) => (pauseMs > 0 ? setTimeout(resolve, pauseMs) : setImmediate(resolve)));
  }
}

/**
 * Resolves once every one of these consumers has handled every committed event, whichever process runs
 * them (this one's log thread, or workers elsewhere); rejects after `timeoutMs`.
 */
export async function waitUntilCaughtUp(
  storage: Pick<Storage, 'pipelineLag'>,
  cursors: readonly string[],
  options: { timeoutMs: number; pollMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const lags = await Promise.all(cursors.map((cursor) => storage.pipelineLag(cursor)));
    if (lags.every((lag) => lag === 0)) return;
    if (Date.now() > deadline)
      throw new Error(`the event log's consumers are still behind after ${options.timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
}

type BatchOutcome = PipelineOutcome<unknown> | { status: 'set aside' };

interface FailingBatch {
  /** Events of the failed batch (Mops's own it read too) not yet got past, one at a time. */
  eventsLeft: number;
  /** Where the cursor stood before the event that failed last. */
  after: string;
  /** Failed attempts in a row at that event. */
  attempts: number;
}
