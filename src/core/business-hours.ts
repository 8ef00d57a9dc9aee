import { z } from 'zod';
import { MAX_BUSINESS_WEEKS } from './business-year.js';
import { LocalTime, localParts, WEEKDAYS, type Weekday, zonedTime } from './local-time.js';

/**
 * When sales works, in the workspace's time zone: a hand-off's time to accept counts only these hours
 * (a lead handed over on Friday at 16:00 with 4 hours to accept, Monday to Friday 09:00–17:00, is due
 * on Monday at 12:00). The hours fall within one day: a shift past midnight is not one of them.
 */
export const BusinessHours = z
  .object({
    days: z
      .array(z.enum(WEEKDAYS))
      .min(1)
      .max(7)
      .refine((days) => new Set(days).size === days.length, 'must name each day once')
      .default(['mon', 'tue', 'wed', 'thu', 'fri']),
    start: LocalTime.default('09:00'),
    end: LocalTime.default('17:00'),
  })
  .refine((hours) => hours.start < hours.end, {
    path: ['end'],
    message: 'must be after start, the same day',
  });
export type BusinessHours = z.infer<typeof BusinessHours>;

/**
 * Calendar days looked through at most: twice the MAX_BUSINESS_WEEKS a time may span
 * (`fitsInBusinessYear`), far more than they need whatever DST does (a day's hours inside a gap the
 * clocks jump over count for nothing, and Morocco had two gaps a year).
 */
const MAX_DAYS = 7 * MAX_BUSINESS_WEEKS * 2;

/** The instant `durationMs` of business hours after `start`, counting only the hours in `timeZone`. */
export function addBusinessTime(
  start: number,
  durationMs: number,
  hours: BusinessHours,
  timeZone: string,
): number {
  const [startHour = 0, startMinute = 0] = hours.start.split(':').map(Number);
  const [endHour = 0, endMinute = 0] = hours.end.split(':').map(Number);
  const days = new Set<Weekday>(hours.days);
  let remaining = durationMs;
  let cursor = start;
  const first = localParts(start, timeZone);
  // Calendar days walked in UTC, each then read as a date in the zone: DST never skips or repeats one.
  const firstDay = Date.UTC(first.year, first.month - 1, first.day);
  for (let offset = 0; offset < MAX_DAYS; offset++) {
    const day = new Date(firstDay + offset * 86_400_000);
    if (!days.has(WEEKDAYS[day.getUTCDay()] as Weekday)) continue;
    const date = { year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate() };
    const opens = zonedTime(date, startHour, startMinute, timeZone);
    const closes = zonedTime(date, endHour, endMinute, timeZone);
    // Hours that fall in a DST gap may open after they close: that day has none.
    if (cursor >= closes || opens >= closes) continue;
    cursor = Math.max(cursor, opens);
    if (remaining <= closes - cursor) return cursor + remaining;
    remaining -= closes - cursor;
    cursor = closes;
  }
  throw new Error(`no end to ${durationMs} ms of business hours within ${MAX_DAYS} days`);
}
