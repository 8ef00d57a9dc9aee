import { z } from 'zod';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

const PATTERN = /^\d+(\.\d+)?[smhdw]$/;

/** Longer than any wait, window or half-life means anything for; beyond it dates leave what can be stored. */
const MAX_MS = 520 * UNIT_MS.w;

/** A duration written the way people say it: `30m`, `2h`, `3d`, `1w` (one number, one unit), at most 520w. */
export const Duration = z
  .string()
  .regex(PATTERN, 'must be a number and a unit: 30s, 15m, 2h, 3d or 1w')
  .refine((value) => !PATTERN.test(value) || durationMs(value) <= MAX_MS, 'must be at most 520w (ten years)');
export type Duration = z.infer<typeof Duration>;

export function durationMs(duration: string): number {
  const unit = duration.at(-1) as keyof typeof UNIT_MS;
  return Math.round(Number.parseFloat(duration.slice(0, -1)) * UNIT_MS[unit]);
}

/** A duration longer than nothing: a window, a half-life (`0d` would be an empty window, a division by zero). */
export const PositiveDuration = Duration.refine(
  (value) => !PATTERN.test(value) || durationMs(value) > 0,
  'must be longer than 0',
);
