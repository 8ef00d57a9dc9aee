import type { z } from 'zod';
import { type Comparing, neverHoldsBecause } from './holdable-comparison.js';

/**
 * A comparison's schema refusing what could never hold (see `neverHoldsBecause`), naming its field.
 * Apart from `holdable-comparison.ts`, which the console imports and which must import no package.
 */
export const holdable = <T extends z.ZodType<Comparing>>(
  schema: T,
  options: { isEventFilter?: boolean } = {},
) =>
  schema.superRefine((comparison, context) => {
    const problem = neverHoldsBecause(comparison, options);
    if (problem)
      context.addIssue({
        code: 'custom',
        path: [problem.field],
        message: problem.message,
        ...(problem.reason ? { params: { reason: problem.reason } } : {}),
      });
  });
