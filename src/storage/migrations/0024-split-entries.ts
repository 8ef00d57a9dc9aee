import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * Who took which arm of a journey's split (`arm`), or was held out (`arm` null), and when they met
 * the journey's goal: watched until `watch_until` (null: as long as it takes), even after their
 * instance has ended. A held-out contact leaves the journey at the split, and one in an arm may
 * finish before buying; the goal of each is still what the split is judged on. Entrants before this
 * migration are not counted: held out, they were never watched, and their arms' would be set
 * against nobody.
 */
export const splitEntries: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('journey_split_entries')
        .addColumn('instance_id', 'text', (c) => c.notNull())
        .addColumn('step_id', 'text', (c) => c.notNull())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('journey_id', 'text', (c) => c.notNull())
        .addColumn('arm', 'text')
        .addColumn('watch_until', int64)
        .addColumn('goal_reached_at', int64)
        .addPrimaryKeyConstraint('journey_split_entries_pk', ['instance_id', 'step_id'])
        .execute();
      await db.schema
        .createIndex('journey_split_entries_step')
        .on('journey_split_entries')
        .columns(['journey_id', 'step_id', 'arm'])
        .execute();
    },
  };
};
