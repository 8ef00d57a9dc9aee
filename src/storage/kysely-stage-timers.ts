import { type Kysely, sql } from 'kysely';
import { chunks } from './chunks.js';
import type { DialectOps } from './dialect-ops.js';
import type { Database } from './schema.js';
import type { ScoringStore } from './storage.js';

type StageTimerQueries = Pick<
  ScoringStore,
  'bringStageTimersForward' | 'takeDueStageTimers' | 'nextStageTimerDue'
>;

export function stageTimerQueries(db: Kysely<Database>, ops: DialectOps): StageTimerQueries {
  return {
    async bringStageTimersForward(timers) {
      for (const chunk of chunks(timers, 200)) {
        await db
          .insertInto('stage_timers')
          .values(
            chunk.map((timer) => ({
              profile_id: timer.profileId,
              workspace_id: timer.workspaceId,
              due_at: timer.dueAt,
            })),
          )
          // A timer no earlier than the one set is not written at all: batches deciding a profile
          // again and again find the same crossing.
          .onConflict((oc) =>
            oc
              .column('profile_id')
              .doUpdateSet({ due_at: (eb) => eb.ref('excluded.due_at') })
              .where(sql<boolean>`excluded.due_at < stage_timers.due_at`),
          )
          .execute();
      }
    },
    async takeDueStageTimers(now, limit) {
      const result = await sql<{ profile_id: string; workspace_id: string; due_at: number }>`
        select profile_id, workspace_id, due_at from stage_timers
        where due_at <= ${now} order by due_at limit ${limit} ${sql.raw(ops.skipLockedRows)}`.execute(db);
      const rows = result.rows;
      for (const chunk of chunks(rows.map((row) => row.profile_id)))
        await db.deleteFrom('stage_timers').where('profile_id', 'in', chunk).execute();
      return rows.map((row) => ({
        profileId: row.profile_id,
        workspaceId: row.workspace_id,
        dueAt: Number(row.due_at),
      }));
    },
    async nextStageTimerDue() {
      const row = await db
        .selectFrom('stage_timers')
        .select((eb) => eb.fn.min('due_at').as('due'))
        .executeTakeFirst();
      return row?.due === null || row?.due === undefined ? undefined : Number(row.due);
    },
  };
}
