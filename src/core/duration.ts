import { z } from 'zod';
import { durationMs, MAX_DURATION_MS } from './duration-ms.js';

export { durationMs };

const PATTERN = /^\d+(\.\d+)?[smhdw]$/;

/** A duration written the way people say it: `30m`, `2h`, `3d`, `1w` (one number, one unit), at most 520w. */
export const Duration = z
  .string()
  // Refusals with a reason the console words in its language (see `REFUSAL_REASONS`).
  .refine((value) => PATTERN.test(value), {
    message: 'must be a number and a unit: 30s, 15m, 2h, 3d or 1w',
    params: { reason: 'duration_format' },
  })
  .refine((value) => !PATTERN.test(value) || durationMs(value) <= MAX_DURATION_MS, {
    message: 'must be at most 520w (ten years)',
    params: { reason: 'duration_too_long' },
  });
export type Duration = z.infer<typeof Duration>;

/** A duration longer than nothing: a window, a half-life (`0d` would be an empty window, a division by zero). */
export const PositiveDuration = Duration.refine(
  (value) => !PATTERN.test(value) || durationMs(value) > 0,
  'must be longer than 0',
);
