/**
 * The longest time counted in business hours may be: a year of working weeks. Pure and import-free,
 * so that the console checks a hand-off's SLA by the same rule before saving
 * (web/src/scoring/lifecycle-form.ts) as the server does on saving (core/hand-off.ts).
 */

/** Working weeks a time counted in business hours may span. */
export const MAX_BUSINESS_WEEKS = 52;

/** Business hours as `BusinessHours` (core/business-hours.ts) holds them: days, and `HH:MM` times. */
export interface WorkingWeek {
  days: readonly string[];
  start: string;
  end: string;
}

/** Milliseconds of business time in MAX_BUSINESS_WEEKS of `hours`. */
export function businessYearMs(hours: WorkingWeek): number {
  const daily = minutesOf(hours.end) - minutesOf(hours.start);
  return MAX_BUSINESS_WEEKS * hours.days.length * daily * 60_000;
}

/** Whether `durationMs` of business hours ends within a year of working weeks. */
export function fitsInBusinessYear(durationMs: number, hours: WorkingWeek): boolean {
  return durationMs <= businessYearMs(hours);
}

function minutesOf(time: string): number {
  const [hour = 0, minute = 0] = time.split(':').map(Number);
  return hour * 60 + minute;
}
