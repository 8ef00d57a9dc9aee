import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * A model's scored profiles in profile order: the score distribution recomputes scores that decay
 * page by page, and without it each page sorted every stored score of the model again.
 */
export const scoresByProfile: DialectMigration = () => ({
  async up(db: MigrationDb) {
    await db.schema
      .createIndex('profile_scores_by_profile')
      .on('profile_scores')
      .columns(['workspace_id', 'model', 'profile_id'])
      .execute();
  },
});
