import { type Kysely, type RawBuilder, type Selectable, sql } from 'kysely';
import type { EventType, StoredEvent, StoredRejectedEvent } from '../core/event.js';
import { storableError } from '../core/storable-text.js';
import { chunks } from './chunks.js';
import type { DialectOps } from './dialect-ops.js';
import { decodeCursor, isInteger, isIntegerPair, toPage } from './paging.js';
import type { Database } from './schema.js';
import type { CursorSpan, EventStore, GeneratedEventWriter, PipelineReadOptions } from './storage.js';

export type EventRow = Selectable<Database['events']>;

/** The events table's columns for a pipeline read. */
export function pipelineColumns() {
  return sql`id, workspace_id, message_id, type, name, user_id, anonymous_id, "timestamp",
    original_timestamp, sent_at, received_at, origin, payload`;
}

export function toStoredEvent(row: EventRow, ops: DialectOps): StoredEvent {
  return {
    id: Number(row.id),
    workspaceId: row.workspace_id,
    messageId: row.message_id,
    type: row.type as EventType,
    name: row.name,
    userId: row.user_id,
    anonymousId: row.anonymous_id,
    timestamp: Number(row.timestamp),
    originalTimestamp: row.original_timestamp === null ? null : Number(row.original_timestamp),
    sentAt: row.sent_at === null ? null : Number(row.sent_at),
    receivedAt: Number(row.received_at),
    payload: ops.readJson(row.payload),
    ...(row.origin === 'mops' ? { origin: 'mops' as const } : {}),
  };
}

/** The read side of the event log; each backend adds its own `append`. */
export function createEventReader(db: Kysely<Database>, ops: DialectOps): Omit<EventStore, 'append'> {
  return {
    async list(workspaceId, page) {
      const before = decodeCursor(page.cursor, isInteger);
      let query = db.selectFrom('events').selectAll().where('workspace_id', '=', workspaceId);
      if (before !== undefined) query = query.where('id', '<', before);
      const rows = await query
        .orderBy('id', 'desc')
        .limit(page.limit + 1)
        .execute();
      return toPage(
        rows,
        page.limit,
        (row) => toStoredEvent(row, ops),
        (row) => Number(row.id),
      );
    },

    async recentNames(workspaceId, options) {
      const latest = db
        .selectFrom('events')
        .select('name')
        .where('workspace_id', '=', workspaceId)
        .orderBy('id', 'desc')
        .limit(options.scan)
        .as('latest');
      const rows = await db
        .selectFrom(latest)
        .select(['name', (eb) => eb.fn.countAll<number>().as('n')])
        .where('name', 'is not', null)
        .groupBy('name')
        .orderBy('n', 'desc')
        .orderBy('name')
        .limit(options.limit)
        .execute();
      return rows.map((row) => ({ name: row.name as string, count: Number(row.n) }));
    },

    async listRejected(workspaceId, page, range) {
      const before = decodeCursor(page.cursor, isInteger);
      let query = db.selectFrom('rejected_events').selectAll().where('workspace_id', '=', workspaceId);
      if (before !== undefined) query = query.where('id', '<', before);
      if (range) query = query.where('received_at', '>=', range.from).where('received_at', '<', range.to);
      const rows = await query
        .orderBy('id', 'desc')
        .limit(page.limit + 1)
        .execute();
      return toPage(
        rows,
        page.limit,
        (row): StoredRejectedEvent => ({
          id: Number(row.id),
          workspaceId: row.workspace_id,
          receivedAt: Number(row.received_at),
          messageId: row.message_id,
          reason: row.reason,
          field: row.field,
          payload: row.payload,
        }),
        (row) => Number(row.id),
      );
    },

    async listForIdentities(identityIds, page) {
      if (identityIds.length === 0) return { items: [], nextCursor: null };
      const before = decodeCursor(page.cursor, isIntegerPair);
      let query = db
        .selectFrom('identity_events as ie')
        .innerJoin('events as e', 'e.id', 'ie.event_id')
        .selectAll('e')
        .where('ie.identity_id', 'in', identityIds);
      if (before !== undefined) {
        const [timestamp, eventId] = before;
        query = query.where((eb) =>
          eb.or([
            eb('ie.timestamp', '<', timestamp),
            eb.and([eb('ie.timestamp', '=', timestamp), eb('ie.event_id', '<', eventId)]),
          ]),
        );
      }
      const rows = await query
        .orderBy('ie.timestamp', 'desc')
        .orderBy('ie.event_id', 'desc')
        .limit(page.limit + 1)
        .execute();
      return toPage(
        rows,
        page.limit,
        (row) => toStoredEvent(row, ops),
        (row) => [Number(row.timestamp), Number(row.id)],
      );
    },

    async newestReceivedAt() {
      // Down the primary key from the newest: a short walk past Mops's own events, if any.
      const row = await db
        .selectFrom('events')
        .select('received_at')
        .where('origin', 'is', null)
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? undefined : Number(row.received_at);
    },
    async listMessageIdsWithPrefix(workspaceId, prefix) {
      // substr, not LIKE: no wildcard in the prefix to escape, and the same case rules on both backends.
      const rows = await db
        .selectFrom('events')
        .select('message_id')
        .where('workspace_id', '=', workspaceId)
        .where(sql`substr(message_id, 1, ${prefix.length})`, '=', prefix)
        .execute();
      return rows.map((row) => row.message_id);
    },
  };
}

