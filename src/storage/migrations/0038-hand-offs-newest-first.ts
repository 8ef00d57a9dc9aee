import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * The hand-offs list reads a workspace's hand-offs newest first by when they were made: an owed one,
 * made late, keeps the id it was owed under, so the id no longer gives that order.
 */
export const handOffsNewestFirst: DialectMigration = () => ({
  async up(db: MigrationDb) {
    await db.schema
      .createIndex('hand_offs_workspace_created')
      .on('hand_offs')
      .columns(['workspace_id', 'created_at', 'id'])
      .execute();
  },
});
