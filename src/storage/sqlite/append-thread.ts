import { parentPort, workerData } from 'node:worker_threads';
import { GroupCommitter, openSqlite, SqliteAppender } from './sqlite-appender.js';

/**
 * The SQLite writer thread: owns the connection that appends events, so inserts and commits run on
 * their own core while the main thread parses and validates the next requests.
 */
export interface AppendThreadData {
  path: string;
  synchronous: 'normal' | 'full';
  dedupeWindowMs: number;
  now: number;
}

export type AppendRequest =
  | { type: 'append'; id: number; input: import('./sqlite-appender.js').AppendInput; now: number }
  | { type: 'close' };
export type AppendReply =
  | { id: number; result: import('../storage.js').AppendResult }
  | { id: number; error: { message: string; code: string | undefined } };

const port = parentPort;
if (!port) throw new Error('append-thread runs as a worker thread');
const data = workerData as AppendThreadData;
// This thread may block on the write lock: nothing else runs here.
const raw = openSqlite(data.path, { synchronous: data.synchronous, busyTimeoutMs: 10_000 });
const appender = new SqliteAppender(raw, data.dedupeWindowMs, data.now);
const committer = new GroupCommitter((inputs, now) => appender.append(inputs, now));

port.on('message', (request: AppendRequest) => {
  if (request.type === 'close') {
    raw.close();
    port.close();
    return;
  }
  committer.append(request.input, request.now).then(
    (result) => port.postMessage({ id: request.id, result } satisfies AppendReply),
    (error: unknown) =>
      port.postMessage({
        id: request.id,
        error: {
          message: error instanceof Error ? error.message : String(error),
          code: (error as { code?: string }).code,
        },
      } satisfies AppendReply),
  );
});
