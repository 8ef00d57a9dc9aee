import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testMigrator } from '../../test-support/migrator.js';
import { createTestSchema } from '../../test-support/postgres.js';
import { chunks } from '../chunks.js';
import type { DialectName, MigrationDb } from './migrations.js';

/** More than two of the migration's batches, so rows past the first batch are filled in too. */
const PROFILES = 1_201;

/** A third with a number in international form, a third with a national one (no country), a third with none. */
const traitsOf = (i: number) =>
  i % 3 === 0
    ? { phone: `+39 347 ${String(1_000_000 + i).slice(1, 4)}-${String(10_000 + i).slice(1)}` }
    : i % 3 === 1
      ? { phone: `347 ${i}` }
      : { email: `p${i}@example.com` };

/** Profiles stored before 0027 get their phone number in E.164 form, found through the index. */
async function checkBackfill(db: MigrationDb, dialect: DialectName, schema?: string) {
  const migrator = testMigrator(db, dialect, schema);
  expect((await migrator.migrateTo('0026-messages-by-address')).error).toBeUndefined();
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

  const stored = await db.selectFrom('profiles').select(['id', 'phone_number']).orderBy('id').execute();
  expect(stored).toEqual(
    rows.map((row, i) => ({
      id: row.id,
      phone_number:
        i % 3 === 0 ? `+39347${String(1_000_000 + i).slice(1, 4)}${String(10_000 + i).slice(1)}` : null,
    })),
  );
  expect(stored[1200]).toEqual({ id: 'prf_01200', phone_number: '+393470011200' });

  // The look-up a text's STOP makes reads the index, not every profile.
  const lookUp = sql`select id from profiles
    where workspace_id = ${'w'} and phone_number = ${'+393470011200'} and merged_into is null`;
  await db.connection().execute(async (connection) => {
    if (dialect === 'postgres') await sql`set enable_seqscan = off`.execute(connection);
    const plan =
      dialect === 'postgres'
        ? await sql<Record<string, string>>`explain ${lookUp}`.execute(connection)
        : await sql<Record<string, string>>`explain query plan ${lookUp}`.execute(connection);
    expect(plan.rows.map((row) => Object.values(row).join(' ')).join('\n')).toContain(
      'profiles_phone_number',
    );
    if (dialect === 'postgres') await sql`reset enable_seqscan`.execute(connection);
  });
}

describe('migration 0027-profile-phone-numbers', () => {
  it('fills in the phone number of every existing profile on SQLite', async () => {
    const db: MigrationDb = new Kysely({
      dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }),
    });
    try {
      await checkBackfill(db, 'sqlite');
    } finally {
      await db.destroy();
    }
  });

  it('fills in the phone number of every existing profile on PostgreSQL', async () => {
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
