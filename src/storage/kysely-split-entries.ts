import { type Kysely, sql } from 'kysely';
import type { DialectOps } from './dialect-ops.js';
import { toInstance } from './journey-instance-rows.js';
import type { Database } from './schema.js';
import type { JourneyStore } from './storage.js';

/** The part of the journey store that keeps who took which arm of a split, and whether they met the goal. */
export function createSplitEntryStore(
  db: Kysely<Database>,
  ops: DialectOps,
): Pick<
  JourneyStore,
  'recordSplitEntry' | 'listGoalWatchedInstances' | 'markGoalReached' | 'tallySplits' | 'listSplitArms'
> {
  return {
    async recordSplitEntry(entry) {
      await db
        .insertInto('journey_split_entries')
        .values({
          instance_id: entry.instanceId,
          step_id: entry.stepId,
          workspace_id: entry.workspaceId,
          journey_id: entry.journeyId,
          arm: entry.arm,
          watch_until: entry.watchUntil,
          goal_reached_at: null,
        })
        .onConflict((oc) => oc.columns(['instance_id', 'step_id']).doNothing())
        .execute();
    },
    async listGoalWatchedInstances(workspaceId, profileIds, at) {
      const found = [];
      for (let i = 0; i < profileIds.length; i += 500) {
        const rows = await db
          .selectFrom('journey_instances as i')
          .selectAll('i')
          .where('i.workspace_id', '=', workspaceId)
          .where('i.profile_id', 'in', profileIds.slice(i, i + 500))
          .where(({ exists, selectFrom }) =>
            exists(
              selectFrom('journey_split_entries as e')
                .select('e.instance_id')
                .whereRef('e.instance_id', '=', 'i.id')
                .where('e.goal_reached_at', 'is', null)
                .where((eb) => eb.or([eb('e.watch_until', 'is', null), eb('e.watch_until', '>=', at)])),
            ),
          )
          .orderBy('i.entered_at')
          .execute();
        for (const row of rows) found.push(toInstance(row, ops));
      }
      return found;
    },
    async markGoalReached(instanceId, at) {
      await db
        .updateTable('journey_split_entries')
        .set({ goal_reached_at: at })
        .where('instance_id', '=', instanceId)
        .where('goal_reached_at', 'is', null)
        .execute();
    },
    async listSplitArms(instanceIds) {
      const arms = new Map<string, Array<{ stepId: string; arm: string | null }>>();
      for (let i = 0; i < instanceIds.length; i += 500) {
        const rows = await db
          .selectFrom('journey_split_entries')
          .select(['instance_id', 'step_id', 'arm'])
          .where('instance_id', 'in', instanceIds.slice(i, i + 500))
          .orderBy('instance_id')
          .orderBy('step_id')
          .execute();
        for (const row of rows)
          arms.set(row.instance_id, [
            ...(arms.get(row.instance_id) ?? []),
            { stepId: row.step_id, arm: row.arm },
          ]);
      }
      return arms;
    },
    async tallySplits(journeyId, now, versions) {
      // By contact first: one who entered again (re-entry, several carts) is one contact of their arm.
      // A contact seen in two arms (two profiles that each took one, merged since) counts in the arm
      // taken first only: counted in both, one person would weigh on both sides of the comparison.
      // Pending: within the goal's window; without one, still in the journey (the arms' steps have not
      // all played out: an arm that waits before it sends would look worse only for being slower).
      const result = await sql<{
        step_id: string;
        arm: string | null;
        entered: number | string;
        converted: number | string;
        pending: number | string;
        pending_converted: number | string;
      }>`
        with by_contact as (
          select e.step_id, e.arm, i.profile_id, min(i.entered_at) as first_entered_at,
            max(case when e.goal_reached_at is not null then 1 else 0 end) as reached,
            max(case
              when e.watch_until > ${now} then 1
              when e.watch_until is null and i.status = 'active' then 1
              else 0 end) as watched
          from journey_split_entries e
          join journey_instances i on i.id = e.instance_id
          where e.journey_id = ${journeyId}
            ${versions === undefined ? sql`` : sql`and i.version in (${sql.join(versions.length > 0 ? versions : [-1])})`}
          group by e.step_id, e.arm, i.profile_id
        ), first_arm as (
          select by_contact.*, row_number() over (
            partition by step_id, profile_id order by first_entered_at, arm
          ) as taken
          from by_contact
        )
        select step_id, arm, count(*) as entered, sum(reached) as converted, sum(watched) as pending,
          sum(case when reached = 1 and watched = 1 then 1 else 0 end) as pending_converted
        from first_arm
        where taken = 1
        group by step_id, arm
        order by step_id, arm`.execute(db);
      return result.rows.map((row) => ({
        stepId: row.step_id,
        arm: row.arm,
        entered: Number(row.entered),
        converted: Number(row.converted),
        pending: Number(row.pending),
        pendingConverted: Number(row.pending_converted),
      }));
    },
  };
}
