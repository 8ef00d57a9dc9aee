import { type Kysely, type Selectable, sql } from 'kysely';
import {
  type EmailTemplate,
  HELD_OUT,
  type Journey,
  type JourneyInstance,
  type JourneyVersion,
} from '../core/journey.js';
import type { JourneyDefinition, JourneyStatus } from '../core/journey-definition.js';
import { WorkspaceSettings } from '../core/workspace-settings.js';
import type { DialectOps } from './dialect-ops.js';
import { type InstanceRow, toInstance } from './journey-instance-rows.js';
import { type EventRow, pipelineColumns, toStoredEvent } from './kysely-events.js';
import { memberEntryQueries } from './kysely-member-entries.js';
import { createSplitEntryStore } from './kysely-split-entries.js';
import type { Database } from './schema.js';
import type { JourneyReport, JourneyStore, SettingsStore, TemplateStore } from './storage.js';

function toJourney(row: Selectable<Database['journeys']>, ops: DialectOps): Journey {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    status: row.status as JourneyStatus,
    draft: ops.readJson<JourneyDefinition>(row.draft),
    currentVersion: row.current_version,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toVersion(row: Selectable<Database['journey_versions']>, ops: DialectOps): JourneyVersion {
  const stored = ops.readJson<{ definition: JourneyDefinition; templates: Record<string, EmailTemplate> }>(
    row.definition,
  );
  return {
    journeyId: row.journey_id,
    version: row.version,
    definition: stored.definition,
    templates: stored.templates,
    publishedAt: Number(row.published_at),
  };
}

function journeyValues(journey: Journey) {
  return {
    id: journey.id,
    workspace_id: journey.workspaceId,
    name: journey.name,
    status: journey.status,
    draft: JSON.stringify(journey.draft),
    current_version: journey.currentVersion,
    created_at: journey.createdAt,
    updated_at: journey.updatedAt,
  };
}

function toTemplate(row: Selectable<Database['templates']>): EmailTemplate {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    subject: row.subject,
    preheader: row.preheader,
    mjml: row.mjml,
    text: row.text,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function createJourneyStore(db: Kysely<Database>, ops: DialectOps): JourneyStore {
  return {
    ...memberEntryQueries(db, ops),
    async eventsOfProfileSince(profileId, name, since) {
      const { rows } = await sql<EventRow>`
        select ${pipelineColumns()} from events where id in (
          select ie.event_id from identities i
          join identity_events ie on ie.identity_id = i.id and ie.timestamp >= ${since}
          where i.profile_id = ${profileId})
        and name = ${name}
        order by "timestamp", id`.execute(db);
      return rows.map((row) => toStoredEvent(row, ops));
    },
    async create(journey) {
      await db.insertInto('journeys').values(journeyValues(journey)).execute();
    },
    async update(journey) {
      const { id, workspace_id: _, created_at: __, ...rest } = journeyValues(journey);
      await db.updateTable('journeys').set(rest).where('id', '=', id).execute();
    },
    async find(workspaceId, id) {
      const row = await db
        .selectFrom('journeys')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toJourney(row, ops);
    },
    async lock(workspaceId, id) {
      const row = await db
        .selectFrom('journeys')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .$if(ops.lockRows !== '', (query) => query.forUpdate())
        .executeTakeFirst();
      return row && toJourney(row, ops);
    },
    async list(workspaceId) {
      const rows = await db
        .selectFrom('journeys')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map((row) => toJourney(row, ops));
    },
    async addVersion(version) {
      await db
        .insertInto('journey_versions')
        .values({
          journey_id: version.journeyId,
          version: version.version,
          definition: JSON.stringify({ definition: version.definition, templates: version.templates }),
          published_at: version.publishedAt,
        })
        .execute();
    },
    async findVersion(journeyId, version) {
      const row = await db
        .selectFrom('journey_versions')
        .selectAll()
        .where('journey_id', '=', journeyId)
        .where('version', '=', version)
        .executeTakeFirst();
      return row && toVersion(row, ops);
    },
    async listVersionsRunning(journeyId) {
      const rows = await db
        .selectFrom('journey_versions as v')
        .selectAll('v')
        .where('v.journey_id', '=', journeyId)
        .where(({ exists, selectFrom }) =>
          exists(
            selectFrom('journey_instances as i')
              .select('i.id')
              .whereRef('i.journey_id', '=', 'v.journey_id')
              .whereRef('i.version', '=', 'v.version')
              .where('i.status', '=', 'active'),
          ),
        )
        .orderBy('v.version')
        .execute();
      return rows.map((row) => toVersion(row, ops));
    },
    async listLive(workspaceId) {
      const rows = await db
        .selectFrom('journeys')
        .innerJoin('journey_versions', (join) =>
          join
            .onRef('journey_versions.journey_id', '=', 'journeys.id')
            .onRef('journey_versions.version', '=', 'journeys.current_version'),
        )
        .selectAll('journeys')
        .select([
          'journey_versions.definition as version_definition',
          'journey_versions.published_at as version_published_at',
        ])
        .where('journeys.workspace_id', '=', workspaceId)
        .where('journeys.status', '=', 'published')
        .execute();
      return rows.map((row) => ({
        journey: toJourney(row, ops),
        version: toVersion(
          {
            journey_id: row.id,
            version: row.current_version ?? 0,
            definition: row.version_definition,
            published_at: row.version_published_at,
          },
          ops,
        ),
      }));
    },

    async insertInstance(instance) {
      await db.insertInto('journey_instances').values(instanceValues(instance)).execute();
    },
    async updateInstance(instance) {
      await db
        .updateTable('journey_instances')
        .set({
          status: instance.status,
          step_id: instance.stepId,
          state: JSON.stringify(instance.state),
          updated_at: instance.updatedAt,
          ended_at: instance.endedAt,
          end_reason: instance.endReason,
        })
        .where('id', '=', instance.id)
        .execute();
    },
    async lockInstance(id) {
      const result =
        await sql<InstanceRow>`select * from journey_instances where id = ${id} ${sql.raw(ops.lockRows)}`.execute(
          db,
        );
      const row = result.rows[0];
      return row && toInstance(row, ops);
    },
    async findInstance(workspaceId, id) {
      const row = await db
        .selectFrom('journey_instances')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toInstance(row, ops);
    },
    async listActiveInstances(workspaceId, profileIds) {
      const found: JourneyInstance[] = [];
      for (let i = 0; i < profileIds.length; i += 500) {
        const rows = await db
          .selectFrom('journey_instances')
          .selectAll()
          .where('workspace_id', '=', workspaceId)
          .where('profile_id', 'in', profileIds.slice(i, i + 500))
          .where('status', '=', 'active')
          .orderBy('entered_at')
          .execute();
        for (const row of rows) found.push(toInstance(row, ops));
      }
      return found;
    },
    async listInstancesOfProfile(workspaceId, profileId) {
      const rows = await db
        .selectFrom('journey_instances')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('profile_id', '=', profileId)
        .orderBy('entered_at', 'desc')
        .limit(200)
        .execute();
      return rows.map((row) => toInstance(row, ops));
    },
    async markGoalMetAfterEnding(instanceIds, at) {
      for (let i = 0; i < instanceIds.length; i += 500)
        await db
          .updateTable('journey_instances')
          .set({ goal_met_after_ending_at: at })
          .where('id', 'in', instanceIds.slice(i, i + 500))
          .where('status', 'in', ['completed', 'exited'])
          .where((eb) => eb.or([eb('end_reason', 'is', null), eb('end_reason', '<>', HELD_OUT)]))
          .where('goal_met_after_ending_at', 'is', null)
          .execute();
    },
    async listActiveInstanceIds(journeyId) {
      const rows = await db
        .selectFrom('journey_instances')
        .select('id')
        .where('journey_id', '=', journeyId)
        .where('status', '=', 'active')
        .execute();
      return rows.map((row) => row.id);
    },
    async lastEntry(journeyId, profileId) {
      const row = await db
        .selectFrom('journey_instances')
        .select((eb) => [
          eb.fn.max('entered_at').as('entered_at'),
          eb.fn.sum<number>(eb.case().when('status', '=', 'active').then(1).else(0).end()).as('active'),
        ])
        .where('journey_id', '=', journeyId)
        .where('profile_id', '=', profileId)
        .executeTakeFirst();
      if (!row || row.entered_at === null) return undefined;
      return { enteredAt: Number(row.entered_at), hasActive: Number(row.active ?? 0) > 0 };
    },
    async lockProfileEntries(profileId) {
      const lock = ops.lockKey(`journey-entry:${profileId}`);
      if (lock) await lock.execute(db);
    },

    async addTransitions(transitions) {
      for (let i = 0; i < transitions.length; i += 500) {
        await db
          .insertInto('journey_transitions')
          .values(
            transitions.slice(i, i + 500).map((t) => ({
              workspace_id: t.workspaceId,
              journey_id: t.journeyId,
              version: t.version,
              instance_id: t.instanceId,
              step_id: t.stepId,
              kind: t.kind,
              at: t.at,
            })),
          )
          .execute();
      }
    },
    async setTimer(timer) {
      await db
        .insertInto('journey_timers')
        .values({
          workspace_id: timer.workspaceId,
          instance_id: timer.instanceId,
          token: timer.token,
          due_at: timer.dueAt,
        })
        .onConflict((oc) => oc.columns(['instance_id', 'token']).doUpdateSet({ due_at: timer.dueAt }))
        .execute();
    },
    async clearTimers(instanceId) {
      await db.deleteFrom('journey_timers').where('instance_id', '=', instanceId).execute();
    },
    async claimDueTimers(now, limit) {
      // The instances are what is locked (PostgreSQL), as everything else moving an instance locks it
      // before its timers: locking the timers first deadlocked with an event batch clearing them.
      const lock = ops.skipLockedRows === '' ? '' : 'for update of i skip locked';
      const result = await sql<{
        id: number;
        workspace_id: string;
        instance_id: string;
        token: string;
        due_at: number;
      }>`
        select t.id, t.workspace_id, t.instance_id, t.token, t.due_at from journey_timers t
        join journey_instances i on i.id = t.instance_id
        where t.due_at <= ${now} order by t.due_at limit ${limit} ${sql.raw(lock)}`.execute(db);
      return result.rows.map((row) => ({
        id: Number(row.id),
        workspaceId: row.workspace_id,
        instanceId: row.instance_id,
        token: row.token,
        dueAt: Number(row.due_at),
      }));
    },
    async deleteTimer(id) {
      await db.deleteFrom('journey_timers').where('id', '=', id).execute();
    },
    async nextTimerDue() {
      const row = await db
        .selectFrom('journey_timers')
        .select((eb) => eb.fn.min('due_at').as('due'))
        .executeTakeFirst();
      return row?.due === null || row?.due === undefined ? undefined : Number(row.due);
    },
    async countWaiting() {
      const row = await db
        .selectFrom('journey_instances')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', '=', 'active')
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async report(journeyId) {
      return buildReport(db, journeyId);
    },
    ...createSplitEntryStore(db, ops),
  };
}

function instanceValues(instance: JourneyInstance) {
  return {
    id: instance.id,
    workspace_id: instance.workspaceId,
    journey_id: instance.journeyId,
    version: instance.version,
    profile_id: instance.profileId,
    status: instance.status,
    step_id: instance.stepId,
    entry_event: JSON.stringify(instance.entryEvent),
    state: JSON.stringify(instance.state),
    entered_at: instance.enteredAt,
    updated_at: instance.updatedAt,
    ended_at: instance.endedAt,
    end_reason: instance.endReason,
  };
}

async function buildReport(db: Kysely<Database>, journeyId: string): Promise<JourneyReport> {
  const transitions = await db
    .selectFrom('journey_transitions')
    .select(['step_id', 'kind', (eb) => eb.fn.countAll<number>().as('n')])
    .where('journey_id', '=', journeyId)
    .groupBy(['step_id', 'kind'])
    .execute();
  const waiting = await db
    .selectFrom('journey_instances')
    .select(['step_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('journey_id', '=', journeyId)
    .where('status', '=', 'active')
    .groupBy('step_id')
    .execute();
  const statuses = await db
    .selectFrom('journey_instances')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('journey_id', '=', journeyId)
    .groupBy('status')
    .execute();
  const convertedAfterEnding = await db
    .selectFrom('journey_instances')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('journey_id', '=', journeyId)
    .where('goal_met_after_ending_at', 'is not', null)
    .executeTakeFirstOrThrow();
  const heldOut = await db
    .selectFrom('journey_instances')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('journey_id', '=', journeyId)
    .where('status', '=', 'exited')
    .where('end_reason', '=', HELD_OUT)
    .executeTakeFirstOrThrow();
  const messages = await db
    .selectFrom('messages')
    .select((eb) => [
      'step_id',
      'status',
      eb.fn.countAll<number>().as('n'),
      eb.fn.count<number>('opened_at').as('opened'),
      eb.fn.count<number>('clicked_at').as('clicked'),
      eb.fn.count<number>('unsubscribed_at').as('unsubscribed'),
      eb.fn.count<number>('bounced_at').as('bounced'),
      eb.fn.count<number>('complained_at').as('complained'),
      eb.fn.count<number>('delivered_at').as('delivered'),
    ])
    .where('journey_id', '=', journeyId)
    .groupBy(['step_id', 'status'])
    .execute();

  const report: JourneyReport = {
    entered: 0,
    active: 0,
    completed: 0,
    exited: 0,
    converted: Number(convertedAfterEnding.n),
    heldOut: Number(heldOut.n),
    steps: {},
    messages: {},
  };
  const step = (id: string) => {
    report.steps[id] ??= { entered: 0, completed: 0, waiting: 0, exited: 0, converted: 0 };
    return report.steps[id];
  };
  for (const row of transitions) {
    const n = Number(row.n);
    if (row.step_id === null) continue;
    if (
      row.kind === 'entered' ||
      row.kind === 'completed' ||
      row.kind === 'exited' ||
      row.kind === 'converted'
    ) {
      step(row.step_id)[row.kind] += n;
    }
  }
  for (const row of waiting) if (row.step_id !== null) step(row.step_id).waiting += Number(row.n);
  for (const row of statuses) {
    const n = Number(row.n);
    report.entered += n;
    if (row.status === 'active') report.active += n;
    else if (row.status === 'completed') report.completed += n;
    else if (row.status === 'exited') report.exited += n;
    else if (row.status === 'converted') report.converted += n;
  }
  for (const row of messages) {
    if (row.step_id === null) continue;
    report.messages[row.step_id] ??= {
      sent: 0,
      opened: 0,
      clicked: 0,
      unsubscribed: 0,
      bounced: 0,
      complained: 0,
      delivered: 0,
      failed: 0,
      suppressed: 0,
      skipped: 0,
      pending: 0,
    };
    const entry = report.messages[row.step_id] as JourneyReport['messages'][string];
    const n = Number(row.n);
    if (row.status === 'sent') entry.sent += n;
    else if (row.status === 'failed') entry.failed += n;
    else if (row.status === 'suppressed') entry.suppressed += n;
    else if (row.status === 'skipped') entry.skipped += n;
    else entry.pending += n;
    entry.opened += Number(row.opened);
    entry.clicked += Number(row.clicked);
    entry.unsubscribed += Number(row.unsubscribed);
    entry.bounced += Number(row.bounced);
    entry.complained += Number(row.complained);
    entry.delivered += Number(row.delivered);
  }
  return report;
}

export function createTemplateStore(db: Kysely<Database>): TemplateStore {
  return {
    async upsert(template) {
      const values = {
        id: template.id,
        workspace_id: template.workspaceId,
        name: template.name,
        subject: template.subject,
        preheader: template.preheader,
        mjml: template.mjml,
        text: template.text,
        created_at: template.createdAt,
        updated_at: template.updatedAt,
      };
      await db
        .insertInto('templates')
        .values(values)
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({
            name: values.name,
            subject: values.subject,
            preheader: values.preheader,
            mjml: values.mjml,
            text: values.text,
            updated_at: values.updated_at,
          }),
        )
        .execute();
    },
    async find(workspaceId, id) {
      const row = await db
        .selectFrom('templates')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toTemplate(row);
    },
    async list(workspaceId) {
      const rows = await db
        .selectFrom('templates')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .orderBy('name')
        .execute();
      return rows.map(toTemplate);
    },
  };
}

export function createSettingsStore(db: Kysely<Database>, ops: DialectOps): SettingsStore {
  return {
    async get(workspaceId) {
      const row = await db
        .selectFrom('workspace_settings')
        .select('settings')
        .where('workspace_id', '=', workspaceId)
        .executeTakeFirst();
      return WorkspaceSettings.parse(row ? ops.readJson(row.settings) : {});
    },
    async savedAt(workspaceId) {
      const row = await db
        .selectFrom('workspace_settings')
        .select('updated_at')
        .where('workspace_id', '=', workspaceId)
        .executeTakeFirst();
      return row ? Number(row.updated_at) : null;
    },
    async put(workspaceId, settings, at) {
      const json = JSON.stringify(settings);
      await db
        .insertInto('workspace_settings')
        .values({ workspace_id: workspaceId, settings: json, updated_at: at })
        .onConflict((oc) =>
          oc.column('workspace_id').doUpdateSet({
            settings: json,
            // Strictly later than the save before, even within one millisecond: `savedAt` tells saves apart.
            updated_at: sql<number>`case when excluded.updated_at > workspace_settings.updated_at
              then excluded.updated_at else workspace_settings.updated_at + 1 end`,
          }),
        )
        .execute();
    },
  };
}
