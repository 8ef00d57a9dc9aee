import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * Due timers that failed the same way at every attempt while the database answered, kept with the
 * error: the timers after them fire instead of waiting behind them for good.
 */
export const setAsideTimers: DialectMigration = (dialect) => {
  const { int64, serialTable } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await serialTable(db, 'set_aside_timers')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('token', 'text')
        .addColumn('due_at', int64, (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('set_aside_at', int64, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('set_aside_timers_workspace')
        .on('set_aside_timers')
        .columns(['workspace_id', 'id'])
        .execute();
      // The SLA check passes over hand-offs set aside.
      await db.schema
        .createIndex('set_aside_timers_subject')
        .on('set_aside_timers')
        .columns(['subject', 'kind'])
        .execute();
    },
  };
};
