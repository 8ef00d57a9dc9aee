import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testMigrator } from '../../test-support/migrator.js';
import { createTestSchema } from '../../test-support/postgres.js';
import type { DialectName, MigrationDb } from './migrations.js';

/** Segments of a database at 0008: those ready, or past version 1, have been ready; a first backfill has not. */
async function checkReadySince(db: MigrationDb, dialect: DialectName, schema?: string) {
  const migrator = testMigrator(db, dialect, schema);
  expect((await migrator.migrateTo('0008-scores-by-profile')).error).toBeUndefined();
  await db.insertInto('workspaces').values({ id: 'w', name: 'W', created_at: 1 }).execute();
  const segment = (id: string, status: string, version: number, finishedAt: number | null) => ({
    id,
    workspace_id: 'w',
    name: id,
    kind: 'live',
    rule: null,
    version,
    status,
    backfill_finished_at: finishedAt,
    created_at: 1,
    updated_at: 50,
  });
  await db
    .insertInto('segments')
    .values([
      segment('ready', 'ready', 1, 40),
      segment('changing', 'backfilling', 3, null),
      segment('first', 'backfilling', 1, null),
    ])
    .execute();
  expect((await migrator.migrateToLatest()).error).toBeUndefined();
  const rows = await db.selectFrom('segments').select(['id', 'ready_since']).orderBy('id').execute();
  expect(rows.map((row) => [row.id, row.ready_since === null ? null : Number(row.ready_since)])).toEqual([
    ['changing', 50],
    ['first', null],
    ['ready', 40],
  ]);
}

describe('migration 0009-segment-ready-since', () => {
  it('marks the segments that have been ready on SQLite', async () => {
    const db: MigrationDb = new Kysely({
      dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }),
    });
    try {
      await checkReadySince(db, 'sqlite');
    } finally {
      await db.destroy();
    }
  });

  it('marks the segments that have been ready on PostgreSQL', async () => {
    const schema = await createTestSchema();
    const db: MigrationDb = new Kysely({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.urlWithSchema, max: 2 }) }),
    });
    try {
      await checkReadySince(db, 'postgres', schema.schema);
    } finally {
      await db.destroy();
      await schema.drop();
    }
  });
});
