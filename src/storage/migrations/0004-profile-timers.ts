import { type CreateTableBuilder, sql } from 'kysely';
import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * One segment timer per profile instead of one per segment and profile: the next moment any of its
 * time-dependent segments may change (it is only ever brought forward; one that fires early finds
 * nothing changed and sets the next). Three index writes per segment and profile become one row per
 * profile, read with a key lookup.
 */
export const profileTimersSchema: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  const isSqlite = dialect === 'sqlite';

  return {
    async up(db: MigrationDb) {
      const keyed = (table: CreateTableBuilder<string, string>) =>
        isSqlite ? table.modifyEnd(sql`without rowid`) : table;
      await keyed(
        db.schema
          .createTable('segment_profile_timers')
          .addColumn('profile_id', 'text', (c) => c.primaryKey())
          .addColumn('workspace_id', 'text', (c) => c.notNull())
          .addColumn('due_at', int64, (c) => c.notNull()),
      ).execute();
      await sql`
        insert into segment_profile_timers (profile_id, workspace_id, due_at)
        select profile_id, min(workspace_id), min(due_at) from segment_timers group by profile_id`.execute(
        db,
      );
      await db.schema.dropTable('segment_timers').execute();
      await db.schema
        .createIndex('segment_profile_timers_due')
        .on('segment_profile_timers')
        .columns(['due_at'])
        .execute();
    },
  };
};
