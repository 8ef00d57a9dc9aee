import { type Kysely, type Selectable, sql } from 'kysely';
import type { ListAddition, ListAdditionStatus } from '../core/list-addition.js';
import type { DialectOps } from './dialect-ops.js';
import type { Database } from './schema.js';
import type { SegmentStore } from './storage.js';

type ListAdditionQueries = Pick<
  SegmentStore,
  | 'createListAddition'
  | 'findListAddition'
  | 'claimListAddition'
  | 'saveListAddition'
  | 'countListAdditionAdded'
  | 'anyListAdditionWaiting'
>;

/** Imported contacts waiting to join static segments (see `ListAddition`), as part of the segment store. */
export function listAdditionQueries(db: Kysely<Database>, ops: DialectOps): ListAdditionQueries {
  const toListAddition = (row: Selectable<Database['list_additions']>): ListAddition => ({
    id: row.id,
    workspaceId: row.workspace_id,
    segmentId: row.segment_id,
    userIds: ops.readJson<string[]>(row.user_ids),
    status: row.status as ListAdditionStatus,
    matched: Number(row.matched),
    unmatched: Number(row.unmatched),
    added: Number(row.added),
    requestedAt: Number(row.requested_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    reason: row.reason,
  });
  // `added` is counted by the transactions that add (countListAdditionAdded), never written back from
  // a copy read earlier.
  const outcome = (addition: ListAddition) => ({
    status: addition.status,
    matched: addition.matched,
    unmatched: addition.unmatched,
    finished_at: addition.finishedAt,
    reason: addition.reason,
  });
  return {
    async createListAddition(addition) {
      await db
        .insertInto('list_additions')
        .values({
          id: addition.id,
          workspace_id: addition.workspaceId,
          segment_id: addition.segmentId,
          user_ids: JSON.stringify(addition.userIds),
          requested_at: addition.requestedAt,
          added: addition.added,
          ...outcome(addition),
        })
        .execute();
    },
    async findListAddition(workspaceId, id) {
      const row = await db
        .selectFrom('list_additions')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toListAddition(row) : undefined;
    },
    async claimListAddition(passOver) {
      const except = passOver.length > 0 ? sql`and id not in (${sql.join(passOver)})` : sql``;
      const result = await sql<Selectable<Database['list_additions']>>`
        select * from list_additions where status = 'waiting' ${except}
        order by requested_at, id limit 1 ${sql.raw(ops.skipLockedRows)}`.execute(db);
      const row = result.rows[0];
      return row ? toListAddition(row) : undefined;
    },
    async saveListAddition(addition) {
      // Only a waiting one ends: one another process finished stays as it finished it.
      const result = await db
        .updateTable('list_additions')
        .set(outcome(addition))
        .where('id', '=', addition.id)
        .where('status', '=', 'waiting')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async anyListAdditionWaiting() {
      const row = await db
        .selectFrom('list_additions')
        .select('id')
        .where('status', '=', 'waiting')
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },
    async countListAdditionAdded(id, added) {
      await db
        .updateTable('list_additions')
        .set((eb) => ({ added: eb('added', '+', added) }))
        .where('id', '=', id)
        .where('status', '=', 'waiting')
        .execute();
    },
  };
}
