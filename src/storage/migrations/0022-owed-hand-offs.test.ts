import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testMigrator } from '../../test-support/migrator.js';
import { createTestSchema } from '../../test-support/postgres.js';
import type { DialectName, MigrationDb } from './migrations.js';

/** Hand-offs of a database at 0021 stay as they were; one with no owner can be written after. */
async function checkOwedHandOffs(db: MigrationDb, dialect: DialectName, schema?: string) {
  const migrator = testMigrator(db, dialect, schema);
  expect((await migrator.migrateTo('0021-set-aside-resolution')).error).toBeUndefined();
  const handOff = {
    id: 'hof_1',
    workspace_id: 'w',
    profile_id: 'prf_1',
    owner: 'marco',
    status: 'accepted',
    message_id: 'msg_1',
    created_at: 1,
    due_at: 2,
    accepted_at: 3,
    breached_at: null,
  };
  await db.insertInto('hand_offs').values(handOff).execute();
  expect((await migrator.migrateToLatest()).error).toBeUndefined();
  await db
    .insertInto('hand_offs')
    .values({
      ...handOff,
      id: 'hof_2',
      owner: null,
      status: 'awaiting_identity',
      message_id: null,
      accepted_at: null,
      owed_at: 1,
    })
    .execute();
  const rows = await db.selectFrom('hand_offs').selectAll().orderBy('id').execute();
  // PostgreSQL reads bigints back as strings.
  const asNumber = (value: unknown) => (value === null ? null : Number(value));
  expect(
    rows.map((row) => ({
      id: row.id,
      owner: row.owner,
      status: row.status,
      message_id: row.message_id,
      accepted_at: asNumber(row.accepted_at),
      owed_at: asNumber(row.owed_at),
      dropped_reason: row.dropped_reason,
    })),
  ).toEqual([
    {
      id: 'hof_1',
      owner: 'marco',
      status: 'accepted',
      message_id: 'msg_1',
      accepted_at: 3,
      owed_at: null,
      dropped_reason: null,
    },
    {
      id: 'hof_2',
      owner: null,
      status: 'awaiting_identity',
      message_id: null,
      accepted_at: null,
      owed_at: 1,
      dropped_reason: null,
    },
  ]);
}

describe('migration 0022-owed-hand-offs', () => {
  it('keeps hand-offs and lets one be owed without an owner on SQLite', async () => {
    const db: MigrationDb = new Kysely({
      dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }),
    });
    try {
      await checkOwedHandOffs(db, 'sqlite');
    } finally {
      await db.destroy();
    }
  });

  it('keeps hand-offs and lets one be owed without an owner on PostgreSQL', async () => {
    const schema = await createTestSchema();
    const db: MigrationDb = new Kysely({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.urlWithSchema, max: 2 }) }),
    });
    try {
      await checkOwedHandOffs(db, 'postgres', schema.schema);
    } finally {
      await db.destroy();
      await schema.drop();
    }
  });
});
