import pg from 'pg';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { journeyTimersJudgedThrough } from '../journeys/engine.js';
import type { Storage } from '../storage/storage.js';
import { startJourneyWorld } from '../test-support/journey-world.js';
import { REMINDER_AN_HOUR_AFTER_SIGN_UP } from '../test-support/journeys.js';
import { testDatabaseUrl } from '../test-support/postgres.js';
import { recordRetryWaits } from '../test-support/retry-waits.js';
import { track } from '../test-support/segment-calls.js';
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

  it('waits a poll, not in a loop, while another process holds the due timer locked', async () => {
    const world = await startJourneyWorld('postgres');
    const otherProcess = new pg.Client({
      connectionString: testDatabaseUrl(),
      options: `-c search_path=${world.schema}`,
    });
    try {
      await world.publish(REMINDER_AN_HOUR_AFTER_SIGN_UP);
      await world.send([track('ann', 'Signed Up')]);
      await world.settle();
      world.clock.advance(3_600_000 + 1000);
      // Another worker's round has the instance locked (SKIP LOCKED passes it over) and has not ended.
      await otherProcess.connect();
      await otherProcess.query('begin');
      const { rowCount } = await otherProcess.query('select id from journey_instances for update');
      expect(rowCount).toBe(1);

      const { engine } = world.background;
      let rounds = 0;
      const pollIntervalMs = 200;
      scheduler = new TimerScheduler({
        work: {
          name: 'journey timers',
          runDue: (limit) => {
            rounds++;
            return engine.runDueTimers(limit);
          },
          nextDue: () => world.storage.journeys.nextTimerDue(),
          judgedThrough: (now) => journeyTimersJudgedThrough(world.storage, now),
        },
        storage: world.storage,
        clock: world.clock,
        logger: pino({ level: 'silent' }),
        pollIntervalMs,
      });
      scheduler.start();
      await new Promise((resolve) => setTimeout(resolve, 5 * pollIntervalMs));
      // About one round a poll; looking again at once, it took hundreds.
      expect(rounds).toBeLessThan(20);

      // Let go, the timer fires at the next poll.
      await otherProcess.query('rollback');
      await vi.waitFor(
        async () => {
          const profile = await world.storage.profiles.find(world.workspaceId, await world.profileOf('ann'));
          expect(profile?.traits.reminded).toBe(true);
        },
        { timeout: 10_000, interval: 50 },
      );
    } finally {
      await scheduler?.stop();
      scheduler = undefined;
      await otherProcess.end().catch(() => undefined);
      await world.close();
    }
  });
});
