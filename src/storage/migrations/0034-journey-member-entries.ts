import { sql } from 'kysely';
import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * A segment's current members entering a journey published to take them (see `MemberEntry`): one
 * row per publish that asked for it, with the position reached. At most one runs per journey, which
 * the partial unique index holds.
 */
export const journeyMemberEntries: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('journey_member_entries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('journey_id', 'text', (c) => c.notNull())
        .addColumn('segment_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('after_profile', 'text')
        .addColumn('members_total', int64, (c) => c.notNull())
        .addColumn('members_done', int64, (c) => c.notNull())
        .addColumn('entered', int64, (c) => c.notNull())
        .addColumn('requested_at', int64, (c) => c.notNull())
        .addColumn('finished_at', int64)
        .addColumn('reason', 'text')
        .execute();
      await db.schema
        .createIndex('journey_member_entries_journey')
        .on('journey_member_entries')
        .columns(['journey_id', 'requested_at'])
        .execute();
      await sql`
        create unique index journey_member_entries_running on journey_member_entries (journey_id)
        where status = 'running'`.execute(db);
    },
  };
};
