import { type Kysely, type Selectable, sql } from 'kysely';
import { WITH_SALES_STATUSES } from '../core/hand-off.js';
import { BUCKET_TOLERANCE, bucketStart, type ScoreLedgerEntry } from '../core/score-model.js';
import { chunks } from './chunks.js';
import type { DialectOps } from './dialect-ops.js';
import { scoreReplayQueries } from './kysely-score-replays.js';
import { decodeCursor, isIntegerStringPair, toPage } from './paging.js';
import { profileTimerTable } from './profile-timer-table.js';
import type { Database } from './schema.js';
import type { HandOff, MadeHandOff, ScoringStore, StageChange } from './storage.js';

function toEntry(row: Selectable<Database['score_ledger']>): ScoreLedgerEntry {
  return {
    model: row.model,
    rule: row.rule,
    eventId: Number(row.event_id),
    at: Number(row.at),
    points: Number(row.points),
  };
}

function toHandOff(row: Selectable<Database['hand_offs']>): HandOff {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    profileId: row.profile_id,
    owner: row.owner,
    status: row.status as HandOff['status'],
    messageId: row.message_id,
    createdAt: Number(row.created_at),
    dueAt: Number(row.due_at),
    acceptedAt: row.accepted_at === null ? null : Number(row.accepted_at),
    breachedAt: row.breached_at === null ? null : Number(row.breached_at),
    owedAt: row.owed_at === null ? null : Number(row.owed_at),
    droppedReason: row.dropped_reason,
  };
}

function handOffValues(handOff: HandOff) {
  return {
    id: handOff.id,
    workspace_id: handOff.workspaceId,
    profile_id: handOff.profileId,
    owner: handOff.owner,
    status: handOff.status,
    message_id: handOff.messageId,
    created_at: handOff.createdAt,
    due_at: handOff.dueAt,
    accepted_at: handOff.acceptedAt,
    breached_at: handOff.breachedAt,
    owed_at: handOff.owedAt,
    dropped_reason: handOff.droppedReason,
  };
}

