import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ensureFirstRun } from '../access/access.js';
import { systemClock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { trackEvent } from '../test-support/events.js';
import {
  BACKENDS,
  createTestDatabase,
  eventually,
  type TestDatabase,
  testConfig,
} from '../test-support/world.js';
import { buildApp } from './app.js';
import { LogThread, startLogThread } from './log-thread-client.js';

/** The log thread of a single-process install, which also runs the pipeline and timers. */
describe.each(BACKENDS)('log thread on %s', (backend) => {
  let database: TestDatabase;
  let config: Config;
  let storage: Storage;
  let logThread: LogThread;
  let threads: Worker[];
  const logger = { error: vi.fn() };

  beforeEach(async () => {
    database = await createTestDatabase(backend);
    config = testConfig(database);
    storage = await openStorage(config);
    await storage.migrate();
    threads = [];
    logThread = new LogThread(config, {
      runBackground: true,
      logger,
      startThread: (data) => {
        const thread = startLogThread(data);
        threads.push(thread);
        return thread;
      },
    });
    await logThread.start();
  });
  afterEach(async () => {
    await logThread.close();
    await storage.close();
    await database.cleanup();
  });

  it('starts a new thread by itself when the thread dies, and the pipeline goes on', async () => {
    const { workspace } = await ensureFirstRun(storage, systemClock, { withAdmin: false });
    const [first] = threads;
    await first?.terminate();
    await eventually(async () => (threads.length === 2 ? true : undefined));
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ err: expect.anything() }),
      'the log thread stopped; starting a new one',
    );

    // Written beside the thread, as another process or `mops import` would: no append wakes it.
    await storage.events.append({
      events: [trackEvent({ workspaceId: workspace.id, userId: 'after-restart' })],
      rejected: [],
    });
    await eventually(async () => {
      const [identity] = await storage.profiles.findIdentities(workspace.id, [
        { kind: 'user', value: 'after-restart' },
      ]);
      return identity;
    });
  });

  it('answers /healthz 503 while the log thread cannot start, and 200 once it runs', async () => {
    let canOpenStorage = false;
    // Its storage file under a file, not a directory: the thread dies before it is ready.
    const scratch = mkdtempSync(path.join(tmpdir(), 'mops-health-'));
    const notADirectory = path.join(scratch, 'file');
    writeFileSync(notADirectory, '');
    const unopenable: Config = {
      ...config,
      database: { kind: 'sqlite', path: path.join(notADirectory, 'mops.db'), synchronous: 'normal' },
    };
    let started = 0;
    const api = new LogThread(config, {
      runBackground: false,
      logger,
      startThread: (data) => {
        started++;
        return startLogThread(canOpenStorage ? data : { ...data, config: unopenable });
      },
      restartBackoffMs: 500,
    });
    const app = await buildApp({
      config,
      storage,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      appender: api,
      secret: 'health-check-secret-0123456789abcdef',
      appenderReady: () => api.takesAppends(5_000),
    });
    try {
      const url = await app.server.listen({ host: '127.0.0.1', port: 0 });
      const down = await fetch(`${url}/healthz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ status: 'unavailable', database: backend, logThread: 'down' });
      expect(started).toBe(1);
      // Asked again at once, it answers from the failure: no thread is started for every request.
      expect((await fetch(`${url}/healthz`)).status).toBe(503);
      expect(started).toBe(1);

      canOpenStorage = true;
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Past the back-off a request starts the thread again; a loaded machine may take longer to
      // start it than the request waits, and the next request waits for the same start.
      await expect.poll(async () => (await fetch(`${url}/healthz`)).status, { timeout: 30_000 }).toBe(200);
      const up = await fetch(`${url}/healthz`);
      expect(await up.json()).toEqual({ status: 'ok', database: backend, logThread: 'running' });
      expect(started).toBe(2);
    } finally {
      await app.server.close();
      await api.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
