import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * Which revision of its model each stored score was computed under: after a model's rules change,
 * the stored scores are those of the old rules until each profile scores again, and the score
 * distribution must not count them as current.
 */
export const scoreModelRevision: DialectMigration = () => ({
  async up(db: MigrationDb) {
    await db.schema.alterTable('profile_scores').addColumn('model_revision', 'text').execute();
  },
});
