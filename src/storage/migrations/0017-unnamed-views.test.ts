import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testMigrator } from '../../test-support/migrator.js';
import { createTestSchema } from '../../test-support/postgres.js';
import type { DialectName, MigrationDb } from './migrations.js';

/** Events of a database at 0016: unnamed page and screen calls get their view name, nothing else moves. */
async function checkUnnamedViews(db: MigrationDb, dialect: DialectName, schema?: string) {
  const migrator = testMigrator(db, dialect, schema);
  expect((await migrator.migrateTo('0016-score-model-revision')).error).toBeUndefined();
  await db.insertInto('workspaces').values({ id: 'w', name: 'W', created_at: 1 }).execute();
  const event = (messageId: string, type: string, name: string | null) => ({
    workspace_id: 'w',
    message_id: messageId,
    type,
    name,
    user_id: 'u',
    timestamp: 1,
    received_at: 1,
    payload: JSON.stringify({ type, ...(name === null ? {} : { name }) }),
  });
  await db
    .insertInto('events')
    .values([
      event('unnamed-page', 'page', null),
      event('blank-page', 'page', '  '),
      event('named-page', 'page', 'Pricing'),
      event('unnamed-screen', 'screen', null),
      event('identify', 'identify', null),
      event('track', 'track', 'Order Completed'),
    ])
    .execute();
  expect((await migrator.migrateToLatest()).error).toBeUndefined();
  const rows = await db
    .selectFrom('events')
    .select(['message_id', 'name', 'payload'])
    .orderBy('id')
    .execute();
  expect(rows.map((row) => [row.message_id, row.name])).toEqual([
    ['unnamed-page', 'Page Viewed'],
    ['blank-page', 'Page Viewed'],
    ['named-page', 'Pricing'],
    ['unnamed-screen', 'Screen Viewed'],
    ['identify', null],
    ['track', 'Order Completed'],
  ]);
  const payload = rows[0]?.payload;
  expect(typeof payload === 'string' ? JSON.parse(payload) : payload).toEqual({ type: 'page' });
}

describe('migration 0017-unnamed-views', () => {
  it('names unnamed page and screen calls on SQLite', async () => {
    const db: MigrationDb = new Kysely({
      dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }),
    });
    try {
      await checkUnnamedViews(db, 'sqlite');
    } finally {
      await db.destroy();
    }
  });

  it('names unnamed page and screen calls on PostgreSQL', async () => {
    const schema = await createTestSchema();
    const db: MigrationDb = new Kysely({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.urlWithSchema, max: 2 }) }),
    });
    try {
      await checkUnnamedViews(db, 'postgres', schema.schema);
    } finally {
      await db.destroy();
      await schema.drop();
    }
  });
});
