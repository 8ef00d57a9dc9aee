import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { PipelineBatch, Storage } from '../storage/storage.js';

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

const RETRY_DELAY_MS = 1000;
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

  constructor(options: PipelineOptions) {
    this.#options = { batchSize: 1000, pollIntervalMs: 1000, shareUnderLoad: 0.1, followers: [], ...options };
  }

  get processedCount(): number {
    return this.#processed;
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
      if (!(await this.#isBehind())) return total;
      if (Date.now() > deadline) throw new Error(`the pipeline is still behind after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async #isBehind(): Promise<boolean> {
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
    const { storage, clock, batchSize, consumers } = this.#options;
    let progress = 0;
    for (const [index, consumer] of consumers.entries()) {
      if (await this.#waitsForFullBatch(consumer)) continue;
      const skipMopsEvents = consumer.skipsMopsEvents === true;
      const mopsEventsRead = skipMopsEvents ? await consumer.mopsEventsRead?.() : undefined;
      const runBatch = () =>
        storage.runPipelineBatch(
          consumer.cursor,
          consumer.batchSize ?? batchSize,
          consumer.batch,
          clock.now(),
          {
            ...(consumer.notBeyond ? { notBeyond: consumer.notBeyond } : {}),
            ...(skipMopsEvents ? { skipMopsEvents } : {}),
            ...(mopsEventsRead?.length ? { mopsEventsRead } : {}),
          },
        );
      const outcome = await (consumer.exclusive ? consumer.exclusive(runBatch) : runBatch());
      if (outcome.status === 'stale') {
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
      if (outcome.status !== 'done') continue;
      consumer.afterCommit?.(outcome.result);
      if (index === 0) this.#processed += outcome.events.length;
      progress = Math.max(progress, outcome.events.length, 1);
    }
    return progress;
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
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS).unref());
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
