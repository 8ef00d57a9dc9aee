import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * The contacts list filtered by lifecycle stage reads a workspace's profiles at one stage; the
 * dashboard's lifecycle funnel counts them per stage, and the stage moves of a time range.
 */
export const stageIndexes: DialectMigration = () => ({
  async up(db: MigrationDb) {
    await db.schema
      .createIndex('profile_stages_stage')
      .on('profile_stages')
      .columns(['workspace_id', 'stage'])
      .execute();
    await db.schema
      .createIndex('stage_history_workspace_at')
      .on('stage_history')
      .columns(['workspace_id', 'at'])
      .execute();
  },
});