export function createScoringStore(db: Kysely<Database>, ops: DialectOps): ScoringStore {
  const stageTimers = profileTimerTable(db, ops, 'stage_timers');
  const refreshTimers = profileTimerTable(db, ops, 'score_refresh_timers');
  return {
    ...scoreReplayQueries(db, ops),
    bringStageTimersForward: stageTimers.bringForward,
    takeDueStageTimers: stageTimers.takeDue,
    nextStageTimerDue: stageTimers.nextDue,
    bringScoreRefreshesForward: refreshTimers.bringForward,
    takeDueScoreRefreshes: refreshTimers.takeDue,
    async bringModelScoreRefreshesForward(workspaceId, models, dueAt) {
      if (models.length === 0) return;
      await sql`
        insert into score_refresh_timers (profile_id, workspace_id, due_at)
        select profile_id, workspace_id, ${dueAt} from profile_scores
        where workspace_id = ${workspaceId} and model in (${sql.join(models)})
        group by profile_id, workspace_id
        on conflict (profile_id) do update set due_at = excluded.due_at
        where excluded.due_at < score_refresh_timers.due_at`.execute(db);
    },
    nextScoreRefreshDue: refreshTimers.nextDue,
    async setCurrentScores(scores) {
      for (const { profileId, model, currentScore, storedAt } of scores)
        await db
          .updateTable('profile_scores')
          .set({ current_score: currentScore })
          .where('profile_id', '=', profileId)
          .where('model', '=', model)
          .where('updated_at', '=', storedAt)
          .execute();
    },
    async ledger(profileIds) {
      const entries: Array<ScoreLedgerEntry & { profileId: string }> = [];
      for (const chunk of chunks(profileIds)) {
        const rows = await db
          .selectFrom('score_ledger')
          .selectAll()
          .where('profile_id', 'in', chunk)
          .execute();
        for (const row of rows) entries.push({ ...toEntry(row), profileId: row.profile_id });
      }
      return entries.sort((a, b) => a.at - b.at || a.eventId - b.eventId);
    },
    async ledgerOfProfile(profileId) {
      const rows = await db
        .selectFrom('score_ledger')
        .selectAll()
        .where('profile_id', '=', profileId)
        .orderBy('at')
        .orderBy('id')
        .execute();
      return rows.map(toEntry);
    },
    async addAwards(awards) {
      for (const chunk of chunks(awards, 200)) {
        await db
          .insertInto('score_ledger')
          .values(
            chunk.map((award) => ({
              workspace_id: award.workspaceId,
              profile_id: award.profileId,
              model: award.model,
              rule: award.rule,
              event_id: award.eventId,
              at: award.at,
              points: award.points,
            })),
          )
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
    },
    async setScores(scores) {
      for (const chunk of chunks(scores, 200)) {
        await db
          .insertInto('profile_scores')
          .values(
            chunk.map((entry) => ({
              profile_id: entry.profileId,
              model: entry.model,
              workspace_id: entry.workspaceId,
              score: entry.score,
              current_score: entry.score,
              updated_at: entry.at,
              model_revision: entry.modelRevision,
            })),
          )
          .onConflict((oc) =>
            oc.columns(['profile_id', 'model']).doUpdateSet((eb) => ({
              score: eb.ref('excluded.score'),
              current_score: eb.ref('excluded.current_score'),
              updated_at: eb.ref('excluded.updated_at'),
              model_revision: eb.ref('excluded.model_revision'),
            })),
          )
          .execute();
      }
    },
    async scores(profileIds) {
      const found = new Map<
        string,
        Record<string, { score: number; modelRevision: string | null; at: number }>
      >();
      for (const chunk of chunks(profileIds)) {
        const rows = await db
          .selectFrom('profile_scores')
          .select(['profile_id', 'model', 'score', 'model_revision', 'updated_at'])
          .where('profile_id', 'in', chunk)
          .execute();
        for (const row of rows) {
          const scores = found.get(row.profile_id) ?? {};
          scores[row.model] = {
            score: Number(row.score),
            modelRevision: row.model_revision,
            at: Number(row.updated_at),
          };
          found.set(row.profile_id, scores);
        }
      }
      return found;
    },
    async distribution(workspaceId, model, bucket) {
      const result = await sql<{ bucket: number; n: number; other_revisions: number }>`
        select floor(score / ${bucket} + ${BUCKET_TOLERANCE}) as bucket, count(*) as n,
          sum(case when model_revision = ${model.modelRevision} then 0 else 1 end) as other_revisions
        from profile_scores
        where workspace_id = ${workspaceId} and model = ${model.id}
        group by 1 order by 1`.execute(db);
      return {
        buckets: result.rows.map((row) => ({
          from: bucketStart(Number(row.bucket), bucket),
          count: Number(row.n),
        })),
        otherRevisions: result.rows.reduce((sum, row) => sum + Number(row.other_revisions), 0),
      };
    },
    async scoresWritten(workspaceId, model) {
      const row = await db
        .selectFrom('profile_scores')
        .select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.max('updated_at').as('last_at')])
        .where('workspace_id', '=', workspaceId)
        .where('model', '=', model)
        .executeTakeFirst();
      return { count: Number(row?.count ?? 0), lastAt: Number(row?.last_at ?? 0) };
    },
    async scoredProfilesAfter(workspaceId, model, after, limit) {
      let query = db
        .selectFrom('profile_scores as s')
        .innerJoin('profiles as p', 'p.id', 's.profile_id')
        .select(['p.id', 'p.traits', 's.model_revision'])
        .where('s.workspace_id', '=', workspaceId)
        .where('s.model', '=', model)
        .where('p.merged_into', 'is', null);
      if (after !== null) query = query.where('s.profile_id', '>', after);
      const rows = await query.orderBy('s.profile_id').limit(limit).execute();
      return rows.map((row) => ({
        id: row.id,
        traits: ops.readJson<Record<string, unknown>>(row.traits),
        modelRevision: row.model_revision,
      }));
    },
    async refreshScores(model, scores) {
      for (const { profileId, score } of scores)
        await db
          .updateTable('profile_scores')
          .set({ score, current_score: score, model_revision: model.modelRevision })
          .where('profile_id', '=', profileId)
          .where('model', '=', model.id)
          .where((eb) =>
            eb.or([eb('model_revision', 'is', null), eb('model_revision', '<>', model.modelRevision)]),
          )
          .execute();
    },
    async stages(profileIds) {
      const found = new Map<string, string>();
      for (const chunk of chunks(profileIds)) {
        const rows = await db
          .selectFrom('profile_stages')
          .select(['profile_id', 'stage'])
          .where('profile_id', 'in', chunk)
          .execute();
        for (const row of rows) found.set(row.profile_id, row.stage);
      }
      return found;
    },
    async stagesSince(profileIds) {
      const since = new Map<string, number>();
      for (const chunk of chunks(profileIds)) {
        const rows = await db
          .selectFrom('profile_stages')
          .select(['profile_id', 'updated_at'])
          .where('profile_id', 'in', chunk)
          .execute();
        for (const row of rows) since.set(row.profile_id, Number(row.updated_at));
      }
      return since;
    },
    async stagesHeld(workspaceId) {
      const rows = await db
        .selectFrom('profile_stages')
        .select('stage')
        .distinct()
        .where('workspace_id', '=', workspaceId)
        .execute();
      return rows.map((row) => row.stage).sort();
    },
    async setStages(changes) {
      const refused: StageChange[] = [];
      const applied: StageChange[] = [];
      for (const change of changes) {
        const written =
          change.from === null
            ? (
                await db
                  .insertInto('profile_stages')
                  .values({
                    profile_id: change.profileId,
                    workspace_id: change.workspaceId,
                    stage: change.to,
                    updated_at: change.at,
                  })
                  .onConflict((oc) => oc.column('profile_id').doNothing())
                  .executeTakeFirst()
              ).numInsertedOrUpdatedRows
            : (
                await db
                  .updateTable('profile_stages')
                  .set({ stage: change.to, updated_at: change.at })
                  .where('profile_id', '=', change.profileId)
                  .where('stage', '=', change.from)
                  .executeTakeFirst()
              ).numUpdatedRows;
        (Number(written ?? 0) > 0 ? applied : refused).push(change);
      }
      for (const chunk of chunks(applied, 200)) {
        await db
          .insertInto('stage_history')
          .values(
            chunk.map((change) => ({
              workspace_id: change.workspaceId,
              profile_id: change.profileId,
              from_stage: change.from,
              to_stage: change.to,
              reason: change.reason,
              at: change.at,
            })),
          )
          .execute();
      }
      return refused;
    },
    async stagesEverHeld(profileIds) {
      const held = new Map<string, Set<string>>();
      for (const chunk of chunks(profileIds)) {
        const rows = await db
          .selectFrom('stage_history')
          .select(['profile_id', 'to_stage'])
          .distinct()
          .where('profile_id', 'in', chunk)
          .execute();
        for (const row of rows) {
          const stages = held.get(row.profile_id) ?? new Set<string>();
          stages.add(row.to_stage);
          held.set(row.profile_id, stages);
        }
      }
      return held;
    },
    async stageHistory(profileId) {
      const rows = await db
        .selectFrom('stage_history')
        .selectAll()
        .where('profile_id', '=', profileId)
        .orderBy('at')
        .orderBy('id')
        .execute();
      return rows.map(
        (row): StageChange => ({
          workspaceId: row.workspace_id,
          profileId: row.profile_id,
          from: row.from_stage,
          to: row.to_stage,
          reason: row.reason,
          at: Number(row.at),
        }),
      );
    },

    async roundRobinTurn(workspaceId) {
      const row = await db
        .selectFrom('hand_off_turns')
        .select('turn')
        .where('workspace_id', '=', workspaceId)
        .executeTakeFirst();
      return row ? Number(row.turn) : 0;
    },
    async setRoundRobinTurn(workspaceId, turn) {
      await db
        .insertInto('hand_off_turns')
        .values({ workspace_id: workspaceId, turn })
        .onConflict((conflict) => conflict.column('workspace_id').doUpdateSet({ turn }))
        .execute();
    },
    async createHandOff(handOff) {
      await db.insertInto('hand_offs').values(handOffValues(handOff)).execute();
    },
    async settleHandOff(id, outcome) {
      const result = await db
        .updateTable('hand_offs')
        .set({
          status: outcome.status,
          ...(outcome.status === 'accepted'
            ? { accepted_at: outcome.acceptedAt }
            : { breached_at: outcome.breachedAt }),
        })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async recycleHandOff(id) {
      const result = await db
        .updateTable('hand_offs')
        .set({ status: 'recycled' })
        .where('id', '=', id)
        .where('status', 'in', WITH_SALES_STATUSES)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async makeOwedHandOff(made) {
      const { id: _id, workspace_id: _workspace, profile_id: _profile, ...values } = handOffValues(made);
      const result = await db
        .updateTable('hand_offs')
        .set(values)
        .where('id', '=', made.id)
        .where('status', '=', 'awaiting_identity')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async dropOwedHandOff(id, reason) {
      const result = await db
        .updateTable('hand_offs')
        .set({ status: 'dropped', dropped_reason: reason })
        .where('id', '=', id)
        .where('status', '=', 'awaiting_identity')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async owedHandOffs(profileIds) {
      const owed = new Map<string, HandOff[]>();
      for (const chunk of chunks(profileIds)) {
        const rows = await db
          .selectFrom('hand_offs')
          .selectAll()
          .where('profile_id', 'in', chunk)
          .where('status', '=', 'awaiting_identity')
          .orderBy('created_at')
          .orderBy('id')
          .execute();
        for (const row of rows)
          owed.set(row.profile_id, [...(owed.get(row.profile_id) ?? []), toHandOff(row)]);
      }
      return owed;
    },
    async latestHandOffs(profileIds) {
      const latest = new Map<string, HandOff>();
      for (const chunk of chunks(profileIds)) {
        // Oldest made first, so each profile's last one stays. By when made, not by id: an owed
        // hand-off keeps the id it was owed under when it is made later. A dropped one never was.
        const rows = await db
          .selectFrom('hand_offs')
          .selectAll()
          .where('profile_id', 'in', chunk)
          .where('status', '!=', 'dropped')
          .orderBy('created_at')
          .orderBy('id')
          .execute();
        for (const row of rows) latest.set(row.profile_id, toHandOff(row));
      }
      return latest;
    },
    async findHandOff(id) {
      const row = await db.selectFrom('hand_offs').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toHandOff(row);
    },
    async pendingHandOffs(profileId) {
      const rows = await db
        .selectFrom('hand_offs')
        .selectAll()
        .where('profile_id', '=', profileId)
        .where('status', '=', 'pending')
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map(toHandOff);
    },
    async handOffsWithSales(profileId) {
      const rows = await db
        .selectFrom('hand_offs')
        .selectAll()
        .where('profile_id', '=', profileId)
        .where('status', 'in', WITH_SALES_STATUSES)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toHandOff);
    },
    async listHandOffs(workspaceId, filter, page) {
      // Newest first by when each was made, not by id: an owed hand-off made late keeps its older id.
      const before = decodeCursor(page.cursor, isIntegerStringPair);
      let query = db.selectFrom('hand_offs').selectAll().where('workspace_id', '=', workspaceId);
      if (filter.profileId) query = query.where('profile_id', '=', filter.profileId);
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.missed !== undefined)
        query = query.where('breached_at', filter.missed ? 'is not' : 'is', null);
      if (before !== undefined) {
        const [createdAt, id] = before;
        query = query.where((eb) =>
          eb.or([
            eb('created_at', '<', createdAt),
            eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)]),
          ]),
        );
      }
      const rows = await query
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(page.limit + 1)
        .execute();
      return toPage(rows, page.limit, toHandOff, (row) => [Number(row.created_at), row.id]);
    },
    async countHandOffsByStatus() {
      const rows = await db
        .selectFrom('hand_offs')
        .select(['status', (eb) => eb.fn.countAll<number | string>().as('count')])
        .groupBy('status')
        .execute();
      return new Map(rows.map((row) => [row.status as HandOff['status'], Number(row.count)]));
    },
    async claimOverdueHandOffs(now, limit) {
      const result = await sql<Selectable<Database['hand_offs']>>`
        select * from hand_offs where status = 'pending' and due_at < ${now} and ${notSetAside}
        order by due_at limit ${limit} ${sql.raw(ops.skipLockedRows)}`.execute(db);
      return result.rows.map(toHandOff).filter((handOff): handOff is MadeHandOff => handOff.owner !== null);
    },
    async nextHandOffDue() {
      const row = await db
        .selectFrom('hand_offs')
        .select((eb) => eb.fn.min('due_at').as('due'))
        .where('status', '=', 'pending')
        .where(notSetAside)
        .executeTakeFirst();
      // Missed only once the deadline's millisecond has passed: a `Sales Accepted` received at it is in time.
      return row?.due === null || row?.due === undefined ? undefined : Number(row.due) + 1;
    },
  };
}

/** A hand-off whose SLA check failed every time stays pending (sales may still accept it), unjudged. */
// A retried record lets the check judge the hand-off again; a dismissed one does not (the operator
// handled it another way).
const notSetAside = sql<boolean>`not exists (
  select 1 from set_aside_timers s
  where s.subject = hand_offs.id and s.kind = 'hand-off'
    and (s.resolved_at is null or s.resolution = 'dismissed'))`;
