import { sql } from 'kysely';
import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * A count of a profile's writes: identity resolution decides from reads made before it takes the
 * write lock, and a journey's update_traits may commit between its read and its write. Each writer
 * writes only over the revision it read, so neither overwrites traits the other just set.
 */
export const profileRevision: DialectMigration = () => ({
  async up(db: MigrationDb) {
    await sql`alter table profiles add column revision integer not null default 0`.execute(db);
  },
});
