import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../core/config.js';
import { AppError } from '../core/errors.js';
import type { NewEvent, RejectedEvent } from '../core/event.js';
import { startWorkerThread } from '../core/worker-thread.js';
import type { EventAppender } from '../ingest/ingest.js';
import type { AppendResult } from '../storage/storage.js';
import { packEvents } from './event-codec.js';
import type { LogThreadData, LogThreadReply, LogThreadRequest } from './log-thread.js';

export type AppendInput = { events: NewEvent[]; rejected: RejectedEvent[] };

const RESTART_DELAY_MS = 1000;
const HEALTH_RESTART_BACKOFF_MS = 10_000;

export const startLogThread = (data: LogThreadData): Worker =>
  startWorkerThread(import.meta.url, 'log-thread', data);

/**
 * The main thread's side of the log thread (see log-thread.ts). Ingest's two halves cost about the
 * same: parsing and validating (on the main thread, with HTTP and authentication) and writing (in the
 * log thread, with the pipeline). If the thread dies, waiting appends fail (nothing was acknowledged,
 * so clients retry) and a new thread starts: at the next append, and, where the thread also runs the
 * pipeline and timers, a second later whatever comes (a quiet install's journeys must go on).
 */
export class LogThread implements EventAppender {
  readonly #data: LogThreadData;
  #worker: Worker | undefined;
  #ready: Promise<void> | undefined;
  readonly #waiting = new Map<
    number,
    { resolve: (result: AppendResult) => void; reject: (error: unknown) => void }
  >();
  #nextId = 1;

  readonly #onMessagesQueued: () => void;
  readonly #logger: Pick<Logger, 'error'>;
  readonly #startThread: (data: LogThreadData) => Worker;
  #isClosing = false;
  readonly #restartBackoffMs: number;
  /** When the thread last stopped or failed to start, and why; cleared once one is ready. */
  #lastFailure: { at: number; error: Error } | undefined;

  constructor(
    config: Config,
    options: {
      runBackground: boolean;
      logger: Pick<Logger, 'error'>;
      onMessagesQueued?: () => void;
      /** How the thread is started (tests wrap it, to stop a thread as a crash would). */
      startThread?: (data: LogThreadData) => Worker;
      /** How long after a failure `takesAppends` answers without starting a thread. */
      restartBackoffMs?: number;
    },
  ) {
    this.#restartBackoffMs = options.restartBackoffMs ?? HEALTH_RESTART_BACKOFF_MS;
    this.#data = { config, runBackground: options.runBackground };
    this.#logger = options.logger;
    this.#onMessagesQueued = options.onMessagesQueued ?? (() => undefined);
    this.#startThread = options.startThread ?? startLogThread;
  }

  /** Starts the thread now rather than on the first append; resolves once it has opened storage. */
  start(): Promise<void> {
    if (this.#isClosing) return Promise.reject(new AppError('unavailable', 'the server is stopping; retry'));
    this.#ready ??= this.#spawn();
    return this.#ready;
  }

  /**
   * Resolves once the thread takes appends: at once while it runs, else when one started now for the
   * purpose is ready. Rejects when it cannot start, or is not ready within `withinMs` (a health check
   * must answer, not hang with the thread). Within `restartBackoffMs` of the thread failing it rejects
   * at once: health checks, which anyone may send, must not keep a core busy starting threads.
   */
  async takesAppends(withinMs: number): Promise<void> {
    const failure = this.#lastFailure;
    if (!this.#worker && failure && performance.now() - failure.at < this.#restartBackoffMs)
      throw failure.error;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new AppError('unavailable', `the log thread was not ready within ${withinMs} ms`)),
        withinMs,
      );
    });
    try {
      await Promise.race([this.start(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async append(input: AppendInput): Promise<AppendResult> {
    await this.start();
    const worker = this.#worker as Worker;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      const message: LogThreadRequest = {
        type: 'append',
        id,
        events: packEvents(input.events),
        rejected: input.rejected,
      };
      worker.postMessage(message);
    });
  }

  /** Tells the thread a segment was saved, so that its backfill starts now rather than at the next poll. */
  segmentSaved(): void {
    this.#worker?.postMessage({ type: 'segment-saved' } satisfies LogThreadRequest);
  }

  /** Tells the thread a score replay was requested, so that it starts now rather than at the next poll. */
  scoreReplayRequested(): void {
    this.#worker?.postMessage({ type: 'score-replay-requested' } satisfies LogThreadRequest);
  }

  /** Tells the thread a journey was published, so that segments' current members start entering now. */
  journeyPublished(): void {
    this.#worker?.postMessage({ type: 'journey-published' } satisfies LogThreadRequest);
  }

  /** Tells the thread imported contacts are to join a list, so that it looks for them now. */
  listAdditionRequested(): void {
    this.#worker?.postMessage({ type: 'list-addition-requested' } satisfies LogThreadRequest);
  }

  async close(): Promise<void> {
    this.#isClosing = true;
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage({ type: 'close' } satisfies LogThreadRequest);
    await exited;
  }

  #spawn(): Promise<void> {
    const worker = this.#startThread(this.#data);
    this.#worker = worker;
    return new Promise((resolve, reject) => {
      worker.on('message', (reply: LogThreadReply) => {
        if (reply.type === 'ready') {
          this.#lastFailure = undefined;
          resolve();
        } else if (reply.type === 'messages-queued') this.#onMessagesQueued();
        else this.#settle(reply);
      });
      const fail = (error: Error) => {
        reject(error);
        for (const waiter of this.#waiting.values()) waiter.reject(error);
        this.#waiting.clear();
        if (this.#worker !== worker) return;
        this.#worker = undefined;
        this.#ready = undefined;
        this.#lastFailure = { at: performance.now(), error };
        if (this.#isClosing) return;
        this.#logger.error({ err: error }, 'the log thread stopped; starting a new one');
        if (this.#data.runBackground)
          setTimeout(() => {
            if (!this.#isClosing && !this.#worker)
              this.start().catch((failure: unknown) =>
                this.#logger.error({ err: failure }, 'the log thread did not start again'),
              );
          }, RESTART_DELAY_MS).unref();
      };
      worker.on('error', (error) =>
        fail(new AppError('unavailable', `the log thread failed: ${error.message}; retry`)),
      );
      worker.on('exit', (code) =>
        fail(new AppError('unavailable', `the log thread stopped (exit code ${code}); retry`)),
      );
    });
  }

  #settle(reply: Exclude<LogThreadReply, { type: 'ready' | 'messages-queued' }>): void {
    const waiter = this.#waiting.get(reply.id);
    if (!waiter) return;
    this.#waiting.delete(reply.id);
    if (reply.type === 'result') waiter.resolve(reply.result);
    else waiter.reject(new Error(`log thread: ${reply.message}`));
  }
}
