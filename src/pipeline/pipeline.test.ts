import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.js';
import { loadConfig } from '../core/config.js';
import { openStorage } from '../storage/open-storage.js';
import { type PipelineBatch, StaleBatchError, type Storage } from '../storage/storage.js';
import { trackEvent } from '../test-support/events.js';
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
});
