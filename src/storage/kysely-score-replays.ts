import { type Kysely, type Selectable, sql } from 'kysely';
import type { ScoreReplay, ScoreReplayStatus } from '../core/score-replay.js';
import type { DialectOps } from './dialect-ops.js';
import type { Database } from './schema.js';
import type { ScoringStore } from './storage.js';

type ScoreReplayQueries = Pick<
  ScoringStore,
  | 'createReplay'
  | 'findReplay'
  | 'listReplays'
  | 'claimReplay'
  | 'saveReplay'
  | 'holdConsumer'
  | 'consumerPosition'
>;

function toReplay(row: Selectable<Database['score_replays']>): ScoreReplay {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    model: row.model,
    since: row.since === null ? null : Number(row.since),
    status: row.status as ScoreReplayStatus,
    afterProfile: row.after_profile,
    profilesTotal: Number(row.profiles_total),
    profilesDone: Number(row.profiles_done),
    profilesScored: Number(row.profiles_scored),
    awards: Number(row.awards),
    points: Number(row.points),
    mergesBefore: Number(row.merges_before),
    requestedAt: Number(row.requested_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    reason: row.reason,
  };
}

function replayValues(replay: ScoreReplay) {
  return {
    id: replay.id,
    workspace_id: replay.workspaceId,
    model: replay.model,
    since: replay.since,
    status: replay.status,
    after_profile: replay.afterProfile,
    profiles_total: replay.profilesTotal,
    profiles_done: replay.profilesDone,
    profiles_scored: replay.profilesScored,
    awards: replay.awards,
    points: replay.points,
    merges_before: replay.mergesBefore,
    requested_at: replay.requestedAt,
    finished_at: replay.finishedAt,
    reason: replay.reason,
  };
}

/** Score replays (see `ScoreReplay`), as part of the scoring store. */
export function scoreReplayQueries(db: Kysely<Database>, ops: DialectOps): ScoreReplayQueries {
  return {
    async createReplay(replay) {
      const result = await db
        .insertInto('score_replays')
        .values(replayValues(replay))
        // The partial index's own predicate, written out: SQLite matches it as text, not a parameter.
        .onConflict((oc) =>
          oc.columns(['workspace_id', 'model']).where(sql<boolean>`status = 'running'`).doNothing(),
        )
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async findReplay(workspaceId, id) {
      const row = await db
        .selectFrom('score_replays')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toReplay(row) : undefined;
    },
    async listReplays(workspaceId, model, limit) {
      const rows = await db
        .selectFrom('score_replays')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('model', '=', model)
        .orderBy('requested_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toReplay);
    },
    async claimReplay() {
      const result = await sql<Selectable<Database['score_replays']>>`
        select * from score_replays where status = 'running'
        order by requested_at, id limit 1 ${sql.raw(ops.skipLockedRows)}`.execute(db);
      const row = result.rows[0];
      return row ? toReplay(row) : undefined;
    },
    async saveReplay(replay) {
      const { id, workspace_id: _workspace, ...values } = replayValues(replay);
      // Only a running replay moves on: one another process finished (or gave up on) stays so.
      const result = await db
        .updateTable('score_replays')
        .set(values)
        .where('id', '=', id)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async holdConsumer(cursor) {
      const result = await sql<{ position: string }>`
        select position from pipeline_cursors where name = ${cursor} ${sql.raw(ops.lockRows)}`.execute(db);
      return result.rows[0]?.position;
    },
    async consumerPosition(cursor) {
      const row = await db
        .selectFrom('pipeline_cursors')
        .select('position')
        .where('name', '=', cursor)
        .executeTakeFirst();
      return row?.position;
    },
  };
}
