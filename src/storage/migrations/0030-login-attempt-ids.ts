import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * A log-in is noted before its password is checked, so that guesses sent at once are counted as they
 * arrive; each note carries its attempt's id, to take back the one that turns out right (or refused).
 */
export const loginAttemptIds: DialectMigration = () => ({
  async up(db: MigrationDb) {
    await db.schema.alterTable('login_failures').addColumn('attempt', 'text').execute();
    await db.schema.createIndex('login_failures_attempt').on('login_failures').column('attempt').execute();
  },
});
