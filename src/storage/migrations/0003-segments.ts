import { type CreateTableBuilder, sql } from 'kysely';
import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * Segments and their members, membership expiry timers; score ledgers and scores, lifecycle stages
 * and their history, sales hand-offs. (No index on events by name: it cost ingest a fifth of its speed.)
 */
export const segmentsSchema: DialectMigration = (dialect) => {
  const { json, int64, serialTable: serial } = columnTypes(dialect);
  const isSqlite = dialect === 'sqlite';

  return {
    async up(db: MigrationDb) {
      // `mops` on events Mops writes itself (Segment Entered, …): clients cannot send it, so a journey
      // entering on a segment cannot be triggered by a forged event, and consumers can tell them apart.
      await db.schema.alterTable('events').addColumn('origin', 'text').execute();

      await db.schema
        .createTable('segments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('rule', json)
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('backfill_total', int64, (c) => c.notNull().defaultTo(0))
        .addColumn('backfill_done', int64, (c) => c.notNull().defaultTo(0))
        .addColumn('backfill_after', 'text')
        .addColumn('backfill_started_at', int64)
        .addColumn('backfill_finished_at', int64)
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('segments_workspace')
        .on('segments')
        .columns(['workspace_id', 'kind'])
        .execute();

      // Keyed tables without a rowid on SQLite: one B-tree fewer to write per membership change, and
      // the profile index covers the lookups by profile.
      const keyed = (table: CreateTableBuilder<string, string>) =>
        isSqlite ? table.modifyEnd(sql`without rowid`) : table;
      await keyed(
        db.schema
          .createTable('segment_members')
          .addColumn('segment_id', 'text', (c) => c.notNull())
          .addColumn('profile_id', 'text', (c) => c.notNull())
          .addColumn('workspace_id', 'text', (c) => c.notNull())
          .addColumn('entered_at', int64, (c) => c.notNull())
          .addPrimaryKeyConstraint('segment_members_pk', ['segment_id', 'profile_id']),
      ).execute();
      await db.schema
        .createIndex('segment_members_profile')
        .on('segment_members')
        .columns(['profile_id'])
        .execute();

      // The moment a profile's membership flips by time alone (a rolling window letting go of an
      // event): one row per segment and profile, re-evaluated when due.
      await keyed(
        db.schema
          .createTable('segment_timers')
          .addColumn('segment_id', 'text', (c) => c.notNull())
          .addColumn('profile_id', 'text', (c) => c.notNull())
          .addColumn('workspace_id', 'text', (c) => c.notNull())
          .addColumn('due_at', int64, (c) => c.notNull())
          .addPrimaryKeyConstraint('segment_timers_pk', ['segment_id', 'profile_id']),
      ).execute();
      await db.schema.createIndex('segment_timers_due').on('segment_timers').columns(['due_at']).execute();
      await db.schema
        .createIndex('segment_timers_profile')
        .on('segment_timers')
        .columns(['profile_id'])
        .execute();

      await serial(db, 'score_ledger')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('event_id', int64, (c) => c.notNull())
        .addColumn('at', int64, (c) => c.notNull())
        .addColumn('points', 'real', (c) => c.notNull())
        .addUniqueConstraint('score_ledger_award', ['profile_id', 'model', 'rule', 'event_id'])
        .execute();

      await db.schema
        .createTable('profile_scores')
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('score', 'real', (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .addPrimaryKeyConstraint('profile_scores_pk', ['profile_id', 'model'])
        .execute();
      await db.schema
        .createIndex('profile_scores_model')
        .on('profile_scores')
        .columns(['workspace_id', 'model', 'score'])
        .execute();

      await db.schema
        .createTable('profile_stages')
        .addColumn('profile_id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .execute();
      await serial(db, 'stage_history')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('from_stage', 'text')
        .addColumn('to_stage', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('at', int64, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('stage_history_profile')
        .on('stage_history')
        .columns(['profile_id', 'at'])
        .execute();

      // A hand-off waits for `Sales Accepted` until due_at; the SLA check claims the overdue ones.
      await db.schema
        .createTable('hand_offs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text')
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('due_at', int64, (c) => c.notNull())
        .addColumn('accepted_at', int64)
        .addColumn('breached_at', int64)
        .execute();
      await db.schema
        .createIndex('hand_offs_profile')
        .on('hand_offs')
        .columns(['profile_id', 'created_at'])
        .execute();
      await db.schema.createIndex('hand_offs_due').on('hand_offs').columns(['status', 'due_at']).execute();
    },
  };
};
