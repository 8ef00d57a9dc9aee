import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../core/clock.js';
import type { Storage } from '../storage/storage.js';
import { recordRetryWaits } from '../test-support/retry-waits.js';
import { TimerScheduler } from './timer-scheduler.js';

describe('the timer scheduler', () => {
  let recorded: ReturnType<typeof recordRetryWaits> | undefined;
  let scheduler: TimerScheduler | undefined;
  afterEach(async () => {
    await scheduler?.stop();
    recorded?.restore();
  });

  it('waits longer each time looking up the next due timer fails, though the rounds before it went through', async () => {
    recorded = recordRetryWaits();
    scheduler = new TimerScheduler({
      work: {
        name: 'test timers',
        runDue: async () => 0,
        nextDue: async () => {
          throw new Error('the next due timer could not be read');
        },
      },
      // Nothing is set aside here: no timer fails.
      storage: {} as Pick<Storage, 'transaction'>,
      clock: new ManualClock(),
      logger: recorded.logger,
    });
    scheduler.start();
    await vi.waitFor(() => expect(recorded?.waits.length).toBeGreaterThanOrEqual(3), { timeout: 20_000 });
    expect(recorded.waits.slice(0, 3)).toEqual([50, 100, 200]);
  });
});
