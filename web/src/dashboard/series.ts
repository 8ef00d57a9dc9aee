import type { BucketSize } from './range.js';

/** What the dashboard API answers for events and messages over a range (see dashboard-routes.ts). */
export interface Series<T> {
  from: string;
  to: string;
  bucket: BucketSize;
  bucketMs: number;
  totals: T;
  buckets: Array<T & { start: string }>;
}

export interface EventCounts {
  received: number;
  generated: number;
  rejected: number;
}

export interface MessageCounts {
  sent: number;
  opened: number;
  clicked: number;
  bounced: number;
  /** Given up on without a bounce (no channel set up, refused by the provider, retries run out). */
  failed: number;
}

export interface FunnelStep {
  id: string;
  type: string | null;
  entered: number;
  completed: number;
}

export interface JourneyStats {
  id: string;
  name: string;
  status: string;
  entered: number;
  active: number;
  converted: number;
  /** Entered and held out by a split: no part of the journey's conversion. */
  heldOut: number;
  /** Without a goal nobody converts: the journey has no conversion to show. */
  hasGoal: boolean;
  conversionRate: number | null;
  steps: FunnelStep[];
}

const DAY = 86_400_000;

/**
 * How a bucket is named on the axis and in the data table: the time for minutes and for hours within
 * a day, day and hour over several days, the date for days.
 */
export function bucketLabeller(locale: string, bucket: BucketSize, rangeMs: number): (iso: string) => string {
  const options: Intl.DateTimeFormatOptions =
    bucket === 'day'
      ? { day: 'numeric', month: 'short' }
      : bucket === 'hour' && rangeMs > DAY
        ? { weekday: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }
        : { hour: '2-digit', minute: '2-digit' };
  const format = new Intl.DateTimeFormat(locale, options);
  return (iso) => format.format(new Date(iso));
}

/** The API's buckets as chart rows, each with the label its axis shows. */
export function chartRows<T extends object>(
  series: Series<T>,
  locale: string,
): Array<T & { start: string; label: string }> {
  const label = bucketLabeller(locale, series.bucket, Date.parse(series.to) - Date.parse(series.from));
  return series.buckets.map((bucket) => ({ ...bucket, label: label(bucket.start) }));
}

export function isAllZero(totals: object): boolean {
  return Object.values(totals).every((value) => value === 0);
}

/** Each step of a funnel with its share of those who entered the first step (null when nobody did). */
export function funnelRows(steps: FunnelStep[]): Array<FunnelStep & { share: number | null }> {
  const first = steps[0]?.entered ?? 0;
  return steps.map((step) => ({ ...step, share: first === 0 ? null : step.entered / first }));
}

/**
 * Journeys anyone entered, best converting first; rates as percentages for the chart's axis. Who
 * entered is counted as the rate is: those a split held out left out.
 */
export function conversionRows(
  journeys: JourneyStats[],
): Array<{ id: string; name: string; entered: number; converted: number; percent: number }> {
  return journeys
    .filter((journey) => journey.hasGoal && journey.entered - journey.heldOut > 0)
    .map((journey) => ({
      id: journey.id,
      name: journey.name,
      entered: journey.entered - journey.heldOut,
      converted: journey.converted,
      percent: Math.round((journey.conversionRate ?? 0) * 1000) / 10,
    }))
    .sort((a, b) => b.percent - a.percent || a.name.localeCompare(b.name));
}

/** The journey converting best, to name in the chart's summary; none while no journey has converted anyone. */
export function bestConverting<Row extends { converted: number }>(rows: readonly Row[]): Row | undefined {
  // The first that converted anyone: rates rounded to a tenth of a percent may tie at 0 with one that did.
  return rows.find((row) => row.converted > 0);
}
