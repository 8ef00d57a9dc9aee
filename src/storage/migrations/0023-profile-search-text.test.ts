import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testMigrator } from '../../test-support/migrator.js';
import { createTestSchema } from '../../test-support/postgres.js';
import { chunks } from '../chunks.js';
import type { DialectName, MigrationDb } from './migrations.js';

/** More than two of the migration's batches, so rows past the first batch are filled in too. */
const PROFILES = 1_201;

const traitsOf = (i: number) =>
  i % 3 === 0
    ? {}
    : { email: `P${i}@Example.com`, address: { city: 'Zürich', lines: [`${i} "Quay" Road`] }, vip: true };

/** Profiles stored before 0023 get the search text of their trait values; later ones start empty. */
async function checkBackfill(db: MigrationDb, dialect: DialectName, schema?: string) {
  const migrator = testMigrator(db, dialect, schema);
  expect((await migrator.migrateTo('0022-owed-hand-offs')).error).toBeUndefined();
  const rows = Array.from({ length: PROFILES }, (_, i) => ({
    id: `prf_${String(i).padStart(5, '0')}`,
    workspace_id: 'w',
    user_id: null,
    traits: JSON.stringify(traitsOf(i)),
    trait_times: '{}',
    first_seen_at: 1,
    last_seen_at: 1,
    created_at: 1,
    updated_at: 1,
    merged_into: null,
  }));
  for (const chunk of chunks(rows, 200)) await db.insertInto('profiles').values(chunk).execute();
  expect((await migrator.migrateToLatest()).error).toBeUndefined();

  const stored = await db.selectFrom('profiles').select(['id', 'search_text']).orderBy('id').execute();
  expect(stored).toEqual(
    rows.map((row, i) => ({
      id: row.id,
      search_text: i % 3 === 0 ? '' : `p${i}@example.com\nzürich\n${i} "quay" road`,
    })),
  );
  await db
    .insertInto('profiles')
    .values({ ...rows[0], id: 'prf_later' })
    .execute();
  const later = await db
    .selectFrom('profiles')
    .select('search_text')
    .where('id', '=', 'prf_later')
    .executeTakeFirst();
  expect(later).toEqual({ search_text: '' });
}

describe('migration 0023-profile-search-text', () => {
  it('fills in the search text of every existing profile on SQLite', async () => {
    const db: MigrationDb = new Kysely({
      dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }),
    });
    try {
      await checkBackfill(db, 'sqlite');
    } finally {
      await db.destroy();
    }
  });

  it('fills in the search text of every existing profile on PostgreSQL', async () => {
    const schema = await createTestSchema();
    const db: MigrationDb = new Kysely({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.urlWithSchema, max: 2 }) }),
    });
    try {
      await checkBackfill(db, 'postgres', schema.schema);
    } finally {
      await db.destroy();
      await schema.drop();
    }
  });
});
