import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * Failed log-ins, kept in the database rather than a process's memory: every API process sharing a
 * database counts the same guesses, and a restart forgets none.
 */
export const loginFailures: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('login_failures')
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('at', int64, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('login_failures_key').on('login_failures').columns(['key', 'at']).execute();
      await db.schema.createIndex('login_failures_at').on('login_failures').column('at').execute();
    },
  };
};
