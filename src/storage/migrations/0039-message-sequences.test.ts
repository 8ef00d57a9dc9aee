import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testMigrator } from '../../test-support/migrator.js';
import { createTestSchema } from '../../test-support/postgres.js';
import type { DialectName, MigrationDb } from './migrations.js';

/** Messages of a database at 0038: the hand-off calls still waiting join their lead's sequence, nothing else does. */
async function checkMessageSequences(db: MigrationDb, dialect: DialectName, schema?: string) {
  const migrator = testMigrator(db, dialect, schema);
  expect((await migrator.migrateTo('0038-hand-offs-newest-first')).error).toBeUndefined();
  const call = (id: string, options: { key: string; status: string; journeyId?: string }) => ({
    id,
    workspace_id: 'w',
    profile_id: 'p',
    journey_id: options.journeyId ?? null,
    channel: 'webhook',
    when_not_allowed: 'defer',
    status: options.status,
    idempotency_key: options.key,
    context: JSON.stringify({ webhook: { destination: 'crm', path: '/', method: 'POST', body: '{}' } }),
    created_at: 1,
    updated_at: 1,
  });
  await db
    .insertInto('messages')
    .values([
      call('m1', { key: 'hof_1:created', status: 'deferred' }),
      call('m2', { key: 'hof_1:recycled', status: 'queued' }),
      call('m3', { key: 'hof_2:created', status: 'sent' }),
      call('m4', { key: 'ins_1:step', status: 'queued', journeyId: 'j' }),
    ])
    .execute();
  expect((await migrator.migrateToLatest()).error).toBeUndefined();
  const rows = await db.selectFrom('messages').select(['id', 'sequence']).orderBy('id').execute();
  expect(rows).toEqual([
    { id: 'm1', sequence: 'hand-off:crm' },
    { id: 'm2', sequence: 'hand-off:crm' },
    { id: 'm3', sequence: null },
    { id: 'm4', sequence: null },
  ]);
}

describe('migration 0039-message-sequences', () => {
  it('puts the hand-off calls still waiting in their sequence on SQLite', async () => {
    const db: MigrationDb = new Kysely({
      dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }),
    });
    try {
      await checkMessageSequences(db, 'sqlite');
    } finally {
      await db.destroy();
    }
  });

  it('puts the hand-off calls still waiting in their sequence on PostgreSQL', async () => {
    const schema = await createTestSchema();
    const db: MigrationDb = new Kysely({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.urlWithSchema, max: 2 }) }),
    });
    try {
      await checkMessageSequences(db, 'postgres', schema.schema);
    } finally {
      await db.destroy();
      await schema.drop();
    }
  });
});
