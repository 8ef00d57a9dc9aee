import { sql } from 'kysely';
import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * When a segment first had all its members (its first backfill finished). A segment asked about by
 * another is backfilled again as a new version when that one finishes, so the version alone no longer
 * tells a first backfill (whose members came with the segment, no Segment Entered) from a changed
 * rule's. Segments past version 1, or ready, count as having been ready.
 */
export const segmentReadySince: DialectMigration = (dialect) => ({
  async up(db: MigrationDb) {
    const { int64 } = columnTypes(dialect);
    await db.schema.alterTable('segments').addColumn('ready_since', int64).execute();
    await sql`
      update segments set ready_since = coalesce(backfill_finished_at, updated_at)
      where status = 'ready' or version > 1`.execute(db);
  },
});
