import { Worker } from 'node:worker_threads';
import type { Delivery, EmailJob } from './email-channel.js';
import type { SendThreadData, SendThreadReply, SendThreadRequest } from './send-thread.js';

/** The dispatcher's side of the send thread: hands it jobs, matches deliveries to callers. */
export class SendThread {
  readonly #data: SendThreadData;
  #worker: Worker | undefined;
  readonly #waiting = new Map<number, (delivery: Delivery) => void>();
  #nextId = 1;

  constructor(data: SendThreadData) {
    this.#data = data;
  }

  deliver(job: EmailJob): Promise<Delivery> {
    const worker = this.#worker ?? this.#spawn();
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      worker.postMessage({ type: 'deliver', id, job } satisfies SendThreadRequest);
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage({ type: 'close' } satisfies SendThreadRequest);
    await exited;
  }

  #spawn(): Worker {
    // From source (tests, tsx) the thread registers the TypeScript loader first; the build runs plain JS.
    const isSource = import.meta.url.endsWith('.ts');
    const entry = new URL(isSource ? './send-thread.ts' : './send-thread.js', import.meta.url);
    const worker = isSource
      ? new Worker(
          `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`,
          { eval: true, workerData: this.#data },
        )
      : new Worker(entry, { workerData: this.#data });
    worker.unref();
    worker.on('message', (reply: SendThreadReply) => {
      const resolve = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      resolve?.(reply.delivery);
    });
    const fail = (reason: string) => {
      // Nothing was acknowledged for these: the dispatcher retries them.
      for (const resolve of this.#waiting.values()) resolve({ status: 'retry', reason });
      this.#waiting.clear();
      this.#worker = undefined;
    };
    worker.on('error', (error) => fail(`the send thread failed: ${error.message}`));
    worker.on('exit', (code) => fail(`the send thread stopped (exit code ${code})`));
    this.#worker = worker;
    return worker;
  }
}
