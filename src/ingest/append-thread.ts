import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../core/config.js';
import { openStorage } from '../storage/open-storage.js';
import type { AppendResult } from '../storage/storage.js';
import type { AppendInput } from './append-thread-client.js';

/**
 * The append thread: writes validated events with its own database connection, on its own core,
 * while the main thread serves HTTP, validates the next requests and runs the pipeline.
 */
export type AppendThreadRequest = { type: 'append'; id: number; input: AppendInput } | { type: 'close' };
export type AppendThreadReply =
  | { type: 'ready' }
  | { type: 'result'; id: number; result: AppendResult }
  | { type: 'error'; id: number; message: string };

const port = parentPort;
if (!port) throw new Error('append-thread runs as a worker thread');
const storage = await openStorage(workerData as Config);
port.postMessage({ type: 'ready' } satisfies AppendThreadReply);

port.on('message', (message: AppendThreadRequest) => {
  if (message.type === 'close') {
    void storage.close().finally(() => port.close());
    return;
  }
  storage.events.append(message.input).then(
    (result) => port.postMessage({ type: 'result', id: message.id, result } satisfies AppendThreadReply),
    (error: unknown) =>
      port.postMessage({
        type: 'error',
        id: message.id,
        message: error instanceof Error ? error.message : String(error),
      } satisfies AppendThreadReply),
  );
});
