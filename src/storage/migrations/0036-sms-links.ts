import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * The links of texts sent with link tracking, by their short code (`{publicUrl}/s/{code}`): which
 * message each belongs to and where it goes.
 */
export const smsLinks: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('sms_links')
        .addColumn('code', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .execute();
    },
  };
};
