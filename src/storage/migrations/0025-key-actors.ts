import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * Who created and who revoked each API key: the id of the user (a session) or of the secret key that
 * called the admin API; null for the command line, which has no caller to name, and for what was done
 * before this migration. Plain ids, no foreign keys: a user or key removed later still created what it
 * created.
 */
export const keyActors: DialectMigration = () => ({
  async up(db: MigrationDb) {
    await db.schema.alterTable('api_keys').addColumn('created_by', 'text').execute();
    await db.schema.alterTable('api_keys').addColumn('revoked_by', 'text').execute();
  },
});
