import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Storage } from '../storage/storage.js';
import type { JourneyEngine } from './engine.js';

const RETRY_DELAY_MS = 1000;

/**
 * Fires journey timers when they fall due. It sleeps until the earliest due timer (or the poll
 * interval, to notice timers other processes set), and is woken early when this process sets an
 * earlier one. Timers are durable rows: after a restart, overdue ones fire at once.
 */
export class TimerScheduler {
  readonly #engine: JourneyEngine;
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #pollIntervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;
  #running: Promise<void> | undefined;
  #pending = false;
  #stopped = true;

  constructor(options: {
    engine: JourneyEngine;
    storage: Storage;
    clock: Clock;
    logger: Logger;
    pollIntervalMs?: number;
  }) {
    this.#engine = options.engine;
    this.#storage = options.storage;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
  }

  start(): void {
    this.#stopped = false;
    this.wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** A timer was set for `dueAt`: make sure to be awake then. */
  timerSet(dueAt: number): void {
    if (dueAt < this.#wakeAt) this.#sleepUntil(dueAt);
  }

  wake(): void {
    if (this.#stopped) return;
    this.#pending = true;
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  async #loop(): Promise<void> {
    while (this.#pending && !this.#stopped) {
      this.#pending = false;
      try {
        while (!this.#stopped && (await this.#engine.runDueTimers()) > 0) {
          // overdue timers: keep going
        }
        const next = await this.#storage.journeys.nextTimerDue();
        this.#sleepUntil(next ?? Number.POSITIVE_INFINITY);
      } catch (error) {
        this.#logger.error({ err: error }, 'journey timers failed; retrying');
        this.#sleepUntil(this.#clock.now() + RETRY_DELAY_MS);
      }
    }
  }

  #sleepUntil(dueAt: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    const wakeAt = Math.min(dueAt, this.#clock.now() + this.#pollIntervalMs);
    this.#wakeAt = wakeAt;
    this.#timer = setTimeout(
      () => {
        this.#wakeAt = Number.POSITIVE_INFINITY;
        this.wake();
      },
      Math.max(0, wakeAt - this.#clock.now()),
    );
    this.#timer.unref();
  }
}
