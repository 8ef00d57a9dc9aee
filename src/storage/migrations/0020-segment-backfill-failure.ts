import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * Why a segment's backfill stopped: it failed the same way at every attempt while the database
 * answered. Null while it runs or once done; saving the segment again starts a new one.
 */
export const segmentBackfillFailure: DialectMigration = () => ({
  async up(db: MigrationDb) {
    await db.schema.alterTable('segments').addColumn('backfill_failure', 'text').execute();
  },
});
