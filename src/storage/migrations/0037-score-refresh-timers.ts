import { sql } from 'kysely';
import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * Stored scores are kept current as decay moves them (a profile's stage timer also stores its scores
 * again when time has moved one far enough). Those stored before were as of each profile's last
 * event: every scored profile's timer is made due now, so that each is decided once, in the
 * background, and sets its own next timer from there.
 */
export const scoreRefreshTimers: DialectMigration = () => ({
  async up(db: MigrationDb) {
    await sql`
      insert into stage_timers (profile_id, workspace_id, due_at)
      select profile_id, min(workspace_id), 0 from profile_scores group by profile_id
      on conflict (profile_id) do update set due_at = 0`.execute(db);
  },
});
