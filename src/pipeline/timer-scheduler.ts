import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { DueTimer } from '../core/timers.js';
import { FAILURES_BEFORE_GIVING_UP, isPassingFailure } from '../storage/passing-failures.js';
import type { Storage } from '../storage/storage.js';
import { RetryDelay } from './retry-delay.js';

/** Work kept as durable timers: journey waits, segment windows, hand-off SLAs, stage timers. */
export interface TimedWork {
  /** For logs: `journey timers`, `segment timers`, … */
  name: string;
  /**
   * Handles some of what is due now, at most `limit` timers when given; the number handled (0 when
   * nothing is due). A round that took one timer and failed throws a `TimerFailure` naming it.
   */
  runDue(limit?: number): Promise<number>;
  /** When the earliest remaining timer falls due. */
  nextDue(): Promise<number | undefined>;
  /**
   * Up to when timers may fire, when that waits for a consumer of the event log to read what was
   * received before them: one due later than that is looked at again shortly, not fired.
   */
  judgedThrough?(now: number): Promise<number>;
}

/** Running one due timer failed: which it was, so that one failing every time can be set aside. */
export class TimerFailure extends Error {
  readonly timer: DueTimer;

  constructor(timer: DueTimer, cause: unknown) {
    super(`the ${timer.kind} timer of ${timer.subject} failed: ${describeError(cause)}`, { cause });
    this.name = 'TimerFailure';
    this.timer = timer;
  }
}

/** What a round's failure says: the one timer it took, when it took one, or the error as it is. */
export function singledOut(taken: readonly DueTimer[], error: unknown): unknown {
  const [timer] = taken;
  return taken.length === 1 && timer !== undefined ? new TimerFailure(timer, error) : error;
}

/** How soon a due timer is looked at again while what was received before it is still unread. */
const RECHECK_MS = 1000;
/**
 * After a round of several timers failed, this many rounds take one timer each (the largest round
 * takes 500), so the one it failed on is singled out while the others fire.
 */
const ONE_AT_A_TIME_ROUNDS = 500;

/**
 * Fires durable timers when they fall due. It sleeps until the earliest due timer (or the poll
 * interval, to notice timers other processes set), and is woken early when this process sets an
 * earlier one. Timers are durable rows: after a restart, overdue ones fire at once.
 *
 * One timer that fails every time must not hold up the others for good (every round taking it again,
 * first, and failing): a failed round goes again one timer at a time, and a timer failing
 * several times running while the database answers is set aside with its error (`set_aside_timers`).
 */
export class TimerScheduler {
  readonly #work: TimedWork;
  readonly #storage: Pick<Storage, 'transaction'>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #pollIntervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;
  #running: Promise<void> | undefined;
  #pending = false;
  #stopped = true;
  /** Rounds left that take one timer each, after a round of several failed. */
  #oneAtATimeRounds = 0;
  /** The timer that failed alone last, and how many times running. */
  #failing: { key: string; attempts: number } | undefined;
  readonly #retryDelay = new RetryDelay();

  constructor(options: {
    work: TimedWork;
    storage: Pick<Storage, 'transaction'>;
    clock: Clock;
    logger: Logger;
    pollIntervalMs?: number;
  }) {
    this.#work = options.work;
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
        // Overdue timers: keep going. Each round that went through ends a run of failures; the last
        // only with the look-up of the next wake, which may fail on its own every time.
        let lookedAt: number;
        for (;;) {
          lookedAt = this.#clock.now();
          if (this.#stopped || (await this.runOnce()) === 0) break;
          this.#retryDelay.reset();
        }
        const wakeAt = await this.#nextWake(lookedAt);
        this.#retryDelay.reset();
        this.#sleepUntil(wakeAt ?? Number.POSITIVE_INFINITY);
      } catch (error) {
        this.#logger.error({ err: error }, `${this.#work.name} failed; retrying`);
        this.#sleepUntil(this.#clock.now() + this.#retryDelay.next());
      }
    }
  }

  /**
   * One round of what is due now (the loop runs them back to back; tests call it by hand): how many
   * timers it handled or set aside. It throws when the round failed and is to be tried again later.
   */
  async runOnce(): Promise<number> {
    const isOneAtATime = this.#oneAtATimeRounds > 0;
    let handled: number;
    try {
      handled = await this.#work.runDue(isOneAtATime ? 1 : undefined);
    } catch (error) {
      if (error instanceof TimerFailure) return this.#failedAlone(error);
      // Several timers, or none yet (the database away): they go one at a time, to single one out.
      this.#oneAtATimeRounds = ONE_AT_A_TIME_ROUNDS;
      throw error;
    }
    this.#failing = undefined;
    if (isOneAtATime) this.#oneAtATimeRounds = handled === 0 ? 0 : this.#oneAtATimeRounds - 1;
    return handled;
  }

  /** A timer failed alone: tried again later, or set aside once it has failed every time. */
  async #failedAlone(failure: TimerFailure): Promise<number> {
    const { timer } = failure;
    const key = JSON.stringify([timer.kind, timer.subject, timer.token, timer.dueAt]);
    const attempts = this.#failing?.key === key ? this.#failing.attempts + 1 : 1;
    this.#failing = { key, attempts };
    if (attempts < FAILURES_BEFORE_GIVING_UP || isPassingFailure(failure.cause)) throw failure;
    // The write is to the database that let the attempts through: one gone away throws here, and
    // nothing is set aside.
    const reason = describeError(failure.cause);
    const isSetAside = await this.#storage.transaction((tx) =>
      tx.setAsideTimers.add(timer, reason, this.#clock.now()),
    );
    this.#failing = undefined;
    if (isSetAside)
      this.#logger.error(
        { err: failure.cause, timer },
        `${this.#work.name}: set a timer aside: it failed at every attempt; the others go on`,
      );
    // Handled meanwhile (another process) or moved: either way, what is due now is looked at again.
    return 1;
  }

  /**
   * The earliest timer's due time; shortly, while it is due but not yet judged through; after a poll,
   * when it was due already as the last round (which handled nothing) looked.
   */
  async #nextWake(lookedAt: number): Promise<number | undefined> {
    const due = await this.#work.nextDue();
    const now = this.#clock.now();
    if (due === undefined || due > now) return due;
    if (this.#work.judgedThrough && due > (await this.#work.judgedThrough(now))) return now + RECHECK_MS;
    // Due, yet not taken: another process's round holds it locked (PostgreSQL workers). Looked at
    // again after a poll, not at once and over and over, as the message dispatcher does; one falling
    // due since goes at once.
    return due <= lookedAt ? now + this.#pollIntervalMs : due;
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
