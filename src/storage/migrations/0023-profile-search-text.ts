import { sql } from 'kysely';
import type { Traits } from '../../core/profile.js';
import { searchTextOf } from '../profile-search.js';
import type { DialectMigration, DialectName, MigrationDb } from './migrations.js';

/** Profiles per read and per update while filling the column in: no statement grows with the table. */
const BACKFILL_BATCH = 500;

/**
 * Profiles are searched by `search_text`, their trait values as `searchTextOf` writes them, instead of
 * the traits' JSON text (which matched trait names and JSON's escapes). Existing profiles get theirs
 * here, computed by the same function as every write after, in id order a batch at a time.
 */
export const profileSearchText: DialectMigration = (dialect) => ({
  async up(db: MigrationDb) {
    await db.schema
      .alterTable('profiles')
      .addColumn('search_text', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    // Every id sorts after the empty string.
    let after = '';
    for (;;) {
      const rows: Array<{ id: string; traits: unknown }> = await db
        .selectFrom('profiles')
        .select(['id', 'traits'])
        .where('id', '>', after)
        .orderBy('id')
        .limit(BACKFILL_BATCH)
        .execute();
      const last = rows.at(-1);
      if (last === undefined) return;
      after = last.id;
      const computed = rows
        .map((row) => ({ id: row.id, text: searchTextOf(traitsOf(row.traits, dialect)) }))
        // Empty is what the column holds already: a profile without traits (a visitor) is not written.
        .filter((row) => row.text !== '');
      if (computed.length === 0) continue;
      await sql`
        with computed (id, search_text) as (values ${sql.join(computed.map((row) => sql`(${row.id}, ${row.text})`))})
        update profiles set search_text = computed.search_text
        from computed where profiles.id = computed.id`.execute(db);
    }
  },
});

/** jsonb arrives parsed from PostgreSQL; SQLite keeps the JSON text. */
function traitsOf(value: unknown, dialect: DialectName): Traits {
  return (dialect === 'postgres' ? value : JSON.parse(value as string)) as Traits;
}
