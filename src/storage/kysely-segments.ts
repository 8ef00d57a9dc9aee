import { type Kysely, type Selectable, sql } from 'kysely';
import { payloadProperties, type SegmentPayload } from '../core/event.js';
import type { IdentityKind } from '../core/profile.js';
import type { Segment, SegmentCondition } from '../core/segment-definition.js';
import { storableError } from '../core/storable-text.js';
import { chunks } from './chunks.js';
import type { DialectOps } from './dialect-ops.js';
import { listAdditionQueries } from './kysely-list-additions.js';
import { decodeCursor, isString, toPage } from './paging.js';
import { profileTimerTable } from './profile-timer-table.js';
import { firstEventIdAfter } from './received-order.js';
import type { Database } from './schema.js';
import type { ProfileEventFact, ProfileIdentity, SegmentMemberChange, SegmentStore } from './storage.js';

function toSegment(row: Selectable<Database['segments']>, ops: DialectOps): Segment {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    description: row.description,
    kind: row.kind as Segment['kind'],
    rule: row.rule === null ? null : ops.readJson<SegmentCondition>(row.rule),
    version: Number(row.version),
    status: row.status as Segment['status'],
    backfill: {
      total: Number(row.backfill_total),
      done: Number(row.backfill_done),
      startedAt: row.backfill_started_at === null ? null : Number(row.backfill_started_at),
      finishedAt: row.backfill_finished_at === null ? null : Number(row.backfill_finished_at),
      failure: row.backfill_failure,
    },
    readySince: row.ready_since === null ? null : Number(row.ready_since),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function segmentValues(segment: Segment) {
  return {
    id: segment.id,
    workspace_id: segment.workspaceId,
    name: segment.name,
    description: segment.description,
    kind: segment.kind,
    rule: segment.rule === null ? null : JSON.stringify(segment.rule),
    version: segment.version,
    status: segment.status,
    backfill_total: segment.backfill.total,
    backfill_done: segment.backfill.done,
    backfill_started_at: segment.backfill.startedAt,
    backfill_finished_at: segment.backfill.finishedAt,
    backfill_failure: segment.backfill.failure,
    ready_since: segment.readySince,
    created_at: segment.createdAt,
    updated_at: segment.updatedAt,
  };
}

function propertiesOf(payload: unknown, ops: DialectOps): Record<string, unknown> {
  return payloadProperties(ops.readJson<SegmentPayload>(payload));
}

/** The properties of an event read without them: one shared, as a backfill reads hundreds of thousands. */
const NO_PROPERTIES: Record<string, unknown> = Object.freeze({});

/** Identity values looked up per statement: fewer round trips, well under both backends' bound-variable limits. */
const IDENTITY_LOOKUPS = 2000;

export function createSegmentStore(db: Kysely<Database>, ops: DialectOps): SegmentStore {
  /** The profiles these identity values of one kind lead to (nulls and repeats are skipped). */
  const profilesOfIdentities = async (
    workspaceId: string,
    kind: IdentityKind,
    values: ReadonlyArray<string | null>,
  ): Promise<Map<string, string>> => {
    const found = new Map<string, string>();
    // In order: each statement then reads one stretch of the index, not pages all over it.
    const distinct = [...new Set(values)].filter((value): value is string => value !== null).sort();
    for (const chunk of chunks(distinct, IDENTITY_LOOKUPS)) {
      const rows = await db
        .selectFrom('identities')
        .select(['value', 'profile_id'])
        .where('workspace_id', '=', workspaceId)
        .where('kind', '=', kind)
        .where('value', 'in', chunk)
        .execute();
      for (const row of rows) found.set(row.value, row.profile_id);
    }
    return found;
  };
  const timerTable = profileTimerTable(db, ops, 'segment_profile_timers');
  const readTimers = async (profileIds: string[], isLocked: boolean) => {
    const found = new Map<string, number>();
    // Locks are taken in id order, so two writers locking several never wait on each other in a circle.
    for (const chunk of chunks(isLocked ? [...profileIds].sort() : profileIds)) {
      const rows = await db
        .selectFrom('segment_profile_timers')
        .select(['profile_id', 'due_at'])
        .where('profile_id', 'in', chunk)
        .$if(isLocked, (query) => query.orderBy('profile_id').forUpdate())
        .execute();
      for (const row of rows) found.set(row.profile_id, Number(row.due_at));
    }
    return found;
  };
  /** Inserts members not in their segment yet; a member already there stays as it was. */
  const insertMembers = (changes: readonly SegmentMemberChange[]) =>
    db
      .insertInto('segment_members')
      .values(
        changes.map((change) => ({
          segment_id: change.segmentId,
          profile_id: change.profileId,
          workspace_id: change.workspaceId,
          entered_at: change.at,
        })),
      )
      .onConflict((oc) => oc.doNothing());

  return {
    ...listAdditionQueries(db, ops),
    async lockDefinitions(workspaceId) {
      await ops.lockKey(`segment-definitions/${workspaceId}`)?.execute(db);
    },
    async create(segment) {
      await db.insertInto('segments').values(segmentValues(segment)).execute();
    },
    async update(change) {
      const isNewVersion = change.isNewVersion === true || change.rule !== undefined;
      await db
        .updateTable('segments')
        .set({
          updated_at: change.at,
          ...(change.name === undefined ? {} : { name: change.name }),
          ...(change.description === undefined ? {} : { description: change.description }),
          ...(change.rule === undefined
            ? {}
            : { rule: change.rule === null ? null : JSON.stringify(change.rule) }),
          ...(isNewVersion
            ? {
                version: sql<number>`version + 1`,
                status: 'backfilling',
                backfill_total: 0,
                backfill_done: 0,
                backfill_after: null,
                backfill_started_at: change.at,
                backfill_finished_at: null,
                backfill_failure: null,
              }
            : {}),
        })
        .where('id', '=', change.id)
        .execute();
    },
    async find(workspaceId, id) {
      const row = await db
        .selectFrom('segments')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toSegment(row, ops) : undefined;
    },
    async list(workspaceId) {
      const rows = await db
        .selectFrom('segments')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .orderBy('created_at')
        .execute();
      return rows.map((row) => toSegment(row, ops));
    },
    async delete(workspaceId, id) {
      const result = await db
        .deleteFrom('segments')
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await db.deleteFrom('segment_members').where('segment_id', '=', id).execute();
      return true;
    },
    async listLive(workspaceId) {
      let query = db.selectFrom('segments').selectAll().where('kind', '=', 'live');
      if (workspaceId !== undefined) query = query.where('workspace_id', '=', workspaceId);
      const rows = await query.orderBy('created_at').execute();
      return rows.map((row) => toSegment(row, ops));
    },
    async listBackfilling() {
      const rows = await db
        .selectFrom('segments')
        .selectAll()
        .where('status', '=', 'backfilling')
        .where('backfill_failure', 'is', null)
        .orderBy('updated_at')
        .execute();
      return rows.map((row) => toSegment(row, ops));
    },
    async stopBackfill({ id, version, failure }) {
      await db
        .updateTable('segments')
        .set({ backfill_failure: storableError(failure) })
        .where('id', '=', id)
        .where('version', '=', version)
        .where('status', '=', 'backfilling')
        .execute();
    },
    async saveBackfillProgress(progress) {
      const result = await db
        .updateTable('segments')
        .set({
          backfill_after: progress.after,
          backfill_done: progress.done,
          backfill_total: progress.total,
          ...(progress.finishedAt === null
            ? {}
            : {
                status: 'ready',
                backfill_finished_at: progress.finishedAt,
                ready_since: sql<number>`coalesce(ready_since, ${progress.finishedAt})`,
              }),
        })
        .where('id', '=', progress.id)
        .where('version', '=', progress.version)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async backfillPosition(id, version) {
      const result = await sql<{ backfill_after: string | null }>`
        select backfill_after from segments
        where id = ${id} and version = ${version} and status = 'backfilling' ${sql.raw(ops.lockRows)}`.execute(
        db,
      );
      const row = result.rows[0];
      return row === undefined ? undefined : { after: row.backfill_after };
    },
    async startBackfill(id, version, at) {
      await db
        .updateTable('segments')
        .set({ backfill_started_at: at })
        .where('id', '=', id)
        .where('version', '=', version)
        .where('status', '=', 'backfilling')
        .where('backfill_after', 'is', null)
        .execute();
      const row = await db
        .selectFrom('segments')
        .select('backfill_started_at')
        .where('id', '=', id)
        .where('version', '=', version)
        .where('status', '=', 'backfilling')
        .executeTakeFirst();
      return row?.backfill_started_at == null ? undefined : Number(row.backfill_started_at);
    },

    async memberships(profileIds, segmentIds) {
      const found = new Map<string, Set<string>>();
      if (segmentIds?.length === 0) return found;
      const wanted = segmentIds ? new Set(segmentIds) : undefined;
      for (const chunk of chunks(profileIds)) {
        // Filtered here, not in SQL: with both lists there, SQLite probes every (profile, segment) pair
        // (three times slower for 50 segments than reading each profile's few rows).
        const rows = await db
          .selectFrom('segment_members')
          .select(['profile_id', 'segment_id'])
          .where('profile_id', 'in', chunk)
          .execute();
        for (const row of rows) {
          if (wanted && !wanted.has(row.segment_id)) continue;
          const set = found.get(row.profile_id) ?? new Set<string>();
          set.add(row.segment_id);
          found.set(row.profile_id, set);
        }
      }
      return found;
    },
    async applyMembership({ entered, exited }) {
      for (const chunk of chunks(entered, 200)) {
        await insertMembers(chunk).execute();
      }
      const bySegment = new Map<string, string[]>();
      for (const change of exited) {
        const list = bySegment.get(change.segmentId) ?? [];
        list.push(change.profileId);
        bySegment.set(change.segmentId, list);
      }
      for (const [segmentId, profileIds] of bySegment) {
        for (const chunk of chunks(profileIds)) {
          await db
            .deleteFrom('segment_members')
            .where('segment_id', '=', segmentId)
            .where('profile_id', 'in', chunk)
            .execute();
        }
      }
    },
    async addMembers(entered) {
      const added: SegmentMemberChange[] = [];
      for (const chunk of chunks(entered, 200)) {
        const rows = await insertMembers(chunk).returning(['segment_id', 'profile_id']).execute();
        const inserted = new Set(rows.map((row) => `${row.segment_id}:${row.profile_id}`));
        for (const change of chunk)
          if (inserted.has(`${change.segmentId}:${change.profileId}`)) added.push(change);
      }
      return added;
    },
    timersOf: (profileIds) => readTimers(profileIds, false),
    lockTimersOf: async (profileIds) => (ops.lockRows === '' ? undefined : readTimers(profileIds, true)),
    bringTimersForward: timerTable.bringForward,
    takeDueTimers: timerTable.takeDue,
    async newestEventId() {
      const row = await db
        .selectFrom('events')
        .select((eb) => eb.fn.max('id').as('newest'))
        .executeTakeFirst();
      return Number(row?.newest ?? 0);
    },
    async firstReceivedAfter(position) {
      const { rows } = await sql<{ received_at: number | string }>`
        select received_at from events where ${ops.afterLogPosition(position)}
        order by ${ops.logOrder} limit 1`.execute(db);
      return rows[0] === undefined ? undefined : Number(rows[0].received_at);
    },
    nextTimerDue: timerTable.nextDue,
    async countMembers(segmentId) {
      const row = await db
        .selectFrom('segment_members')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('segment_id', '=', segmentId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async listMembers(segmentId, page) {
      const after = decodeCursor(page.cursor, isString);
      let query = db
        .selectFrom('segment_members')
        .select(['profile_id', 'entered_at'])
        .where('segment_id', '=', segmentId);
      if (after !== undefined) query = query.where('profile_id', '>', after);
      const rows = await query
        .orderBy('profile_id')
        .limit(page.limit + 1)
        .execute();
      return toPage(
        rows,
        page.limit,
        (row) => ({ profileId: row.profile_id, enteredAt: Number(row.entered_at) }),
        (row) => row.profile_id,
      );
    },
    async listSegmentsOfProfile(profileId) {
      const rows = await db
        .selectFrom('segment_members')
        .select(['segment_id', 'entered_at'])
        .where('profile_id', '=', profileId)
        .orderBy('entered_at')
        .execute();
      return rows.map((row) => ({ segmentId: row.segment_id, enteredAt: Number(row.entered_at) }));
    },

    async eventFacts({ workspaceId, profileIds, names }) {
      if (profileIds.length === 0 || names.length === 0) return [];
      const wanted = new Map(names.map((entry) => [entry.name, entry]));
      // identity_events is keyed (identity, timestamp): the oldest window bounds a range scan per identity.
      const oldest = names.some((entry) => entry.since === null)
        ? null
        : Math.min(...names.map((entry) => entry.since as number));
      const withPayload = names.some((entry) => entry.withProperties);
      const facts: ProfileEventFact[] = [];
      for (const chunk of chunks(profileIds)) {
        let query = db
          .selectFrom('identities as i')
          .innerJoin('identity_events as ie', 'ie.identity_id', 'i.id')
          .innerJoin('events as e', 'e.id', 'ie.event_id')
          .select(['i.profile_id', 'e.id', 'e.name', 'e.timestamp'])
          // Profile ids are unique across workspaces: naming the workspace here would lead SQLite to
          // walk the workspace's whole identity index instead of looking the profiles up.
          .where('i.profile_id', 'in', chunk)
          .where('e.workspace_id', '=', workspaceId)
          .where('e.name', 'in', [...wanted.keys()]);
        if (oldest !== null) query = query.where('ie.timestamp', '>', oldest);
        const rows = await (withPayload ? query.select('e.payload') : query).execute();
        // An event filed under both of a profile's identities (user and anonymous) counts once.
        const seen = new Set<string>();
        for (const row of rows as Array<(typeof rows)[number] & { payload?: unknown }>) {
          const entry = wanted.get(row.name as string);
          if (!entry || (entry.since !== null && Number(row.timestamp) <= entry.since)) continue;
          const key = `${row.profile_id}:${row.id}`;
          if (seen.has(key)) continue;
          seen.add(key);
          facts.push({
            profileId: row.profile_id,
            eventId: Number(row.id),
            name: row.name as string,
            timestamp: Number(row.timestamp),
            properties: entry.withProperties ? propertiesOf(row.payload, ops) : NO_PROPERTIES,
          });
        }
      }
      return facts.sort((a, b) => a.timestamp - b.timestamp || a.eventId - b.eventId);
    },
    async eventsNamed({ workspaceId, name, since, withProperties }) {
      const result = await sql<{
        id: number;
        timestamp: number;
        user_id: string | null;
        anonymous_id: string | null;
        payload?: unknown;
      }>`
        select e.id, e.timestamp, e.user_id, e.anonymous_id ${withProperties ? sql`, e.payload` : sql``}
        from events e
        where e.workspace_id = ${workspaceId} and e.name = ${name}
          ${since === null ? sql`` : sql`and e.timestamp > ${since} and e.id >= ${await firstEventIdAfter(db, since)}`}
        order by e.timestamp, e.id`.execute(db);
      // The event's own ids lead to its profile: a user id wins over an anonymous id, as in resolution.
      // Each id is looked up once, however many events carry it (joined per event, most of the time).
      const users = await profilesOfIdentities(
        workspaceId,
        'user',
        result.rows.map((row) => row.user_id),
      );
      const anonymous = await profilesOfIdentities(
        workspaceId,
        'anonymous',
        result.rows.map((row) => (row.user_id !== null && users.has(row.user_id) ? null : row.anonymous_id)),
      );
      const facts: ProfileEventFact[] = [];
      for (const row of result.rows) {
        const profileId =
          (row.user_id === null ? undefined : users.get(row.user_id)) ??
          (row.anonymous_id === null ? undefined : anonymous.get(row.anonymous_id));
        if (profileId === undefined) continue;
        facts.push({
          profileId,
          eventId: Number(row.id),
          name,
          timestamp: Number(row.timestamp),
          properties: withProperties ? propertiesOf(row.payload, ops) : NO_PROPERTIES,
        });
      }
      return facts;
    },
    async listProfilesAfter(workspaceId, after, limit) {
      let query = db
        .selectFrom('profiles')
        .select(['id', 'traits', 'last_seen_at'])
        .where('workspace_id', '=', workspaceId)
        .where('merged_into', 'is', null);
      if (after !== null) query = query.where('id', '>', after);
      const rows = await query.orderBy('id').limit(limit).execute();
      return rows.map((row) => ({
        id: row.id,
        traits: ops.readJson<Record<string, unknown>>(row.traits),
        lastSeenAt: Number(row.last_seen_at),
      }));
    },
    async changedSince(profileIds, since) {
      const changed = new Set<string>();
      for (const chunk of chunks([...profileIds].sort())) {
        const result = await sql<{ id: string; updated_at: number }>`
          select id, updated_at from profiles where id in (${sql.join(chunk)})
          order by id ${sql.raw(ops.lockRows)}`.execute(db);
        for (const row of result.rows) if (Number(row.updated_at) > since) changed.add(row.id);
      }
      return changed;
    },
    async findLiveProfiles(workspaceId, ids, withTraits) {
      const found: Array<{ id: string; traits: Record<string, unknown>; lastSeenAt: number }> = [];
      for (const chunk of chunks(ids)) {
        const query = db
          .selectFrom('profiles')
          .select(['id', 'last_seen_at'])
          .where('id', 'in', chunk)
          .where('workspace_id', '=', workspaceId)
          .where('merged_into', 'is', null);
        const rows = await (withTraits ? query.select('traits') : query).execute();
        for (const row of rows as Array<(typeof rows)[number] & { traits?: unknown }>)
          found.push({
            id: row.id,
            traits: withTraits ? ops.readJson<Record<string, unknown>>(row.traits) : {},
            lastSeenAt: Number(row.last_seen_at),
          });
      }
      return found;
    },
    async countProfiles(workspaceId) {
      const row = await db
        .selectFrom('profiles')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('workspace_id', '=', workspaceId)
        .where('merged_into', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async idsOf(profileIds) {
      const found = new Map<string, { identity: ProfileIdentity; rank: number }>();
      for (const chunk of chunks(profileIds)) {
        const rows = await db
          .selectFrom('identities as i')
          .innerJoin('profiles as p', 'p.id', 'i.profile_id')
          .select(['i.id', 'i.profile_id', 'i.kind', 'i.value', 'p.user_id'])
          .where('i.profile_id', 'in', chunk)
          .orderBy('i.id')
          .execute();
        for (const row of rows) {
          // A user id, when the profile has one, is what a reader recognises: the profile's own, not
          // that of one merged into it.
          const rank = row.kind !== 'user' ? 0 : row.value === row.user_id ? 2 : 1;
          const known = found.get(row.profile_id);
          if (known && known.rank >= rank) continue;
          found.set(row.profile_id, {
            identity: { identityId: Number(row.id), kind: row.kind as IdentityKind, value: row.value },
            rank,
          });
        }
      }
      return new Map([...found].map(([profileId, { identity }]) => [profileId, identity]));
    },
    async accountTraits(profileIds) {
      const found = new Map<string, Array<Record<string, unknown>>>();
      for (const chunk of chunks(profileIds)) {
        const rows = await db
          .selectFrom('account_members as m')
          .innerJoin('accounts as a', 'a.id', 'm.account_id')
          .select(['m.profile_id', 'a.traits'])
          .where('m.profile_id', 'in', chunk)
          .execute();
        for (const row of rows) {
          const list = found.get(row.profile_id) ?? [];
          list.push(ops.readJson<Record<string, unknown>>(row.traits));
          found.set(row.profile_id, list);
        }
      }
      return found;
    },
  };
}
