/** The dashboard's time range: presets, custom from/to, and the bucket the server will count in. */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The server refuses longer ranges (they would read too much of the event log at once). */
export const MAX_RANGE_MS = 92 * DAY;

export const PRESETS = ['1h', '24h', '7d', '30d'] as const;
export type Preset = (typeof PRESETS)[number];
export type BucketSize = 'minute' | 'hour' | 'day';

export interface TimeRange {
  from: Date;
  to: Date;
  bucket: BucketSize;
}

/** The server's rule: minutes up to 6 hours, hours up to 7 days, days beyond. */
export function bucketFor(rangeMs: number): BucketSize {
  if (rangeMs <= 6 * HOUR) return 'minute';
  if (rangeMs <= 7 * DAY) return 'hour';
  return 'day';
}

function rangeOf(from: Date, to: Date): TimeRange {
  return { from, to, bucket: bucketFor(to.getTime() - from.getTime()) };
}

/**
 * A preset range that ends with the bucket holding `now`, so that bars fall on whole local minutes,
 * hours or days and the last one covers the present.
 */
export function presetRange(preset: Preset, now: Date): TimeRange {
  const to = new Date(now);
  switch (preset) {
    case '1h':
      to.setSeconds(0, 0);
      to.setMinutes(to.getMinutes() + 1);
      return rangeOf(new Date(to.getTime() - HOUR), to);
    case '24h':
    case '7d': {
      to.setMinutes(0, 0, 0);
      to.setHours(to.getHours() + 1);
      return rangeOf(new Date(to.getTime() - (preset === '24h' ? DAY : 7 * DAY)), to);
    }
    case '30d': {
      to.setHours(0, 0, 0, 0);
      to.setDate(to.getDate() + 1);
      const from = new Date(to);
      from.setDate(from.getDate() - 30);
      return rangeOf(from, to);
    }
  }
}

export type RangeProblem = 'required' | 'invalid' | 'notAfterFrom' | 'tooLong';

/** A custom range from two `datetime-local` values (local time), or what is wrong with each field. */
export function customRange(
  fromText: string,
  toText: string,
): { range: TimeRange } | { errors: { from?: RangeProblem; to?: RangeProblem } } {
  const errors: { from?: RangeProblem; to?: RangeProblem } = {};
  const from = parseLocal(fromText);
  const to = parseLocal(toText);
  if (!fromText) errors.from = 'required';
  else if (!from) errors.from = 'invalid';
  if (!toText) errors.to = 'required';
  else if (!to) errors.to = 'invalid';
  if (from && to) {
    const span = to.getTime() - from.getTime();
    if (span <= 0) errors.to = 'notAfterFrom';
    else if (span > MAX_RANGE_MS) errors.to = 'tooLong';
  }
  if (errors.from || errors.to || !from || !to) return { errors };
  return { range: rangeOf(from, to) };
}

function parseLocal(text: string): Date | undefined {
  // `new Date('2026-03-02T10:00')` reads local time, as the input shows it.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** The value a `datetime-local` input shows for `date`, in local time. */
export function toLocalInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The query string the dashboard API takes. */
export function rangeQuery(range: TimeRange): string {
  return `?from=${encodeURIComponent(range.from.toISOString())}&to=${encodeURIComponent(range.to.toISOString())}`;
}
