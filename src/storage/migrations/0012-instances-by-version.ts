import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * Whether any instance is still active on a journey version (what removing a segment, score model
 * or stage asks of every version): one index seek, not a walk over every active instance of the
 * journey, under the locks those changes hold.
 */
export const instancesByVersion: DialectMigration = () => ({
  async up(db: MigrationDb) {
    await db.schema
      .createIndex('journey_instances_version')
      .on('journey_instances')
      .columns(['journey_id', 'status', 'version'])
      .execute();
  },
});
