import { type CreateTableBuilder, sql } from 'kysely';
import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * Per profile, the next moment time alone (a negative award fading, a fit rule starting to hold) may
 * take one of its scores over a stage's threshold: the stage moves then, not at its next event. Like
 * segment timers, only ever brought forward: one that fires early finds nothing to move and sets the next.
 */
export const stageTimers: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  const isSqlite = dialect === 'sqlite';
  return {
    async up(db: MigrationDb) {
      const keyed = (table: CreateTableBuilder<string, string>) =>
        isSqlite ? table.modifyEnd(sql`without rowid`) : table;
      await keyed(
        db.schema
          .createTable('stage_timers')
          .addColumn('profile_id', 'text', (c) => c.primaryKey())
          .addColumn('workspace_id', 'text', (c) => c.notNull())
          .addColumn('due_at', int64, (c) => c.notNull()),
      ).execute();
      await db.schema.createIndex('stage_timers_due').on('stage_timers').columns(['due_at']).execute();
    },
  };
};
