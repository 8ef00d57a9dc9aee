import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

/**
 * How far out of id order `received_at` may be: clock steps, and on PostgreSQL batches that took
 * their ids before committing, or processes whose clocks differ. An id search widens its range by
 * this much, then the time filter is exact.
 */
export const ORDER_SLACK_MS = 5 * 60_000;

type ReceivedTable = 'events' | 'rejected_events';

/*
 * The log has no index on `received_at` (one would slow ingest down), but ids follow receipt nearly
 * in order: a binary search of primary-key lookups finds the ids that bound a time range, and a
 * query over the range reads only those.
 */

/**
 * Ids `first` (inclusive) to `end` (exclusive) that hold every row received in [from, to), or
 * undefined when the table is empty.
 */
export async function idRange(
  db: Kysely<Database>,
  table: ReceivedTable,
  range: { from: number; to: number },
): Promise<{ first: number; end: number } | undefined> {
  const bounds = await idBounds(db, table);
  if (!bounds) return undefined;
  const first = await firstIdReceivedFrom(db, table, range.from - ORDER_SLACK_MS, bounds.low, bounds.high);
  const end = await firstIdReceivedFrom(db, table, range.to + ORDER_SLACK_MS, first, bounds.high);
  return { first, end };
}

/**
 * The smallest id that every event received after `at` has at least (0 when the log is empty). An
 * event happened at or before it was received (ingest clamps a timestamp in the future to the moment
 * of receipt), so this also bounds the events whose `timestamp` is after `at`.
 */
export async function firstEventIdAfter(db: Kysely<Database>, at: number): Promise<number> {
  const bounds = await idBounds(db, 'events');
  if (!bounds) return 0;
  return firstIdReceivedFrom(db, 'events', at - ORDER_SLACK_MS, bounds.low, bounds.high);
}

async function idBounds(
  db: Kysely<Database>,
  table: ReceivedTable,
): Promise<{ low: number; high: number } | undefined> {
  // Two subqueries: SQLite reads min and max off the primary key only when each is alone.
  const bounds = await sql<{ low: number | string | null; high: number | string | null }>`
    select (select min(id) from ${sql.table(table)}) as low, (select max(id) from ${sql.table(table)}) as high
  `.execute(db);
  const row = bounds.rows[0];
  if (!row || row.low === null || row.high === null) return undefined;
  return { low: Number(row.low), high: Number(row.high) };
}

/**
 * The smallest id whose row, and every later one, was received at or after `at` (ids are near
 * receipt order; of events, clients' ones); `high + 1` when none is. Each probe is one primary-key
 * lookup, or a short walk of the key past Mops's own events.
 */
async function firstIdReceivedFrom(
  db: Kysely<Database>,
  table: ReceivedTable,
  at: number,
  low: number,
  high: number,
): Promise<number> {
  let lo = low;
  let hi = high + 1;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    let query = db.selectFrom(table).select(['id', 'received_at']).where('id', '>=', mid);
    // Mops's own events are dated by what they record (a segment timer's by the moment it judged,
    // behind a backlog), not by when they were written: only clients' events keep receipt order.
    if (table === 'events') query = query.where('origin', 'is', null);
    const probe = await query.orderBy('id').limit(1).executeTakeFirst();
    if (probe && Number(probe.received_at) < at) lo = Number(probe.id) + 1;
    else hi = mid;
  }
  return lo;
}
