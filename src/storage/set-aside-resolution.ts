import type { Kysely } from 'kysely';
import type { SetAsideResolution, SetAsideResolutionKind } from '../core/set-aside.js';
import type { Database } from './schema.js';

type SetAsideTable = 'set_aside_events' | 'set_aside_timers';

/** A record's resolution as its columns keep it; null while unresolved. */
export function resolutionOf(row: {
  resolved_at: number | string | null;
  resolution: string | null;
  resolved_by: string | null;
}): SetAsideResolution | null {
  if (row.resolved_at === null || row.resolution === null) return null;
  return { how: row.resolution as SetAsideResolutionKind, at: Number(row.resolved_at), by: row.resolved_by };
}

/** Marks a record resolved; false when it already was (another operator, another process). */
export async function resolveRecord(
  db: Kysely<Database>,
  table: SetAsideTable,
  id: number,
  resolution: SetAsideResolution,
): Promise<boolean> {
  const updated = await db
    .updateTable(table)
    .set({ resolved_at: resolution.at, resolution: resolution.how, resolved_by: resolution.by })
    .where('id', '=', id)
    .where('resolved_at', 'is', null)
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}
