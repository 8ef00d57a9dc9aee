import type { DialectMigration, MigrationDb } from './migrations.js';

/** The contacts list filtered by lifecycle stage reads a workspace's profiles at one stage. */
export const profilesByStage: DialectMigration = () => ({
  async up(db: MigrationDb) {
    await db.schema
      .createIndex('profile_stages_stage')
      .on('profile_stages')
      .columns(['workspace_id', 'stage'])
      .execute();
  },
});
