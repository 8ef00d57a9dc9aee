import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { EventPipeline } from '../pipeline/pipeline.js';
import { createLogger } from '../server/logger.js';
import { openStorage } from '../storage/open-storage.js';
import { createSegmentUpkeep } from './segment-upkeep.js';

/**
 * The segments thread: keeps live segments current on a core of its own (its consumer of the event
 * log, membership timers, backfills, and the digests the consumer keeps in memory), while the thread
 * that started it resolves profiles, scores and runs journeys. They meet in the database: it follows
 * the scoring cursor, and what it writes (Segment Entered/Exited) is in the log for journeys.
 */
export interface SegmentsThreadData {
  config: Config;
}

export type SegmentsThreadRequest =
  /** Scores are current further on: there may be a batch to decide. */
  | { type: 'wake' }
  /** A segment was saved through the API: start its backfill now. */
  | { type: 'segment-saved' }
  | { type: 'close' };
export type SegmentsThreadReply =
  | { type: 'ready' }
  /** Segments are decided further along the log (Segment Entered/Exited perhaps written): journeys may go on. */
  | { type: 'decided' };

const port = parentPort;
if (!port) throw new Error('segments-thread runs as a worker thread');
const { config } = workerData as SegmentsThreadData;
const logger = createLogger(config.logLevel).child({ thread: 'segments' });
const storage = await openStorage(config, systemClock);
const upkeep = createSegmentUpkeep({
  storage,
  clock: systemClock,
  logger,
  onDecided: () => port.postMessage({ type: 'decided' } satisfies SegmentsThreadReply),
});
const pipeline = new EventPipeline({ storage, clock: systemClock, logger, consumers: [upkeep.consumer] });
pipeline.start();
upkeep.start();
port.postMessage({ type: 'ready' } satisfies SegmentsThreadReply);

port.on('message', (message: SegmentsThreadRequest) => {
  if (message.type === 'wake') pipeline.wake();
  else if (message.type === 'segment-saved') upkeep.backfills.wake();
  else
    void (async () => {
      await pipeline.stop();
      await upkeep.stop();
      await storage.close();
      port.close();
    })();
});
