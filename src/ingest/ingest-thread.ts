import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../core/config.js';
import { isAppError } from '../core/errors.js';
import { openStorage } from '../storage/open-storage.js';
import { ingestRaw, type RawIngestRequest } from './ingest.js';

/**
 * The ingest thread: decodes, validates and appends authenticated requests on its own core, with its
 * own database connection, while the main thread serves HTTP and runs the pipeline. See IngestThread.
 */
export type IngestThreadRequest =
  | { type: 'ingest'; id: number; request: RawIngestRequest }
  | { type: 'close' };
export type IngestThreadReply =
  | { type: 'ready' }
  | { type: 'result'; id: number; result: import('./ingest.js').IngestResult }
  | { type: 'error'; id: number; error: { code: string; message: string; field: string | undefined } };

const port = parentPort;
if (!port) throw new Error('ingest-thread runs as a worker thread');
const storage = await openStorage(workerData as Config);
port.postMessage({ type: 'ready' } satisfies IngestThreadReply);

port.on('message', (message: IngestThreadRequest) => {
  if (message.type === 'close') {
    storage.close().finally(() => port.close());
    return;
  }
  ingestRaw(storage, message.request).then(
    (result) => port.postMessage({ type: 'result', id: message.id, result } satisfies IngestThreadReply),
    (error: unknown) =>
      port.postMessage({
        type: 'error',
        id: message.id,
        error: isAppError(error)
          ? { code: error.code, message: error.message, field: error.field }
          : {
              code: 'internal',
              message: error instanceof Error ? error.message : String(error),
              field: undefined,
            },
      } satisfies IngestThreadReply),
  );
});
