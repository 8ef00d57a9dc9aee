import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';

/** Work kept as durable timers: journey waits, segment windows, hand-off SLAs. */
export interface TimedWork {
  /** For logs: `journey timers`, `segment timers`, … */
  name: string;
  /** Handles some of what is due now; the number handled (0 when nothing is due). */
  runDue(): Promise<number>;
  /** When the earliest remaining timer falls due. */
  nextDue(): Promise<number | undefined>;
  /**
   * Up to when timers may fire, when that waits for a consumer of the event log to read what was
   * received before them: one due later than that is looked at again shortly, not fired.
   */
  judgedThrough?(now: number): Promise<number>;
}

const RETRY_DELAY_MS = 1000;
/** How soon a due timer is looked at again while what was received before it is still unread. */
const RECHECK_MS = 1000;

/**
 * Fires durable timers when they fall due. It sleeps until the earliest due timer (or the poll
 * interval, to notice timers other processes set), and is woken early when this process sets an
 * earlier one. Timers are durable rows: after a restart, overdue ones fire at once.
 */
export class TimerScheduler {
  readonly #work: TimedWork;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #pollIntervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;
  #running: Promise<void> | undefined;
  #pending = false;
  #stopped = true;

  constructor(options: {
    work: TimedWork;
    clock: Clock;
    logger: Logger;
    pollIntervalMs?: number;
  }) {
    this.#work = options.work;
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
        while (!this.#stopped && (await this.#work.runDue()) > 0) {
          // overdue timers: keep going
        }
        this.#sleepUntil((await this.#nextWake()) ?? Number.POSITIVE_INFINITY);
      } catch (error) {
        this.#logger.error({ err: error }, `${this.#work.name} failed; retrying`);
        this.#sleepUntil(this.#clock.now() + RETRY_DELAY_MS);
      }
    }
  }

  /** The earliest timer's due time, or shortly, while it is due but not yet judged through. */
  async #nextWake(): Promise<number | undefined> {
    const due = await this.#work.nextDue();
    const now = this.#clock.now();
    if (due === undefined || due > now || !this.#work.judgedThrough) return due;
    return due <= (await this.#work.judgedThrough(now)) ? due : now + RECHECK_MS;
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
