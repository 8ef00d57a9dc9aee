import { type Kysely, sql } from 'kysely';
import { chunks } from './chunks.js';
import type { DialectOps } from './dialect-ops.js';
import type { Database } from './schema.js';
import type { ProfileTimer } from './storage.js';

/** The tables keeping one timer per profile: its segment windows, its stage checks, its score refreshes. */
export type ProfileTimerTableName = 'segment_profile_timers' | 'stage_timers' | 'score_refresh_timers';

/**
 * Queries on a table of one timer per profile that is only ever brought forward: one due too early
 * finds nothing changed and sets the next, so most writes (a later moment than the one set) write
 * nothing at all.
 */
export function profileTimerTable(db: Kysely<Database>, ops: DialectOps, name: ProfileTimerTableName) {
  const table = sql.table(name);
  return {
    async bringForward(timers: readonly ProfileTimer[]): Promise<void> {
      for (const chunk of chunks(timers, 200)) {
        const rows = chunk.map((timer) => sql`(${timer.profileId}, ${timer.workspaceId}, ${timer.dueAt})`);
        await sql`
          insert into ${table} (profile_id, workspace_id, due_at) values ${sql.join(rows)}
          on conflict (profile_id) do update set due_at = excluded.due_at
          where excluded.due_at < ${table}.due_at`.execute(db);
      }
    },
    /** Due timers, claimed for this transaction (PostgreSQL `SKIP LOCKED`) and deleted. */
    async takeDue(now: number, limit: number): Promise<ProfileTimer[]> {
      const result = await sql<{ profile_id: string; workspace_id: string; due_at: number }>`
        select profile_id, workspace_id, due_at from ${table}
        where due_at <= ${now} order by due_at limit ${limit} ${sql.raw(ops.skipLockedRows)}`.execute(db);
      const rows = result.rows;
      for (const chunk of chunks(rows.map((row) => row.profile_id)))
        await sql`delete from ${table} where profile_id in (${sql.join(chunk)})`.execute(db);
      return rows.map((row) => ({
        profileId: row.profile_id,
        workspaceId: row.workspace_id,
        dueAt: Number(row.due_at),
      }));
    },
    async nextDue(): Promise<number | undefined> {
      const result = await sql<{
        due: number | string | null;
      }>`select min(due_at) as due from ${table}`.execute(db);
      const due = result.rows[0]?.due;
      return due === null || due === undefined ? undefined : Number(due);
    },
  };
}

/** Deletes the profile's timer if it is still the one due at `dueAt`; whether it was. */
export async function takeOffProfileTimer(
  db: Kysely<Database>,
  name: ProfileTimerTableName,
  timer: { profileId: string; dueAt: number },
): Promise<boolean> {
  const result = await sql`
    delete from ${sql.table(name)} where profile_id = ${timer.profileId} and due_at = ${timer.dueAt}`.execute(
    db,
  );
  return Number(result.numAffectedRows ?? 0) > 0;
}
