import { z } from 'zod';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** A duration written the way people say it: `30m`, `2h`, `3d`, `1w` (one number, one unit). */
export const Duration = z
  .string()
  .regex(/^\d+(\.\d+)?[smhdw]$/, 'must be a number and a unit: 30s, 15m, 2h, 3d or 1w');
export type Duration = z.infer<typeof Duration>;

export function durationMs(duration: Duration): number {
  const unit = duration.at(-1) as keyof typeof UNIT_MS;
  return Math.round(Number.parseFloat(duration.slice(0, -1)) * UNIT_MS[unit]);
}
