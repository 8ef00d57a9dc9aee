import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * An address keeps one suppression, under the reason that holds most: a bounce, a complaint or an
 * admin's hand over an e-mail unsubscribe, a number's STOP over anything. The reason it replaced is
 * kept beside it, so that lifting the stronger one (a bounce reported in error, the contact's START)
 * brings the other back instead of losing a contact's opt-out.
 */
export const suppressionsKeepReplaced: DialectMigration = () => ({
  async up(db: MigrationDb) {
    await db.schema.alterTable('suppressions').addColumn('replaced_reason', 'text').execute();
  },
});
