import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../core/config.js';
import { startWorkerThread } from '../core/worker-thread.js';
import type { SegmentsThreadData, SegmentsThreadReply, SegmentsThreadRequest } from './segments-thread.js';

const RESTART_DELAY_MS = 1000;

/** Starts the segments thread's module on a worker thread (the default of `SegmentsThread`). */
export const startSegmentsThread = (data: SegmentsThreadData): Worker =>
  startWorkerThread(import.meta.url, 'segments-thread', data);

/**
 * The starting thread's side of the segments thread (see segments-thread.ts). Its work is durable
 * (a cursor, timers and backfill positions in the database), so if the thread dies a new one is
 * started and resumes where the last commit left off.
 */
export class SegmentsThread {
  readonly #data: SegmentsThreadData;
  readonly #logger: Logger;
  readonly #onDecided: () => void;
  readonly #startThread: (data: SegmentsThreadData) => Worker;
  #worker: Worker | undefined;
  #ready: Promise<void> | undefined;
  /** Set by close, cleared by start: a closed thread is not started again by a wake. */
  #closing = false;

  constructor(
    config: Config,
    options: {
      logger: Logger;
      onDecided: () => void;
      /** How the thread is started (tests wrap it, to stop a thread as a crash would). */
      startThread?: (data: SegmentsThreadData) => Worker;
    },
  ) {
    this.#data = { config };
    this.#logger = options.logger;
    this.#onDecided = options.onDecided;
    this.#startThread = options.startThread ?? startSegmentsThread;
  }

  /** Resolves once the thread has opened storage and started its work. */
  start(): Promise<void> {
    this.#closing = false;
    this.#ready ??= this.#spawn();
    return this.#ready;
  }

  /** Scores moved on: the thread looks for a batch now rather than at its next poll. */
  wake(): void {
    this.#post({ type: 'wake' });
  }

  segmentSaved(): void {
    this.#post({ type: 'segment-saved' });
  }

  async close(): Promise<void> {
    this.#closing = true;
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage({ type: 'close' } satisfies SegmentsThreadRequest);
    await exited;
  }

  /** Posts to the thread, starting it first if it is not running (unless closed). */
  #post(message: SegmentsThreadRequest): void {
    if (this.#closing) return;
    if (!this.#worker)
      this.start().catch((error: unknown) =>
        this.#logger.error({ err: error }, 'the segments thread did not start'),
      );
    this.#worker?.postMessage(message);
  }

  #spawn(): Promise<void> {
    const worker = this.#startThread(this.#data);
    this.#worker = worker;
    return new Promise((resolve, reject) => {
      worker.on('message', (reply: SegmentsThreadReply) => {
        if (reply.type === 'ready') resolve();
        else this.#onDecided();
      });
      worker.on('error', (error) => this.#logger.error({ err: error }, 'the segments thread failed'));
      worker.on('exit', (code) => {
        reject(new Error(`the segments thread stopped before it was ready (exit code ${code})`));
        if (this.#worker !== worker) return;
        this.#worker = undefined;
        this.#ready = undefined;
        if (this.#closing) return;
        this.#logger.error({ code }, 'the segments thread stopped; starting a new one');
        setTimeout(() => {
          if (!this.#closing) void this.start().catch(() => undefined);
        }, RESTART_DELAY_MS).unref();
      });
    });
  }
}
