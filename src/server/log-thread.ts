import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { RejectedEvent } from '../core/event.js';
import { openStorage } from '../storage/open-storage.js';
import type { AppendResult } from '../storage/storage.js';
import { createJourneyWork } from './background.js';
import { type PackedEvents, unpackEvents } from './event-codec.js';
import { createLogger } from './logger.js';

/**
 * The log thread: owns the writing end of the event log. It appends validated events (group commit,
 * its own database connection) and, with role all, runs what works off the log (the pipeline and
 * journey timers) on its own core, while the main thread serves HTTP and sends what journeys queue.
 */
export interface LogThreadData {
  config: Config;
  /** Run the pipeline and timers here (role all), or leave them to worker processes (role api). */
  runBackground: boolean;
}

export type LogThreadRequest =
  | { type: 'append'; id: number; events: PackedEvents; rejected: RejectedEvent[] }
  /** A segment was saved through the API: start its backfill now. */
  | { type: 'segment-saved' }
  /** A score replay was requested through the API: start it now. */
  | { type: 'score-replay-requested' }
  /** A journey was published to enter a segment's current members: they start entering now. */
  | { type: 'journey-published' }
  /** Imported contacts are to join a static segment: look for them now. */
  | { type: 'list-addition-requested' }
  | { type: 'close' };
export type LogThreadReply =
  | { type: 'ready' }
  /** Journeys queued messages: the main thread's dispatcher sends them now. */
  | { type: 'messages-queued' }
  | { type: 'result'; id: number; result: AppendResult }
  | { type: 'error'; id: number; message: string };

const port = parentPort;
if (!port) throw new Error('log-thread runs as a worker thread');
const { config, runBackground } = workerData as LogThreadData;
const logger = createLogger(config.logLevel).child({ thread: 'log' });
const storage = await openStorage(config, systemClock);
const background = runBackground
  ? createJourneyWork({
      storage,
      clock: systemClock,
      logger,
      onMessagesQueued: () => port.postMessage({ type: 'messages-queued' } satisfies LogThreadReply),
      segmentsThread: config,
    })
  : undefined;
background?.start();
port.postMessage({ type: 'ready' } satisfies LogThreadReply);

port.on('message', (message: LogThreadRequest) => {
  if (message.type === 'close') {
    void (async () => {
      await background?.stop();
      await storage.close();
      port.close();
    })();
    return;
  }
  if (message.type === 'segment-saved') {
    background?.segmentSaved();
    return;
  }
  if (message.type === 'score-replay-requested') {
    background?.scoreReplayRequested();
    return;
  }
  if (message.type === 'journey-published') {
    background?.journeyPublished();
    return;
  }
  if (message.type === 'list-addition-requested') {
    background?.listAdditionRequested();
    return;
  }
  storage.events.append({ events: unpackEvents(message.events), rejected: message.rejected }).then(
    (result) => port.postMessage({ type: 'result', id: message.id, result } satisfies LogThreadReply),
    (error: unknown) =>
      port.postMessage({
        type: 'error',
        id: message.id,
        message: error instanceof Error ? error.message : String(error),
      } satisfies LogThreadReply),
  );
});
