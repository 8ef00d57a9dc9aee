import { sql } from 'kysely';
import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * Score models applied to past events (see `ScoreReplay`): one row per request, with the position
 * reached. At most one runs per model at a time, which the partial unique index holds however many
 * requests arrive together.
 */
export const scoreReplays: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('score_replays')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('since', int64)
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('after_profile', 'text')
        .addColumn('profiles_total', int64, (c) => c.notNull())
        .addColumn('profiles_done', int64, (c) => c.notNull())
        .addColumn('profiles_scored', int64, (c) => c.notNull())
        .addColumn('awards', int64, (c) => c.notNull())
        .addColumn('points', 'double precision', (c) => c.notNull())
        .addColumn('merges_before', int64, (c) => c.notNull())
        .addColumn('requested_at', int64, (c) => c.notNull())
        .addColumn('finished_at', int64)
        .addColumn('reason', 'text')
        .execute();
      await db.schema
        .createIndex('score_replays_model')
        .on('score_replays')
        .columns(['workspace_id', 'model', 'requested_at'])
        .execute();
      await sql`
        create unique index score_replays_running on score_replays (workspace_id, model)
        where status = 'running'`.execute(db);
    },
  };
};
