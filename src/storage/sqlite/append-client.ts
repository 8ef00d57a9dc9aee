import { Worker } from 'node:worker_threads';
import type { AppendResult } from '../storage.js';
import type { AppendReply, AppendRequest, AppendThreadData } from './append-thread.js';
import type { AppendInput } from './sqlite-appender.js';

/** The main thread's side of the writer thread: sends appends, matches replies to callers. */
export class AppendThreadClient {
  readonly #worker: Worker;
  readonly #waiting = new Map<
    number,
    { resolve: (result: AppendResult) => void; reject: (error: unknown) => void }
  >();
  #nextId = 1;
  #failure: Error | undefined;

  constructor(data: AppendThreadData) {
    // From source (tests, tsx) the thread needs the TypeScript loader; the build runs plain JS.
    const isSource = import.meta.url.endsWith('.ts');
    const threadUrl = new URL(isSource ? './append-thread.ts' : './append-thread.js', import.meta.url);
    this.#worker = isSource
      ? new Worker(
          `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(threadUrl.href)}); })`,
          { eval: true, workerData: data },
        )
      : new Worker(threadUrl, { workerData: data });
    this.#worker.unref();
    this.#worker.on('message', (reply: AppendReply) => this.#settle(reply));
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) =>
      this.#fail(new Error(`the SQLite writer thread exited (code ${code})`)),
    );
  }

  get isBroken(): boolean {
    return this.#failure !== undefined;
  }

  append(input: AppendInput, now: number): Promise<AppendResult> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    // Keep the process alive while an append is in flight (a CLI import awaits nothing else).
    if (this.#waiting.size === 0) this.#worker.ref();
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage({ type: 'append', id, input, now } satisfies AppendRequest);
    });
  }

  async close(): Promise<void> {
    if (this.#failure) return;
    const exited = new Promise((resolve) => this.#worker.once('exit', resolve));
    this.#worker.ref();
    this.#worker.postMessage({ type: 'close' } satisfies AppendRequest);
    await exited;
  }

  #settle(reply: AppendReply): void {
    const waiter = this.#waiting.get(reply.id);
    if (!waiter) return;
    this.#waiting.delete(reply.id);
    if (this.#waiting.size === 0) this.#worker.unref();
    if ('result' in reply) waiter.resolve(reply.result);
    else waiter.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiter of this.#waiting.values()) waiter.reject(error);
    this.#waiting.clear();
  }
}
