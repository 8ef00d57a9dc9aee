import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestSchema, type TestSchema, testDatabaseUrl } from '../../test-support/postgres.js';
import { withTablesOf } from './schema-introspection.js';

/**
 * Test suites side by side on one server create and drop schemas all the time; Kysely's migrator once
 * failed now and then ("schema … does not exist") because its table lookup checked every schema.
 * A transaction that took its snapshot before another schema was dropped shows it every time.
 */
describe('table introspection kept to one schema (PostgreSQL)', () => {
  let ours: TestSchema;
  let other: TestSchema;
  let db: Kysely<unknown>;

  beforeEach(async () => {
    ours = await createTestSchema();
    other = await createTestSchema();
    db = new Kysely({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: ours.urlWithSchema, max: 1 }) }),
    });
    await sql`create table mine (id int)`.execute(db);
    // A table there too: whichever plan the server picks for Kysely's lookup (its schema check on
    // each namespace, or on each column found), it meets the dropped schema.
    await sql`create table ${sql.id(other.schema, 'theirs')} (id int)`.execute(db);
  });
  afterEach(async () => {
    await db.destroy();
    await ours.drop();
    await other.drop();
  });

  it('finds its tables while another schema is dropped under it, where Kysely’s lookup fails', async () => {
    const dropper = new pg.Client({ connectionString: testDatabaseUrl() });
    await dropper.connect();
    try {
      await db.transaction().execute(async (trx) => {
        await sql`set transaction isolation level repeatable read`.execute(trx);
        await sql`select 1`.execute(trx); // the snapshot: the other schema is there
        await dropper.query(`drop schema ${other.schema} cascade`);
        await sql`savepoint kysely_lookup`.execute(trx);
        await expect(trx.introspection.getTables()).rejects.toThrow(/does not exist/);
        await sql`rollback to savepoint kysely_lookup`.execute(trx);
        expect(await withTablesOf(trx, ours.schema).introspection.getTables()).toEqual([
          { name: 'mine', schema: ours.schema, isView: false, columns: [] },
        ]);
      });
    } finally {
      await dropper.end();
    }
  });
});
