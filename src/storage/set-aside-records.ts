import type { Kysely, Selectable } from 'kysely';
import type { SetAsideResolution, SetAsideResolutionKind } from '../core/set-aside.js';
import { decodeCursor, isInteger, toPage } from './paging.js';
import type { Database } from './schema.js';
import type { Page, PageRequest, SetAsideFilter } from './storage.js';

/** The two kinds of work set aside: events a consumer failed on, timers that failed to fire. */
type SetAsideTable = 'set_aside_events' | 'set_aside_timers';

/**
 * What the stores of set-aside events and timers share: the same paging, lookup and resolution of
 * their records, each table turning its rows into its own record.
 */
export function setAsideRecords<Table extends SetAsideTable, Item>(
  db: Kysely<Database>,
  table: Table,
  toItem: (row: Selectable<Database[Table]>) => Item,
) {
  // Kysely cannot narrow a query on a generic table; both tables have the columns used here.
  const from = () => db.selectFrom(table as SetAsideTable).selectAll();
  const toRecord = (row: unknown) => toItem(row as Selectable<Database[Table]>);
  return {
    /** Newest first, unresolved ones unless the filter asks for the resolved. */
    async list(workspaceId: string, page: PageRequest, filter?: SetAsideFilter): Promise<Page<Item>> {
      const before = decodeCursor(page.cursor, isInteger);
      let query = from()
        .where('workspace_id', '=', workspaceId)
        .where('resolved_at', filter?.isResolved ? 'is not' : 'is', null);
      if (before !== undefined) query = query.where('id', '<', before);
      const rows = await query
        .orderBy('id', 'desc')
        .limit(page.limit + 1)
        .execute();
      return toPage(rows, page.limit, toRecord, (row) => Number(row.id));
    },

    async find(workspaceId: string, id: number): Promise<Item | undefined> {
      const row = await from()
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? undefined : toRecord(row);
    },

    /** Marks a record resolved; false when it already was (another operator, another process). */
    async resolve(id: number, resolution: SetAsideResolution): Promise<boolean> {
      const updated = await db
        .updateTable(table as SetAsideTable)
        .set({ resolved_at: resolution.at, resolution: resolution.how, resolved_by: resolution.by })
        .where('id', '=', id)
        .where('resolved_at', 'is', null)
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 1;
    },
  };
}

/** A record's resolution as its columns keep it; null while unresolved. */
export function resolutionOf(row: {
  resolved_at: number | string | null;
  resolution: string | null;
  resolved_by: string | null;
}): SetAsideResolution | null {
  if (row.resolved_at === null || row.resolution === null) return null;
  return { how: row.resolution as SetAsideResolutionKind, at: Number(row.resolved_at), by: row.resolved_by };
}
