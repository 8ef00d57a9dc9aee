import type { Worker } from 'node:worker_threads';
import { startWorkerThread } from '../../core/worker-thread.js';
import type { Delivery, EmailJob } from './email-channel.js';
import type { SendThreadData, SendThreadReply, SendThreadRequest } from './send-thread.js';

/** How long a closing send thread may take to end its SMTP connections. */
const CLOSE_GRACE_MS = 2000;

/** Several send threads; each job goes to the one with the fewest jobs in flight. */
export class SendThreads {
  readonly #threads: SendThread[];

  constructor(options: {
    secret: string;
    publicUrl: string;
    threads: number;
    allowPrivateNetworks: boolean;
  }) {
    const connectionShare = 1 / options.threads;
    this.#threads = Array.from(
      { length: options.threads },
      () =>
        new SendThread({
          secret: options.secret,
          publicUrl: options.publicUrl,
          connectionShare,
          allowPrivateNetworks: options.allowPrivateNetworks,
        }),
    );
  }

  deliver(job: EmailJob): Promise<Delivery> {
    const idlest = this.#threads.reduce((best, thread) => (thread.inFlight < best.inFlight ? thread : best));
    return idlest.deliver(job);
  }

  /** Starts the threads now, so that they are ready (MJML loaded) when the first e-mail comes. */
  start(): void {
    for (const thread of this.#threads) thread.start();
  }

  async close(): Promise<void> {
    await Promise.all(this.#threads.map((thread) => thread.close()));
  }
}

/** The dispatcher's side of one send thread: hands it jobs, matches deliveries to callers. */
export class SendThread {
  readonly #data: SendThreadData;
  #worker: Worker | undefined;
  readonly #waiting = new Map<number, (delivery: Delivery) => void>();
  #nextId = 1;

  constructor(data: SendThreadData) {
    this.#data = data;
  }

  get inFlight(): number {
    return this.#waiting.size;
  }

  start(): void {
    this.#worker ??= this.#spawn();
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
    // Held while it closes (it is unref'd so that it never keeps a process alive by itself: then
    // nothing would keep this one waiting for it), and ended if it lingers past its close.
    worker.ref();
    worker.postMessage({ type: 'close' } satisfies SendThreadRequest);
    const lingering = setTimeout(() => void worker.terminate(), CLOSE_GRACE_MS);
    await exited;
    clearTimeout(lingering);
  }

  #spawn(): Worker {
    const worker = startWorkerThread(import.meta.url, 'send-thread', this.#data);
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
