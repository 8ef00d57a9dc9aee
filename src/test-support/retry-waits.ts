import pino, { type Logger } from 'pino';
import { vi } from 'vitest';

/**
 * Records how long a background loop waits before each retry: it logs the failure and, at once, sets
 * the timer of its wait; the logger given to the loop marks the next `setTimeout` as that wait.
 * `restore` puts `setTimeout` back.
 */
export function recordRetryWaits(): { logger: Logger; waits: number[]; restore: () => void } {
  const waits: number[] = [];
  let isRetryNext = false;
  const logger = pino(
    {
      level: 'error',
      hooks: {
        logMethod(args, method) {
          isRetryNext = true;
          method.apply(this, args);
        },
      },
    },
    { write: () => undefined },
  );
  const original = globalThis.setTimeout;
  const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((
    callback: (...args: unknown[]) => void,
    ms?: number,
    ...rest: unknown[]
  ) => {
    if (isRetryNext) waits.push(ms ?? 0);
    isRetryNext = false;
    // Others' timers (the database driver's) keep their arguments.
    return Reflect.apply(original, globalThis, [callback, ms, ...rest]);
  }) as typeof setTimeout);
  return { logger, waits, restore: () => spy.mockRestore() };
}