/**
 * Events Mops writes itself, inside the caller's transaction, marked `origin = mops` and filed under
 * their profile's identity at once (identity resolution has nothing to decide for them and skips
 * them). They reach the other consumers like any event once the transaction commits; on PostgreSQL
 * the commit also tells other processes (NOTIFY is transactional).
 */
export function createGeneratedEventWriter(db: Kysely<Database>, ops: DialectOps): GeneratedEventWriter {
  return {
    async append(generated) {
      if (generated.length === 0) return;
      for (const chunk of chunks(generated, 200)) {
        let insert = db.insertInto('events').values(
          chunk.map(({ event }) => ({
            workspace_id: event.workspaceId,
            message_id: event.messageId,
            type: event.type,
            name: event.name,
            user_id: event.userId,
            anonymous_id: event.anonymousId,
            timestamp: event.timestamp,
            original_timestamp: event.originalTimestamp,
            sent_at: event.sentAt,
            received_at: event.receivedAt,
            payload: event.payload,
            origin: 'mops',
          })),
        );
        if (ops.name === 'postgres') insert = insert.onConflict((oc) => oc.doNothing());
        const rows = await insert.returning(['id', 'message_id']).execute();
        const byMessageId = new Map(chunk.map((entry) => [entry.event.messageId, entry]));
        const timeline = rows.flatMap((row) => {
          const entry = byMessageId.get(row.message_id);
          return entry
            ? [{ identity_id: entry.identityId, timestamp: entry.event.timestamp, event_id: Number(row.id) }]
            : [];
        });
        if (timeline.length > 0)
          await db
            .insertInto('identity_events')
            .values(timeline)
            .onConflict((oc) => oc.doNothing())
            .execute();
      }
      if (ops.name === 'postgres') await sql`select pg_notify('mops_events', '')`.execute(db);
    },
  };
}

/** The condition on a pipeline read that passes over Mops's own events, but for those asked for by name. */
export function mopsEventsCondition(options: PipelineReadOptions | undefined): RawBuilder<unknown> {
  if (!options?.skipMopsEvents) return sql``;
  const read = options.mopsEventsRead ?? [];
  return read.length === 0
    ? sql`and origin is null`
    : sql`and (origin is null or name in (${sql.join(read)}))`;
}

/**
 * The condition on the events that count towards a pipeline read's limit: the clients' events, or
 * with `countsEveryEvent` every event the read returns.
 */
export function countedEventsCondition(options: PipelineReadOptions | undefined): RawBuilder<unknown> {
  return options?.countsEveryEvent ? mopsEventsCondition(options) : sql`and origin is null`;
}

/**
 * `Storage.setAside`'s writes, in the caller's transaction: moves the cursor from `span.after` to
 * `span.through` and keeps the events with the reason; false when the cursor stood elsewhere.
 */
export async function setAsideInTransaction(
  tx: Kysely<Database>,
  cursor: string,
  span: CursorSpan,
  events: StoredEvent[],
  reason: string,
  at: number,
): Promise<boolean> {
  const moved = await tx
    .updateTable('pipeline_cursors')
    .set({ position: span.through, updated_at: at })
    .where('name', '=', cursor)
    .where('position', '=', span.after)
    .executeTakeFirst();
  if (Number(moved.numUpdatedRows) !== 1) return false;
  const kept = storableError(reason);
  for (const part of chunks(events, 500))
    await tx
      .insertInto('set_aside_events')
      .values(
        part.map((event) => ({
          workspace_id: event.workspaceId,
          consumer: cursor,
          event_id: event.id,
          message_id: event.messageId,
          type: event.type,
          name: event.name,
          reason: kept,
          set_aside_at: at,
        })),
      )
      .execute();
  return true;
}
