import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * Events a consumer of the log could not process (an error at every attempt while the database
 * answered), kept with the error: the consumer moves on past them instead of stopping for good.
 */
export const setAsideEvents: DialectMigration = (dialect) => {
  const { int64, serialTable } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await serialTable(db, 'set_aside_events')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('consumer', 'text', (c) => c.notNull())
        .addColumn('event_id', int64, (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('name', 'text')
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('set_aside_at', int64, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('set_aside_events_workspace')
        .on('set_aside_events')
        .columns(['workspace_id', 'id'])
        .execute();
    },
  };
};
