import { sql } from 'kysely';
import { phoneNumberOf } from '../../core/phone-number.js';
import type { DialectMigration, MigrationDb } from './migrations.js';
import { fillProfileColumn } from './profile-column-fill.js';

/**
 * Profiles keep their `phone` trait in E.164 form (`phone_number`, as the SMS channel reads it), indexed
 * for the few that have one: a STOP or START texted in finds the profiles holding its number through
 * the index, instead of reading every profile's search text in the transaction that records it (seconds
 * at a million profiles, with SQLite's write lock held). Existing profiles get theirs here, computed by
 * the same function as every write after.
 */
export const profilePhoneNumbers: DialectMigration = (dialect) => ({
  async up(db: MigrationDb) {
    await db.schema.alterTable('profiles').addColumn('phone_number', 'text').execute();
    await fillProfileColumn(db, dialect, 'phone_number', (traits) => phoneNumberOf({ traits }));
    await sql`
      create index profiles_phone_number on profiles (workspace_id, phone_number)
      where phone_number is not null`.execute(db);
  },
});
