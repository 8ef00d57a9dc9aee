import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { StoredEvent } from '../core/event.js';
import { resolveEventBatch } from '../profiles/profiles.js';
import type { Storage } from '../storage/storage.js';

export const PROFILES_CURSOR = 'profiles';

export interface PipelineOptions {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** Events per transaction; a backlog is worked off in batches of this size. */
  batchSize?: number;
  /** How often to look for work nobody announced (another process's events when NOTIFY was missed). */
  pollIntervalMs?: number;
  onBatch?: (events: StoredEvent[]) => void;
}

const RETRY_DELAY_MS = 1000;

/**
 * Turns the event log into profiles: reads committed events after its durable cursor, resolves
 * identities, and advances the cursor in the same transaction, so a crash at any moment replays
 * from exactly where the last commit stopped. Runs as soon as events are appended, not on a timer.
 */
export class EventPipeline {
  readonly #options: Required<Omit<PipelineOptions, 'onBatch'>> & Pick<PipelineOptions, 'onBatch'>;
  #running: Promise<void> | undefined;
  #pending = false;
  #stopped = true;
  #unsubscribe: (() => void) | undefined;
  #poller: NodeJS.Timeout | undefined;
  #processed = 0;

  constructor(options: PipelineOptions) {
    this.#options = { batchSize: 1000, pollIntervalMs: 1000, ...options };
  }

  get processedCount(): number {
    return this.#processed;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#unsubscribe = this.#options.storage.onEventsAppended(() => this.wake());
    this.#poller = setInterval(() => this.wake(), this.#options.pollIntervalMs);
    this.#poller.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    clearInterval(this.#poller);
    await this.#running;
  }

  /** Asks for a run; runs that are asked for while one is going coalesce into one more. */
  wake(): void {
    if (this.#stopped) return;
    this.#pending = true;
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  /** Processes until nothing is left; tests and the CLI use it to wait for profiles to be current. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const count = await this.runOnce();
      if (count === 0) return total;
      total += count;
    }
  }

  /** One batch in one transaction; 0 when there was nothing to do or another process holds the cursor. */
  async runOnce(): Promise<number> {
    const { storage, clock, batchSize } = this.#options;
    const events = await storage.transaction(async (tx) => {
      const position = await tx.pipeline.claimCursor(PROFILES_CURSOR);
      if (position === undefined) return [];
      const batch = await tx.pipeline.readAfter(position, batchSize);
      if (batch.events.length === 0) return [];
      await resolveEventBatch(tx, batch.events, clock.now());
      await tx.pipeline.saveCursor(PROFILES_CURSOR, batch.position, clock.now());
      return batch.events;
    });
    this.#processed += events.length;
    if (events.length > 0) this.#options.onBatch?.(events);
    return events.length;
  }

  async #loop(): Promise<void> {
    while (this.#pending && !this.#stopped) {
      this.#pending = false;
      try {
        while (!this.#stopped && (await this.runOnce()) > 0) {
          // Give queued requests (ingest shares the SQLite connection) a turn between batches.
          await new Promise((resolve) => setImmediate(resolve));
        }
      } catch (error) {
        this.#options.logger.error({ err: error }, 'event pipeline batch failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS).unref());
        this.#pending = true;
      }
    }
  }
}
