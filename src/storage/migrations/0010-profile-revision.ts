import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * A count of a profile's writes: identity resolution decides from reads made before it takes the
 * write lock, and a journey's update_traits may commit between its read and its write. Each writer
 * writes only over the revision it read, so neither overwrites traits the other just set.
 */
export const profileRevision: DialectMigration = (dialect) => ({
  async up(db: MigrationDb) {
    // 64 bits: a profile every batch touches (a shared server-side user id) counts up for years.
    const { int64 } = columnTypes(dialect);
    await db.schema
      .alterTable('profiles')
      .addColumn('revision', int64, (c) => c.notNull().defaultTo(0))
      .execute();
  },
});
