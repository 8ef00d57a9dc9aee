import { sql } from 'kysely';
import { phoneNumberOf } from '../../core/phone-number.js';
import type { Traits } from '../../core/profile.js';
import type { DialectMigration, DialectName, MigrationDb } from './migrations.js';

/** Profiles per read and per update while filling the column in: no statement grows with the table. */
const BACKFILL_BATCH = 500;

/**
 * Profiles keep their `phone` trait in E.164 form (`phone_number`, as the SMS channel reads it), indexed
 * for the few that have one: a STOP or START texted in finds the profiles holding its number through
 * the index, instead of reading every profile's search text in the transaction that records it (seconds
 * at a million profiles, with SQLite's write lock held). Existing profiles get theirs here, computed by
 * the same function as every write after, in id order a batch at a time.
 */
export const profilePhoneNumbers: DialectMigration = (dialect) => ({
  async up(db: MigrationDb) {
    await db.schema.alterTable('profiles').addColumn('phone_number', 'text').execute();
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
      if (last === undefined) break;
      after = last.id;
      const computed = rows.flatMap((row) => {
        const phoneNumber = phoneNumberOf({ traits: traitsOf(row.traits, dialect) });
        return phoneNumber === undefined ? [] : [{ id: row.id, phoneNumber }];
      });
      if (computed.length === 0) continue;
      await sql`
        with computed (id, phone_number) as (values ${sql.join(computed.map((row) => sql`(${row.id}, ${row.phoneNumber})`))})
        update profiles set phone_number = computed.phone_number
        from computed where profiles.id = computed.id`.execute(db);
    }
    await sql`
      create index profiles_phone_number on profiles (workspace_id, phone_number)
      where phone_number is not null`.execute(db);
  },
});

/** jsonb arrives parsed from PostgreSQL; SQLite keeps the JSON text. */
function traitsOf(value: unknown, dialect: DialectName): Traits {
  return (dialect === 'postgres' ? value : JSON.parse(value as string)) as Traits;
}
