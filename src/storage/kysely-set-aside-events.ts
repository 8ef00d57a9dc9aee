import { type Kysely, type Selectable, sql } from 'kysely';
import type { EventType, SetAsideEvent } from '../core/event.js';
import type { DialectOps } from './dialect-ops.js';
import { type EventRow, pipelineColumns, toStoredEvent } from './kysely-events.js';
import type { Database } from './schema.js';
import { resolutionOf, setAsideRecords } from './set-aside-records.js';
import type { SetAsideEventStore } from './storage.js';

export function createSetAsideEventStore(db: Kysely<Database>, ops: DialectOps): SetAsideEventStore {
  return {
    ...setAsideRecords(db, 'set_aside_events', toSetAsideEvent),

    async findEvent(workspaceId, eventId) {
      const { rows } = await sql<EventRow>`
        select ${pipelineColumns()} from events
        where id = ${eventId} and workspace_id = ${workspaceId}`.execute(db);
      return rows[0] === undefined ? undefined : toStoredEvent(rows[0], ops);
    },

    async holdOffConsumer(cursor) {
      if (ops.lockRows === '') return;
      await sql`select position from pipeline_cursors where name = ${cursor} for update`.execute(db);
    },

    async retriedCount(consumer) {
      const row = await db
        .selectFrom('set_aside_events')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('consumer', '=', consumer)
        .where('resolution', '=', 'retried')
        .executeTakeFirst();
      return Number(row?.count ?? 0);
    },

    async countByConsumer() {
      const rows = await db
        .selectFrom('set_aside_events')
        .select(['consumer', (eb) => eb.fn.countAll<number | string>().as('count')])
        .where('resolved_at', 'is', null)
        .groupBy('consumer')
        .execute();
      return new Map(rows.map((row) => [row.consumer, Number(row.count)]));
    },
  };
}

function toSetAsideEvent(row: Selectable<Database['set_aside_events']>): SetAsideEvent {
  return {
    id: Number(row.id),
    workspaceId: row.workspace_id,
    consumer: row.consumer,
    eventId: Number(row.event_id),
    messageId: row.message_id,
    type: row.type as EventType,
    name: row.name,
    reason: row.reason,
    setAsideAt: Number(row.set_aside_at),
    resolution: resolutionOf(row),
  };
}
