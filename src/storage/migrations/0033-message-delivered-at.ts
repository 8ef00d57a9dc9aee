import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * When the provider reported a text delivered to the handset (an SMS delivery receipt). A text it
 * reported undelivered is marked bounced, as an e-mail is.
 */
export const messageDeliveredAt: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await db.schema.alterTable('messages').addColumn('delivered_at', int64).execute();
    },
  };
};
