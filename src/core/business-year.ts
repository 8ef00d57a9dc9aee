/**
 * How long a duration lasts counted in business hours, and the longest it may be: a year of working
 * weeks. Pure, importing only the pure duration reader, so that the console reads a hand-off's SLA by
 * the same rules before saving (web/src/scoring/lifecycle-form.ts) as the server does on saving and
 * when a hand-off is made (core/hand-off.ts).
 */
import { durationMs, UNIT_MS } from './duration-ms.js';

/** Working weeks a time counted in business hours may span. */
export const MAX_BUSINESS_WEEKS = 52;

/** Business hours as `BusinessHours` (core/business-hours.ts) holds them: days, and `HH:MM` times. */
export interface WorkingWeek {
  days: readonly string[];
  start: string;
  end: string;
}

/** Milliseconds of business time in one working day of `hours`. */
function workingDayMs(hours: WorkingWeek): number {
  return (minutesOf(hours.end) - minutesOf(hours.start)) * 60_000;
}

/** Milliseconds of business time in MAX_BUSINESS_WEEKS of `hours`. */
export function businessYearMs(hours: WorkingWeek): number {
  return MAX_BUSINESS_WEEKS * hours.days.length * workingDayMs(hours);
}

/**
 * The business time a duration (as `Duration` reads it) stands for: days and weeks are working days
 * and weeks — `2d` with 09:00–17:00 is two working days (16 business hours), as sales reads an SLA, not
 * 48 of those hours; `1w` is every working day of the week. Hours and less are business hours as
 * written.
 */
export function businessDurationMs(duration: string, hours: WorkingWeek): number {
  const unit = duration.at(-1);
  if (unit !== 'd' && unit !== 'w') return durationMs(duration);
  const working = unit === 'd' ? workingDayMs(hours) : hours.days.length * workingDayMs(hours);
  return Math.round((durationMs(duration) / UNIT_MS[unit]) * working);
}

/** Whether `durationMs` of business hours ends within a year of working weeks. */
export function fitsInBusinessYear(durationMs: number, hours: WorkingWeek): boolean {
  return durationMs <= businessYearMs(hours);
}

function minutesOf(time: string): number {
  const [hour = 0, minute = 0] = time.split(':').map(Number);
  return hour * 60 + minute;
}
