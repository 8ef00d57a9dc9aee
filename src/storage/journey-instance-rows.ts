import type { Selectable } from 'kysely';
import type { JourneyInstance } from '../core/journey.js';
import type { DialectOps } from './dialect-ops.js';
import type { Database } from './schema.js';

export type InstanceRow = Selectable<Database['journey_instances']>;

/** A journey instance as its row stores it. */
export function toInstance(row: InstanceRow, ops: DialectOps): JourneyInstance {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    journeyId: row.journey_id,
    version: row.version,
    profileId: row.profile_id,
    status: row.status as JourneyInstance['status'],
    stepId: row.step_id,
    entryEvent: ops.readJson(row.entry_event),
    state: ops.readJson(row.state),
    enteredAt: Number(row.entered_at),
    updatedAt: Number(row.updated_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
    endReason: row.end_reason,
  };
}
