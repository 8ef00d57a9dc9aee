import pg from 'pg';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../core/clock.js';
import { loadConfig } from '../core/config.js';
import { openStorage } from '../storage/open-storage.js';
import { type PipelineBatch, StaleBatchError, type Storage } from '../storage/storage.js';
import { trackEvent } from '../test-support/events.js';
import { untilEventsReadable } from '../test-support/readable-events.js';
import { recordRetryWaits } from '../test-support/retry-waits.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../test-support/world.js';
import { EventPipeline } from './pipeline.js';

describe.each(BACKENDS)('event pipeline on %s', (backend) => {
  let database: TestDatabase;
  let storage: Storage;

  beforeEach(async () => {
    database = await createTestDatabase(backend);
    storage = await openStorage(loadConfig(database.env));
    await storage.migrate();
  });
  afterEach(async () => {
    await storage.close();
    await database.cleanup();
  });

  /** A consumer's batch that records how many events each of its batches held. */
  const recording = (sizes: number[]): PipelineBatch<void> => ({
    async prepare(events) {
      sizes.push(events.length);
      return async () => undefined;
    },
  });
  const append = (count: number) =>
    storage.events.append({
      events: Array.from({ length: count }, () => trackEvent({ workspaceId: 'ws_pipeline' })),
      rejected: [],
    });

  it('lets a consumer with a larger batch wait out a backlog for full batches, and otherwise run every round', async () => {
    const upstream: number[] = [];
    const downstream: number[] = [];
    const pipeline = new EventPipeline({
      storage,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      batchSize: 2,
      consumers: [
        { cursor: 'upstream', batch: recording(upstream) },
        { cursor: 'downstream', batch: recording(downstream), notBeyond: 'upstream', batchSize: 5 },
      ],
    });
    await append(10);
    await pipeline.drain();
    expect(upstream).toEqual([2, 2, 2, 2, 2]);
    // It waited while the upstream took full batches, ran once five had come through, and took
    // the rest when the upstream had none left.
    expect(downstream).toEqual([5, 5]);

    // No backlog: a partial batch upstream, and the downstream consumer runs in the same round.
    await append(1);
    await untilEventsReadable(storage);
    expect(await pipeline.runOnce()).toBe(1);
    expect(upstream.at(-1)).toBe(1);
    expect(downstream.at(-1)).toBe(1);
  });

  it('prepares a stale batch again at once, and gives up with an error when it never stops going stale', async () => {
    let attempts = 0;
    let staleUntil = 3;
    const written: number[] = [];
    const flaky: PipelineBatch<void> = {
      async prepare(events) {
        attempts++;
        return async () => {
          if (attempts <= staleUntil) throw new StaleBatchError('read before a merge');
          written.push(events.length);
        };
      },
    };
    const pipeline = new EventPipeline({
      storage,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      consumers: [{ cursor: 'flaky', batch: flaky }],
    });
    await append(3);
    await pipeline.drain();
    expect({ attempts, written }).toEqual({ attempts: 4, written: [3] });

    staleUntil = Number.POSITIVE_INFINITY;
    await append(1);
    await expect(pipeline.drain()).rejects.toThrow('flaky: the batch went stale 10 times in a row');
    expect(written).toEqual([3]);
  });

  describe('waits before retrying', () => {
    let recorded: ReturnType<typeof recordRetryWaits>;
    let pipeline: EventPipeline | undefined;
    beforeEach(() => {
      recorded = recordRetryWaits();
    });
    afterEach(async () => {
      await pipeline?.stop();
      recorded.restore();
    });

    it('longer each time a batch keeps going stale: rounds that go stale are not work gone through', async () => {
      const alwaysStale: PipelineBatch<void> = {
        async prepare() {
          return async () => {
            throw new StaleBatchError('read before a merge');
          };
        },
      };
      pipeline = new EventPipeline({
        storage,
        clock: systemClock,
        logger: recorded.logger,
        consumers: [{ cursor: 'stuck', batch: alwaysStale }],
      });
      await append(1);
      await untilEventsReadable(storage);
      pipeline.start();
      await vi.waitFor(() => expect(recorded.waits.length).toBeGreaterThanOrEqual(3), { timeout: 20_000 });
      expect(recorded.waits.slice(0, 3)).toEqual([50, 100, 200]);
    });

    it('briefly again after a round that went through with nothing to do', async () => {
      let calls = 0;
      const lostConnection = Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
      pipeline = new EventPipeline({
        storage,
        clock: systemClock,
        logger: recorded.logger,
        pollIntervalMs: 10,
        consumers: [
          {
            cursor: 'flapping',
            batch: recording([]),
            // Three failures, a round that finds nothing, then one failure more.
            exclusive: async (run) => {
              calls++;
              if (calls <= 3 || calls === 5) throw lostConnection;
              return run();
            },
          },
        ],
      });
      pipeline.start();
      await vi.waitFor(() => expect(recorded.waits.length).toBeGreaterThanOrEqual(4), { timeout: 20_000 });
      expect(recorded.waits).toEqual([50, 100, 200, 50]);
    });
  });

  /** Runs rounds as the pipeline's loop does, an error ending a round, until it is caught up. */
  async function runUntilIdle(pipeline: EventPipeline, errors: unknown[], rounds = 40): Promise<void> {
    for (let round = 0; round < rounds; ) {
      try {
        if ((await pipeline.runOnce()) > 0) {
          round++;
          continue;
        }
      } catch (error) {
        errors.push(error);
        round++;
        continue;
      }
      // On PostgreSQL a round finds nothing while another test's transaction is open: that is no round.
      if (!(await pipeline.isBehind())) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`still busy after ${rounds} rounds`);
  }

  it('sets aside the one event a consumer fails on every time, and goes on past it in full batches', async () => {
    const written: string[][] = [];
    const downstream: string[] = [];
    const choking: PipelineBatch<void> = {
      async prepare(events) {
        return async () => {
          if (events.some((event) => event.name === 'Poison')) throw new TypeError('cannot read the poison');
          written.push(events.map((event) => event.name ?? ''));
        };
      },
    };
    const pipeline = new EventPipeline({
      storage,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      batchSize: 3,
      consumers: [
        { cursor: 'choking', batch: choking },
        {
          cursor: 'after-it',
          notBeyond: 'choking',
          batch: {
            async prepare(events) {
              return async () => void downstream.push(...events.map((event) => event.name ?? ''));
            },
          },
        },
      ],
    });
    const named = (name: string) => trackEvent({ workspaceId: 'ws_pipeline', name });
    const poison = named('Poison');
    await storage.events.append({ events: [named('a'), poison, named('b'), named('c')], rejected: [] });

    const errors: unknown[] = [];
    await runUntilIdle(pipeline, errors);
    // The full batch failed, then one at a time: 'a', four failures on the poison, 'b'; 'c' in a batch again.
    expect(errors).toHaveLength(4);
    expect(written).toEqual([['a'], ['b'], ['c']]);
    // Set aside by the one consumer only: the next reads it as it reads every event.
    expect(downstream).toEqual(['a', 'Poison', 'b', 'c']);
    expect(pipeline.setAsideCount).toBe(1);
    const { items } = await storage.setAsideEvents.list('ws_pipeline', { limit: 10 });
    expect(items).toEqual([
      expect.objectContaining({
        workspaceId: 'ws_pipeline',
        consumer: 'choking',
        messageId: poison.messageId,
        type: 'track',
        name: 'Poison',
        reason: 'TypeError: cannot read the poison',
      }),
    ]);
    expect(await storage.pipelineLag('choking')).toBe(0);

    await append(4);
    await runUntilIdle(pipeline, errors);
    expect(written.slice(3).map((batch) => batch.length)).toEqual([3, 1]);
    expect(errors).toHaveLength(4);
  });

  it('never sets aside an event for a failure of the database, however long it lasts', async () => {
    let failures = 12;
    const written: number[] = [];
    const pipeline = new EventPipeline({
      storage,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      consumers: [
        {
          cursor: 'waiting',
          batch: {
            async prepare(events) {
              return async () => {
                if (failures-- > 0)
                  throw Object.assign(new Error('could not serialize access'), {
                    code: backend === 'postgres' ? '40001' : 'SQLITE_BUSY',
                  });
                written.push(events.length);
              };
            },
          },
        },
      ],
    });
    await append(2);
    const errors: unknown[] = [];
    await runUntilIdle(pipeline, errors);
    expect(errors).toHaveLength(12);
    // Nor did it go one event at a time: the events were not at fault.
    expect(written).toEqual([2]);
    expect(pipeline.setAsideCount).toBe(0);
    expect((await storage.setAsideEvents.list('ws_pipeline', { limit: 10 })).items).toEqual([]);
  });

  it("sets aside only the Mops event a consumer that reads Mops's events fails on, not those around it", async () => {
    const written: string[] = [];
    const pipeline = new EventPipeline({
      storage,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      consumers: [
        {
          cursor: 'reads-mops-events',
          batch: {
            async prepare(events) {
              return async () => {
                if (events.some((event) => event.name === 'Poison'))
                  throw new TypeError('cannot read the poison');
                written.push(...events.map((event) => event.name ?? ''));
              };
            },
          },
        },
      ],
    });
    const named = (name: string) => trackEvent({ workspaceId: 'ws_pipeline', name });
    await storage.events.append({ events: [named('a')], rejected: [] });
    const poison = named('Poison');
    await storage.transaction((tx) =>
      tx.generatedEvents.append(
        [named('m1'), poison, named('m2')].map((event) => ({ event, identityId: 1 })),
      ),
    );
    await storage.events.append({ events: [named('b')], rejected: [] });

    await runUntilIdle(pipeline, []);
    const { items } = await storage.setAsideEvents.list('ws_pipeline', { limit: 10 });
    expect(items.map((item) => item.messageId)).toEqual([poison.messageId]);
    expect(written).toEqual(['a', 'm1', 'm2', 'b']);
    expect(pipeline.setAsideCount).toBe(1);
  });

  it('counts only failures at the same event: another process moving the cursor starts the count again', async () => {
    const flakyOnce = new Set(['Next']);
    const written: string[] = [];
    const failing: PipelineBatch<void> = {
      async prepare(events) {
        return async () => {
          for (const { name } of events) {
            if (name === 'Poison') throw new TypeError('cannot read the poison');
            if (name !== null && flakyOnce.delete(name)) throw new TypeError('failed once');
          }
          written.push(...events.map((event) => event.name ?? ''));
        };
      },
    };
    const process = (batch: PipelineBatch<void>) =>
      new EventPipeline({
        storage,
        clock: systemClock,
        logger: pino({ level: 'silent' }),
        consumers: [{ cursor: 'shared', batch }],
      });
    const here = process(failing);
    // Another process, on a version that reads the poison fine.
    const elsewhere = process(recording([]));
    const named = (name: string) => trackEvent({ workspaceId: 'ws_pipeline', name });
    const errors: unknown[] = [];
    /** One round that found work (on PostgreSQL, once older transactions elsewhere let it read the events). */
    const round = async (pipeline: EventPipeline) => {
      for (;;) {
        try {
          if ((await pipeline.runOnce()) > 0 || !(await pipeline.isBehind())) return;
        } catch (error) {
          errors.push(error);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };

    await storage.events.append({ events: [named('Poison')], rejected: [] });
    for (let attempt = 0; attempt < 3; attempt++) await round(here);
    expect(errors).toHaveLength(3);
    await round(elsewhere);
    await storage.events.append({ events: [named('Next')], rejected: [] });
    await round(here); // 'Next' fails once…
    await round(here); // …and goes through the next time
    expect(errors).toHaveLength(4);
    expect(written).toEqual(['Next']);
    expect((await storage.setAsideEvents.list('ws_pipeline', { limit: 10 })).items).toEqual([]);
  });

  it.runIf(backend === 'postgres')(
    'takes a connection the server ended in the middle of a batch for the database failing, not the events',
    async () => {
      const killer = new pg.Client({ connectionString: database.env.MOPS_DATABASE_URL });
      await killer.connect();
      let isCut = false;
      const written: number[] = [];
      const pipeline = new EventPipeline({
        storage,
        clock: systemClock,
        logger: pino({ level: 'silent' }),
        consumers: [
          {
            cursor: 'cut-off',
            batch: {
              async prepare(events) {
                return async () => {
                  if (!isCut) {
                    isCut = true;
                    // The server ends the batch's connection (the one holding its cursor), as a
                    // restart or a failover does, and the batch then goes on to write.
                    const { rows } = await killer.query<{ pid: number }>(
                      `select pid from pg_locks where relation = 'pipeline_cursors'::regclass and pid <> pg_backend_pid()`,
                    );
                    for (const { pid } of rows) await killer.query('select pg_terminate_backend($1)', [pid]);
                    for (;;) {
                      const gone = await killer.query('select 1 from pg_stat_activity where pid = any($1)', [
                        rows.map((row) => row.pid),
                      ]);
                      if (gone.rowCount === 0) break;
                    }
                  }
                  written.push(events.length);
                };
              },
            },
          },
        ],
      });
      try {
        await append(2);
        const errors: unknown[] = [];
        await runUntilIdle(pipeline, errors);
        expect(errors).toHaveLength(1);
        // Not one event at a time: the events were not at fault.
        expect(written).toEqual([2, 2]);
      } finally {
        await killer.end();
      }
    },
  );

  it('sets nothing aside when the cursor moved from where the batch began', async () => {
    await append(1);
    await storage.runPipelineBatch('moved', 10, recording([]), 0);
    const [event] = (await storage.events.list('ws_pipeline', { limit: 1 })).items;
    if (!event) throw new Error('no event');
    expect(await storage.setAside('moved', { after: '0', through: '1' }, [event], 'late', 0)).toBe(false);
    expect((await storage.setAsideEvents.list('ws_pipeline', { limit: 10 })).items).toEqual([]);
  });
});
