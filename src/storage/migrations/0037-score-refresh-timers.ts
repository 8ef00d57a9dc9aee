import { type CreateTableBuilder, sql } from 'kysely';
import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * Scores as they stand now, for ranking contacts: `current_score` is the score stored at the
 * profile's last scored event (`score`, which stage decisions keep reading) brought up to date as
 * decay or a timed fit rule moves it, by a timer per profile (`score_refresh_timers`, only ever
 * brought forward). Every scored profile's timer is made due at once, so that the scores stored
 * before are brought up to date in the background.
 */
export const scoreRefreshTimers: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  const isSqlite = dialect === 'sqlite';
  return {
    async up(db: MigrationDb) {
      await db.schema
        .alterTable('profile_scores')
        .addColumn('current_score', isSqlite ? 'real' : 'double precision')
        .execute();
      await sql`update profile_scores set current_score = score`.execute(db);
      await db.schema
        .createIndex('profile_scores_ranked')
        .on('profile_scores')
        .columns(['workspace_id', 'model', 'current_score', 'profile_id'])
        .execute();
      const keyed = (table: CreateTableBuilder<string, string>) =>
        isSqlite ? table.modifyEnd(sql`without rowid`) : table;
      await keyed(
        db.schema
          .createTable('score_refresh_timers')
          .addColumn('profile_id', 'text', (c) => c.primaryKey())
          .addColumn('workspace_id', 'text', (c) => c.notNull())
          .addColumn('due_at', int64, (c) => c.notNull()),
      ).execute();
      await db.schema
        .createIndex('score_refresh_timers_due')
        .on('score_refresh_timers')
        .columns(['due_at'])
        .execute();
      await sql`
        insert into score_refresh_timers (profile_id, workspace_id, due_at)
        select profile_id, min(workspace_id), 0 from profile_scores group by profile_id`.execute(db);
    },
  };
};
