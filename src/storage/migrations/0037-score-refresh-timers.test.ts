import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testMigrator } from '../../test-support/migrator.js';
import { createTestSchema } from '../../test-support/postgres.js';
import type { DialectName, MigrationDb } from './migrations.js';

/** Scores of a database at 0036: each becomes its current score too, and its profile's refresh due at once. */
async function checkScoreRefreshTimers(db: MigrationDb, dialect: DialectName, schema?: string) {
  const migrator = testMigrator(db, dialect, schema);
  expect((await migrator.migrateTo('0036-sms-links')).error).toBeUndefined();
  const score = (profile: string, model: string, value: number) => ({
    profile_id: profile,
    model,
    workspace_id: 'w',
    score: value,
    updated_at: 1,
    model_revision: null,
  });
  await db
    .insertInto('profile_scores')
    .values([score('p1', 'engagement', 42.5), score('p1', 'fit', 20), score('p2', 'engagement', -15)])
    .execute();
  expect((await migrator.migrateToLatest()).error).toBeUndefined();
  const scores = await db
    .selectFrom('profile_scores')
    .select(['profile_id', 'model', 'score', 'current_score'])
    .orderBy('profile_id')
    .orderBy('model')
    .execute();
  expect(
    scores.map((row) => [row.profile_id, row.model, Number(row.score), Number(row.current_score)]),
  ).toEqual([
    ['p1', 'engagement', 42.5, 42.5],
    ['p1', 'fit', 20, 20],
    ['p2', 'engagement', -15, -15],
  ]);
  const timers = await db.selectFrom('score_refresh_timers').selectAll().orderBy('profile_id').execute();
  expect(timers.map((row) => [row.profile_id, row.workspace_id, Number(row.due_at)])).toEqual([
    ['p1', 'w', 0],
    ['p2', 'w', 0],
  ]);
  // Stage timers, which journeys wait for, are left alone.
  expect(await db.selectFrom('stage_timers').selectAll().execute()).toEqual([]);
}

describe('migration 0037-score-refresh-timers', () => {
  it('copies scores as current ones and makes their refreshes due on SQLite', async () => {
    const db: MigrationDb = new Kysely({
      dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }),
    });
    try {
      await checkScoreRefreshTimers(db, 'sqlite');
    } finally {
      await db.destroy();
    }
  });

  it('copies scores as current ones and makes their refreshes due on PostgreSQL', async () => {
    const schema = await createTestSchema();
    const db: MigrationDb = new Kysely({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.urlWithSchema, max: 2 }) }),
    });
    try {
      await checkScoreRefreshTimers(db, 'postgres', schema.schema);
    } finally {
      await db.destroy();
      await schema.drop();
    }
  });
});
