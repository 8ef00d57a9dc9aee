import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testMigrator } from '../../test-support/migrator.js';
import { createTestSchema } from '../../test-support/postgres.js';
import type { DialectName, MigrationDb } from './migrations.js';

/** Timers of a database at 0003 (one per segment and profile) become one per profile, the earliest. */
async function checkTimersCarriedOver(db: MigrationDb, dialect: DialectName, schema?: string) {
  const migrator = testMigrator(db, dialect, schema);
  expect((await migrator.migrateTo('0003-segments')).error).toBeUndefined();
  await db
    .insertInto('segment_timers')
    .values([
      { segment_id: 's1', profile_id: 'p1', workspace_id: 'w', due_at: 300 },
      { segment_id: 's2', profile_id: 'p1', workspace_id: 'w', due_at: 100 },
      { segment_id: 's1', profile_id: 'p2', workspace_id: 'w', due_at: 200 },
    ])
    .execute();
  expect((await migrator.migrateToLatest()).error).toBeUndefined();
  const rows = await db
    .selectFrom('segment_profile_timers')
    .select(['profile_id', 'workspace_id', 'due_at'])
    .orderBy('profile_id')
    .execute();
  expect(rows.map((row) => ({ ...row, due_at: Number(row.due_at) }))).toEqual([
    { profile_id: 'p1', workspace_id: 'w', due_at: 100 },
    { profile_id: 'p2', workspace_id: 'w', due_at: 200 },
  ]);
}

describe('migration 0004-profile-timers', () => {
  it('keeps each profile its earliest segment timer on SQLite', async () => {
    const db: MigrationDb = new Kysely({
      dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }),
    });
    try {
      await checkTimersCarriedOver(db, 'sqlite');
      const tables = await sql<{
        name: string;
      }>`select name from sqlite_master where name = 'segment_timers'`.execute(db);
      expect(tables.rows).toEqual([]);
    } finally {
      await db.destroy();
    }
  });

  it('keeps each profile its earliest segment timer on PostgreSQL', async () => {
    const schema = await createTestSchema();
    const db: MigrationDb = new Kysely({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.urlWithSchema, max: 2 }) }),
    });
    try {
      await checkTimersCarriedOver(db, 'postgres', schema.schema);
      const tables = await sql<{ name: string }>`
        select table_name as name from information_schema.tables
        where table_schema = ${schema.schema} and table_name = 'segment_timers'`.execute(db);
      expect(tables.rows).toEqual([]);
    } finally {
      await db.destroy();
      await schema.drop();
    }
  });
});
