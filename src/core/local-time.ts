/** Calendar arithmetic in a profile's time zone, with the platform's IANA data (Intl). */
import { z } from 'zod';

/** A wall-clock time of day, `HH:MM` on a 24-hour clock. */
export const LocalTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM, 24-hour');

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const formatters = new Map<string, Intl.DateTimeFormat>();
/**
 * Zones are what contacts' traits say, spelt as they like ("europe/rome" is valid too): the cache
 * starts over rather than grow with every spelling a client sends.
 */
const FORMATTERS_KEPT = 1000;

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'short',
    });
    if (formatters.size >= FORMATTERS_KEPT) formatters.clear();
    formatters.set(timeZone, format);
  }
  return format;
}

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: Weekday;
}

/** The last answer per zone: a round of sends asks about the same instant once per message. */
const lastParts = new Map<string, { at: number; parts: Readonly<LocalParts> }>();

export function localParts(at: number, timeZone: string): Readonly<LocalParts> {
  const last = lastParts.get(timeZone);
  if (last?.at === at) return last.parts;
  const parts = computeLocalParts(at, timeZone);
  if (lastParts.size > 1000) lastParts.clear();
  lastParts.set(timeZone, { at, parts });
  return parts;
}

function computeLocalParts(at: number, timeZone: string): LocalParts {
  const parts: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(at))) parts[part.type] = part.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: (parts.weekday ?? 'Sun').toLowerCase().slice(0, 3) as Weekday,
  };
}

/** The instant at which the wall clock in `timeZone` shows this date and time (DST gaps move forward). */
export function zonedTime(
  date: { year: number; month: number; day: number },
  hour: number,
  minute: number,
  timeZone: string,
): number {
  const wanted = Date.UTC(date.year, date.month - 1, date.day, hour, minute);
  let guess = wanted;
  // Two corrections settle every zone, including across a DST change.
  for (let i = 0; i < 2; i++) guess += wanted - wallClock(guess, timeZone);
  if (wallClock(guess, timeZone) === wanted) return guess;
  // In a gap the clocks jump over, no instant shows the time: read it with the offset from before
  // the jump, which lands as far past the gap as the time is into it (02:30 on a 02:00→03:00 night is
  // 03:30; 00:00 where midnight jumps to 01:00 is 01:00, not the evening before).
  const before = wanted - DAY_MS;
  return wanted - (wallClock(before, timeZone) - before);
}

const DAY_MS = 86_400_000;

/**
 * The second instant the wall clock in `timeZone` shows this date and time, on a night the clocks go
 * back and show it twice (`zonedTime` gives the first); undefined on every other night.
 */
function secondShowing(
  date: { year: number; month: number; day: number },
  hour: number,
  minute: number,
  timeZone: string,
): number | undefined {
  const wanted = Date.UTC(date.year, date.month - 1, date.day, hour, minute);
  // Read with the offset of the day after, the one the clocks went back to.
  const after = wanted + DAY_MS;
  const instant = wanted - (wallClock(after, timeZone) - after);
  return instant > zonedTime(date, hour, minute, timeZone) && wallClock(instant, timeZone) === wanted
    ? instant
    : undefined;
}

/** The wall-clock time `at` shows in `timeZone`, as if it were UTC, to the minute. */
function wallClock(at: number, timeZone: string): number {
  const local = localParts(at, timeZone);
  return Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
}

/** The first instant after `now` when it is `time` (HH:MM) in `timeZone`, on one of `days` if given. */
export function nextLocalTime(
  now: number,
  timeZone: string,
  time: string,
  days?: readonly Weekday[],
): number {
  const [hour = 0, minute = 0] = time.split(':').map(Number);
  const today = localParts(now, timeZone);
  const start = Date.UTC(today.year, today.month - 1, today.day);
  for (let offset = 0; offset <= 8; offset++) {
    const day = new Date(start + offset * 86_400_000);
    const date = { year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate() };
    // On the night clocks go back, `now` may be in the hour shown twice, past its first showing.
    const first = zonedTime(date, hour, minute, timeZone);
    const candidate = first > now ? first : secondShowing(date, hour, minute, timeZone);
    if (candidate === undefined || candidate <= now) continue;
    if (days && !days.includes(WEEKDAYS[day.getUTCDay()] as Weekday)) continue;
    return candidate;
  }
  throw new Error(`no ${time} on ${days?.join(',')} within a week`);
}

/** Whether `now` falls in the daily window [start, end) local time; a window may cross midnight. */
export function isWithinWindow(now: number, timeZone: string, start: string, end: string): boolean {
  const local = localParts(now, timeZone);
  const minutes = local.hour * 60 + local.minute;
  const from = toMinutes(start);
  const to = toMinutes(end);
  return from <= to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
}

function toMinutes(time: string): number {
  const [hour = 0, minute = 0] = time.split(':').map(Number);
  return hour * 60 + minute;
}

/** The profile's `timezone` trait when it names a real zone, else the workspace's. */
export function profileTimeZone(traits: Record<string, unknown>, workspaceZone: string): string {
  const zone = traits.timezone;
  return typeof zone === 'string' && zone !== '' && isTimeZone(zone) ? zone : workspaceZone;
}

const knownZones = new Map<string, boolean>();

/** Whether the platform knows this IANA zone (remembered: building a formatter to check is slow). */
export function isTimeZone(zone: string): boolean {
  let known = knownZones.get(zone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      known = true;
    } catch {
      known = false;
    }
    if (knownZones.size < 1000) knownZones.set(zone, known);
  }
  return known;
}
