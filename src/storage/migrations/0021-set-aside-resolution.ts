import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * An operator may retry or dismiss what was set aside: the record stays, for audit, with when, how
 * (`retried`, `dismissed`) and by whom. Null while unresolved, which is what lists and gauges count.
 */
export const setAsideResolution: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      for (const table of ['set_aside_events', 'set_aside_timers']) {
        await db.schema.alterTable(table).addColumn('resolved_at', int64).execute();
        await db.schema.alterTable(table).addColumn('resolution', 'text').execute();
        await db.schema.alterTable(table).addColumn('resolved_by', 'text').execute();
      }
    },
  };
};
