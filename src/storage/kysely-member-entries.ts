import { type Kysely, type Selectable, sql } from 'kysely';
import type { MemberEntry, MemberEntryStatus } from '../core/member-entry.js';
import type { DialectOps } from './dialect-ops.js';
import type { Database } from './schema.js';
import type { JourneyStore } from './storage.js';

type MemberEntryQueries = Pick<
  JourneyStore,
  'createMemberEntry' | 'latestMemberEntry' | 'claimMemberEntry' | 'saveMemberEntry' | 'endMemberEntry'
>;

function toMemberEntry(row: Selectable<Database['journey_member_entries']>): MemberEntry {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    journeyId: row.journey_id,
    segmentId: row.segment_id,
    status: row.status as MemberEntryStatus,
    afterProfile: row.after_profile,
    membersTotal: Number(row.members_total),
    membersDone: Number(row.members_done),
    entered: Number(row.entered),
    requestedAt: Number(row.requested_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    reason: row.reason,
  };
}

function memberEntryValues(entry: MemberEntry) {
  return {
    id: entry.id,
    workspace_id: entry.workspaceId,
    journey_id: entry.journeyId,
    segment_id: entry.segmentId,
    status: entry.status,
    after_profile: entry.afterProfile,
    members_total: entry.membersTotal,
    members_done: entry.membersDone,
    entered: entry.entered,
    requested_at: entry.requestedAt,
    finished_at: entry.finishedAt,
    reason: entry.reason,
  };
}

/** Segments' current members entering journeys (see `MemberEntry`), as part of the journey store. */
export function memberEntryQueries(db: Kysely<Database>, ops: DialectOps): MemberEntryQueries {
  return {
    async createMemberEntry(entry) {
      const result = await db
        .insertInto('journey_member_entries')
        .values(memberEntryValues(entry))
        // The partial index's own predicate, written out: SQLite matches it as text, not a parameter.
        .onConflict((oc) => oc.column('journey_id').where(sql<boolean>`status = 'running'`).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async latestMemberEntry(journeyId) {
      const row = await db
        .selectFrom('journey_member_entries')
        .selectAll()
        .where('journey_id', '=', journeyId)
        .orderBy('requested_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? toMemberEntry(row) : undefined;
    },
    async claimMemberEntry(passOver) {
      const except = passOver.length > 0 ? sql`and id not in (${sql.join(passOver)})` : sql``;
      const result = await sql<Selectable<Database['journey_member_entries']>>`
        select * from journey_member_entries where status = 'running' ${except}
        order by requested_at, id limit 1 ${sql.raw(ops.skipLockedRows)}`.execute(db);
      const row = result.rows[0];
      return row ? toMemberEntry(row) : undefined;
    },
    async saveMemberEntry(entry) {
      const { id, workspace_id: _workspace, ...values } = memberEntryValues(entry);
      // Only a running one moves on: one another process finished (or a publish stopped) stays so.
      const result = await db
        .updateTable('journey_member_entries')
        .set(values)
        .where('id', '=', id)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async endMemberEntry(which, end) {
      const result = await db
        .updateTable('journey_member_entries')
        .set({ status: end.status, finished_at: end.finishedAt, reason: end.reason })
        .where('id' in which ? 'id' : 'journey_id', '=', 'id' in which ? which.id : which.journeyId)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}
