/**
 * How long a duration written the way people say it (`30m`, `2h`, `3d`, `1w`) lasts. Pure and
 * import-free: the console reads durations with it too (web/src/scoring/lifecycle-form.ts).
 */

export const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Longer than any wait, window or half-life means anything for; beyond it dates leave what can be stored. */
export const MAX_DURATION_MS = 520 * UNIT_MS.w;

/** Milliseconds in a duration that matches `Duration` (`1.5h` is 5,400,000). */
export function durationMs(duration: string): number {
  const unit = duration.at(-1) as keyof typeof UNIT_MS;
  return Math.round(Number.parseFloat(duration.slice(0, -1)) * UNIT_MS[unit]);
}
