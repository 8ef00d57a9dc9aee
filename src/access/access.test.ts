import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { systemClock } from '../core/clock.js';
import { createPostgresStorage } from '../storage/postgres/postgres-storage.js';
import { createSqliteStorage } from '../storage/sqlite/sqlite-storage.js';
import type { Storage } from '../storage/storage.js';
import { createTestSchema, testDatabaseUrl } from '../test-support/postgres.js';
import { BACKENDS, type Backend } from '../test-support/world.js';
import { ensureFirstRun } from './access.js';

/** Two processes' storages on one fresh, migrated database (in `schema` on PostgreSQL). */
async function twoProcessesOnOneDatabase(
  backend: Backend,
): Promise<{ storages: [Storage, Storage]; schema: string | undefined; close(): Promise<void> }> {
  let open: () => Promise<Storage>;
  let drop: () => Promise<void>;
  let schemaName: string | undefined;
  if (backend === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'mops-first-run-'));
    open = () => createSqliteStorage({ path: path.join(dir, 'mops.db') });
    drop = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const schema = await createTestSchema();
    schemaName = schema.schema;
    open = () => createPostgresStorage({ url: schema.url, schema: schema.schema, poolSize: 2 });
    drop = () => schema.drop();
  }
  const storages: [Storage, Storage] = [await open(), await open()];
  await storages[0].migrate();
  return {
    storages,
    schema: schemaName,
    async close() {
      for (const storage of storages) await storage.close();
      await drop();
    },
  };
}

/**
 * Holds back writes to the schema's workspaces table (reads go on) until two transactions wait: for
 * the table each, or one for it and the other for the first-run lock. Without it one process may be
 * done before the other has read the list, and the race goes unseen.
 */
async function holdWorkspaceWrites(schema: string): Promise<{ releaseOnceBothWait(): Promise<void> }> {
  const holder = new pg.Client({ connectionString: testDatabaseUrl() });
  await holder.connect();
  await holder.query('begin');
  await holder.query(`lock table ${schema}.workspaces in share mode`);
  return {
    async releaseOnceBothWait() {
      try {
        await vi.waitFor(
          async () => {
            const { rows } = await holder.query<{ waiting: number }>(
              `select count(*)::int as waiting from pg_locks, hashtextextended($1 || '/workspace-list', 0) as h
               where not granted
                 and ((locktype = 'relation' and relation = to_regclass($1 || '.workspaces'))
                   or (locktype = 'advisory' and classid::bigint = (h >> 32) & 4294967295
                       and objid::bigint = h & 4294967295))`,
              [schema],
            );
            expect(rows[0]?.waiting).toBe(2);
          },
          { timeout: 10_000, interval: 20 },
        );
      } finally {
        await holder.query('commit');
        await holder.end();
      }
    },
  };
}

describe.each(BACKENDS)('first run on %s', (backend) => {
  it('creates one default workspace and one admin when two processes start at once', async () => {
    const database = await twoProcessesOnOneDatabase(backend);
    try {
      const [a, b] = database.storages;
      const held = database.schema === undefined ? undefined : await holdWorkspaceWrites(database.schema);
      const starting = Promise.all([ensureFirstRun(a, systemClock), ensureFirstRun(b, systemClock)]);
      await held?.releaseOnceBothWait();
      const runs = await starting;
      const workspaces = await a.workspaces.list();
      expect(workspaces).toEqual([expect.objectContaining({ name: 'Default' })]);
      expect(runs.map((run) => run.workspace)).toEqual([workspaces[0], workspaces[0]]);
      expect(runs.filter((run) => run.createdAdmin !== undefined)).toHaveLength(1);
      expect(await a.access.countUsers()).toBe(1);
    } finally {
      await database.close();
    }
  });
});
