import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * The provider's id of every inbound text acted on. Its signature carries no time, so a captured
 * request (an old START) could be sent again to undo a later STOP; the provider also retries a
 * webhook whose answer it did not get. A text already seen is not acted on again.
 */
export const inboundTextsSchema: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('inbound_texts')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('message_sid', 'text', (c) => c.notNull())
        .addColumn('from_address', 'text', (c) => c.notNull())
        .addColumn('received_at', int64, (c) => c.notNull())
        .addPrimaryKeyConstraint('inbound_texts_pk', ['workspace_id', 'message_sid'])
        .execute();
    },
  };
};
