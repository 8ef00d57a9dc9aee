import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApiKey } from '../access/access.js';
import type { Clock } from '../core/clock.js';
import { type Config, loadConfig } from '../core/config.js';
import { createLogger } from '../server/logger.js';
import { type ProcessRole, type RunningMops, startMops } from '../server/server.js';
import { createTestSchema, type TestSchema } from './postgres.js';

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: Backend[] = ['sqlite', 'postgres'];

/** For tests that start, kill and restart processes: generous on a busy two-core machine; only a hang fails them. */
export const PROCESS_TEST_TIMEOUT_MS = 120_000;

/** A database of its own for one test suite: a temp SQLite directory or a fresh PostgreSQL schema. */
export interface TestDatabase {
  backend: Backend;
  env: Record<string, string>;
  dataDir: string;
  cleanup(): Promise<void>;
}

export async function createTestDatabase(backend: Backend): Promise<TestDatabase> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mops-test-'));
  let schema: TestSchema | undefined;
  // Tests run their webhook receivers, SMTP and SMS stand-ins on loopback.
  const env: Record<string, string> = {
    MOPS_DATA_DIR: dataDir,
    MOPS_LOG_LEVEL: 'warn',
    MOPS_ALLOW_PRIVATE_NETWORKS: 'true',
  };
  if (backend === 'postgres') {
    schema = await createTestSchema();
    env.MOPS_DATABASE_URL = schema.urlWithSchema;
    env.MOPS_SECRET = 'test-secret-test-secret-test-secret-0123';
  }
  return {
    backend,
    env,
    dataDir,
    async cleanup() {
      await schema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function testConfig(database: TestDatabase, overrides: Record<string, string> = {}): Config {
  return loadConfig({ MOPS_HOST: '127.0.0.1', MOPS_PORT: '0', ...database.env, ...overrides });
}

/** A running Mops (real HTTP server on a free port) with a workspace, a write key and a secret key. */
export interface TestWorld {
  mops: RunningMops;
  url: string;
  workspaceId: string;
  writeKey: string;
  secretKey: string;
  database: TestDatabase;
  close(): Promise<void>;
}

export async function startTestWorld(
  backend: Backend,
  options: { clock?: Clock; role?: ProcessRole; env?: Record<string, string> } = {},
): Promise<TestWorld> {
  const database = await createTestDatabase(backend);
  const config = testConfig(database, options.env);
  const mops = await startMops({
    config,
    role: options.role ?? 'all',
    logger: createLogger('warn'),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const workspace = mops.firstRun?.workspace;
  if (!mops.url || !workspace) throw new Error('test world needs an API process');
  const now = Date.now();
  const write = await createApiKey(mops.storage, {
    workspaceId: workspace.id,
    kind: 'write',
    name: 'test',
    now,
    createdBy: null,
  });
  const secret = await createApiKey(mops.storage, {
    workspaceId: workspace.id,
    kind: 'secret',
    name: 'test',
    now,
    createdBy: null,
  });
  return {
    mops,
    url: mops.url,
    workspaceId: workspace.id,
    writeKey: write.token,
    secretKey: secret.token,
    database,
    async close() {
      await mops.stop();
      await database.cleanup();
    },
  };
}

export function basicAuth(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

/** Polls until `check` returns a value (not undefined) or the time runs out; for effects of the async pipeline. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
