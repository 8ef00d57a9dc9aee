import { Worker } from 'node:worker_threads';
import type { Config } from '../core/config.js';
import { AppError, type ErrorCode, HTTP_STATUS_BY_CODE } from '../core/errors.js';
import type { Ingestor, IngestResult, RawIngestRequest } from './ingest.js';
import type { IngestThreadReply, IngestThreadRequest } from './ingest-thread.js';

/**
 * Runs ingest on a second core. The main thread keeps HTTP, authentication (so a revoked key stops
 * working at once) and the event pipeline; the thread parses, validates and appends, with its own
 * connection. Bodies move by transfer, not copy. If the thread dies, waiting requests fail (their
 * clients retry; nothing was acknowledged) and the next request starts a new thread.
 */
export class IngestThread implements Ingestor {
  readonly #config: Config;
  #worker: Worker | undefined;
  #ready: Promise<void> | undefined;
  readonly #waiting = new Map<
    number,
    { resolve: (result: IngestResult) => void; reject: (error: unknown) => void }
  >();
  #nextId = 1;
  #closing = false;

  constructor(config: Config) {
    this.#config = config;
  }

  /** Starts the thread now rather than on the first request; resolves once it has opened storage. */
  start(): Promise<void> {
    this.#ready ??= this.#spawn();
    return this.#ready;
  }

  async ingest(request: RawIngestRequest): Promise<IngestResult> {
    await this.start();
    const worker = this.#worker as Worker;
    const id = this.#nextId++;
    const transferable = ownsWholeBuffer(request.body) ? [request.body.buffer as ArrayBuffer] : [];
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      worker.postMessage({ type: 'ingest', id, request } satisfies IngestThreadRequest, transferable);
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage({ type: 'close' } satisfies IngestThreadRequest);
    await exited;
  }

  #spawn(): Promise<void> {
    // From source (tests, tsx) the thread registers the TypeScript loader first; the build runs plain JS.
    const isSource = import.meta.url.endsWith('.ts');
    const entry = new URL(isSource ? './ingest-thread.ts' : './ingest-thread.js', import.meta.url);
    const worker = isSource
      ? new Worker(
          `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`,
          { eval: true, workerData: this.#config },
        )
      : new Worker(entry, { workerData: this.#config });
    this.#worker = worker;
    return new Promise((resolve, reject) => {
      worker.on('message', (reply: IngestThreadReply) => {
        if (reply.type === 'ready') resolve();
        else this.#settle(reply);
      });
      worker.on('error', (error) => {
        reject(error);
        this.#fail(error);
      });
      worker.on('exit', (code) => {
        const error = new AppError('unavailable', `the ingest thread stopped (exit code ${code}); retry`);
        reject(error);
        this.#fail(error);
      });
    });
  }

  #settle(reply: Exclude<IngestThreadReply, { type: 'ready' }>): void {
    const waiter = this.#waiting.get(reply.id);
    if (!waiter) return;
    this.#waiting.delete(reply.id);
    if (reply.type === 'result') {
      waiter.resolve(reply.result);
      return;
    }
    const { code, message, field } = reply.error;
    waiter.reject(
      code in HTTP_STATUS_BY_CODE
        ? new AppError(code as ErrorCode, message, field === undefined ? {} : { field })
        : new Error(`ingest thread: ${message}`),
    );
  }

  #fail(error: unknown): void {
    for (const waiter of this.#waiting.values()) waiter.reject(error);
    this.#waiting.clear();
    this.#worker = undefined;
    this.#ready = this.#closing ? this.#ready : undefined;
  }
}

/** Transferring a pooled Buffer's memory would detach the pool under other Buffers. */
function ownsWholeBuffer(bytes: Uint8Array): boolean {
  return (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  );
}
