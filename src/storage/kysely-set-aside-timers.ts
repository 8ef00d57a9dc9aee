import type { Kysely, Selectable } from 'kysely';
import { storableError } from '../core/storable-text.js';
import type { DueTimer, SetAsideTimer, TimerKind } from '../core/timers.js';
import { takeOffProfileTimer } from './profile-timer-table.js';
import type { Database } from './schema.js';
import { resolutionOf, setAsideRecords } from './set-aside-records.js';
import type { SetAsideTimerStore } from './storage.js';

export function createSetAsideTimerStore(db: Kysely<Database>): SetAsideTimerStore {
  return {
    ...setAsideRecords(db, 'set_aside_timers', toSetAsideTimer),

    async add(timer, reason, at) {
      if (!(await takeOffDueTimers(db, timer))) return false;
      await db
        .insertInto('set_aside_timers')
        .values({
          workspace_id: timer.workspaceId,
          kind: timer.kind,
          subject: timer.subject,
          token: timer.token,
          due_at: timer.dueAt,
          reason: storableError(reason),
          set_aside_at: at,
        })
        .execute();
      return true;
    },

    async countByKind() {
      const rows = await db
        .selectFrom('set_aside_timers')
        .select(['kind', (eb) => eb.fn.countAll<number | string>().as('count')])
        .where('resolved_at', 'is', null)
        .groupBy('kind')
        .execute();
      return new Map(rows.map((row) => [row.kind as TimerKind, Number(row.count)]));
    },
  };
}

function toSetAsideTimer(row: Selectable<Database['set_aside_timers']>): SetAsideTimer {
  return {
    id: Number(row.id),
    workspaceId: row.workspace_id,
    kind: row.kind as TimerKind,
    subject: row.subject,
    token: row.token,
    dueAt: Number(row.due_at),
    reason: row.reason,
    setAsideAt: Number(row.set_aside_at),
    resolution: resolutionOf(row),
  };
}

/**
 * Makes the timer no longer fall due; false when it is not as it was when it failed (handled or moved
 * meanwhile). A hand-off keeps its row and stays pending: the SLA check passes over those set aside
 * and not yet resolved.
 */
async function takeOffDueTimers(db: Kysely<Database>, timer: DueTimer): Promise<boolean> {
  switch (timer.kind) {
    case 'journey': {
      const deleted = await db
        .deleteFrom('journey_timers')
        .where('instance_id', '=', timer.subject)
        .where('token', '=', timer.token ?? '')
        .where('due_at', '=', timer.dueAt)
        .executeTakeFirst();
      return Number(deleted.numDeletedRows) > 0;
    }
    case 'segment':
    case 'stage':
      return takeOffProfileTimer(db, timer.kind === 'segment' ? 'segment_profile_timers' : 'stage_timers', {
        profileId: timer.subject,
        dueAt: timer.dueAt,
      });
    case 'hand-off': {
      const pending = await db
        .selectFrom('hand_offs')
        .select('id')
        .where('id', '=', timer.subject)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return pending !== undefined;
    }
  }
}
