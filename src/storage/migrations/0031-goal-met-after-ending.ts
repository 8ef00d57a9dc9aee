import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * When an instance that had already ended (reached its exit, left its segment) met its journey's goal
 * within the goal's `within`: the journey converted the contact all the same, and its report counts it.
 */
export const goalMetAfterEnding: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await db.schema.alterTable('journey_instances').addColumn('goal_met_after_ending_at', int64).execute();
    },
  };
};
