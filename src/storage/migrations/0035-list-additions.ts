import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * Imported contacts waiting to be added to a static segment (see `ListAddition`): one row per import
 * that asked for it, with the contacts it named.
 */
export const listAdditions: DialectMigration = (dialect) => {
  const { int64, json } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('list_additions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('segment_id', 'text', (c) => c.notNull())
        .addColumn('user_ids', json, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('matched', int64, (c) => c.notNull())
        .addColumn('unmatched', int64, (c) => c.notNull())
        .addColumn('added', int64, (c) => c.notNull())
        .addColumn('requested_at', int64, (c) => c.notNull())
        .addColumn('finished_at', int64)
        .addColumn('reason', 'text')
        .execute();
      await db.schema
        .createIndex('list_additions_waiting')
        .on('list_additions')
        .columns(['status', 'requested_at'])
        .execute();
    },
  };
};
