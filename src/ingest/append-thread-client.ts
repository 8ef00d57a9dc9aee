import { Worker } from 'node:worker_threads';
import type { Config } from '../core/config.js';
import { AppError } from '../core/errors.js';
import type { NewEvent, RejectedEvent } from '../core/event.js';
import type { AppendResult } from '../storage/storage.js';
import type { AppendThreadReply, AppendThreadRequest } from './append-thread.js';
import type { EventAppender } from './ingest.js';

export type AppendInput = { events: NewEvent[]; rejected: RejectedEvent[] };

/**
 * Appends on a second core. Ingest's two halves cost about the same: parsing and validating (here,
 * on the main thread, which also keeps HTTP, authentication and the pipeline) and writing (in the
 * thread, with its own database connection and group commit). If the thread dies, waiting appends
 * fail (nothing was acknowledged, so clients retry) and the next append starts a new thread.
 */
export class AppendThread implements EventAppender {
  readonly #config: Config;
  #worker: Worker | undefined;
  #ready: Promise<void> | undefined;
  readonly #waiting = new Map<
    number,
    { resolve: (result: AppendResult) => void; reject: (error: unknown) => void }
  >();
  #nextId = 1;

  constructor(config: Config) {
    this.#config = config;
  }

  /** Starts the thread now rather than on the first append; resolves once it has opened storage. */
  start(): Promise<void> {
    this.#ready ??= this.#spawn();
    return this.#ready;
  }

  async append(input: AppendInput): Promise<AppendResult> {
    await this.start();
    const worker = this.#worker as Worker;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      worker.postMessage({ type: 'append', id, input } satisfies AppendThreadRequest);
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage({ type: 'close' } satisfies AppendThreadRequest);
    await exited;
  }

  #spawn(): Promise<void> {
    // From source (tests, tsx) the thread registers the TypeScript loader first; the build runs plain JS.
    const isSource = import.meta.url.endsWith('.ts');
    const entry = new URL(isSource ? './append-thread.ts' : './append-thread.js', import.meta.url);
    const worker = isSource
      ? new Worker(
          `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`,
          { eval: true, workerData: this.#config },
        )
      : new Worker(entry, { workerData: this.#config });
    this.#worker = worker;
    return new Promise((resolve, reject) => {
      worker.on('message', (reply: AppendThreadReply) => {
        if (reply.type === 'ready') resolve();
        else this.#settle(reply);
      });
      const fail = (error: Error) => {
        reject(error);
        for (const waiter of this.#waiting.values()) waiter.reject(error);
        this.#waiting.clear();
        if (this.#worker === worker) {
          this.#worker = undefined;
          this.#ready = undefined;
        }
      };
      worker.on('error', (error) =>
        fail(new AppError('unavailable', `the append thread failed: ${error.message}; retry`)),
      );
      worker.on('exit', (code) =>
        fail(new AppError('unavailable', `the append thread stopped (exit code ${code}); retry`)),
      );
    });
  }

  #settle(reply: Exclude<AppendThreadReply, { type: 'ready' }>): void {
    const waiter = this.#waiting.get(reply.id);
    if (!waiter) return;
    this.#waiting.delete(reply.id);
    if (reply.type === 'result') waiter.resolve(reply.result);
    else waiter.reject(new Error(`append thread: ${reply.message}`));
  }
}
