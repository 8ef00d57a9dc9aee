import type { SetAsideResolution } from './set-aside.js';

/**
 * The durable timers Mops keeps: journey waits, segment windows, hand-off SLAs, and scores crossing
 * a stage's threshold by time alone.
 */
export const TIMER_KINDS = ['journey', 'segment', 'hand-off', 'stage'] as const;
export type TimerKind = (typeof TIMER_KINDS)[number];

/**
 * A timer that fell due, as much as it takes to set it aside when running it fails every time.
 *
 * @example
 * { kind: 'journey', workspaceId: 'ws_…', subject: 'ins_…', token: 'timer:wait', dueAt: 1764583200000 }
 */
export interface DueTimer {
  kind: TimerKind;
  workspaceId: string;
  /** What it is about: the journey instance, the profile (segment windows, stages) or the hand-off. */
  subject: string;
  /** Which of the instance's timers (journey timers only); null for the others. */
  token: string | null;
  dueAt: number;
}

/**
 * A due timer that failed at every attempt while the database answered, kept with the
 * error: the timers after it fire as usual, and it no longer falls due (a journey instance waits
 * until it is moved otherwise; a profile's segment windows are decided again at its next event; a
 * hand-off stays pending, for sales to accept, without its SLA being judged; a profile's stage moves on
 * scores at its next event) until an operator
 * retries it (see `retrySetAsideTimer`) or dismisses it.
 */
export interface SetAsideTimer extends DueTimer {
  id: number;
  /** The error, as running the timer threw it. */
  reason: string;
  setAsideAt: number;
  /** Null until an operator retries or dismisses it. */
  resolution: SetAsideResolution | null;
}
