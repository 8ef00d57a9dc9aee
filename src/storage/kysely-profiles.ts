import { type Kysely, type Selectable, sql } from 'kysely';
import { phoneNumberOf } from '../core/phone-number.js';
import type { Account, Identity, IdentityKind, Profile, Traits, TraitTimes } from '../core/profile.js';
import { chunks } from './chunks.js';
import type { DialectOps } from './dialect-ops.js';
import { decodeCursor, isString, toPage } from './paging.js';
import { searchTextContains, searchTextOf } from './profile-search.js';
import type { Database } from './schema.js';
import {
  type AccountTraitChange,
  type AccountTraits,
  type IdentityKey,
  MERGES_LOCK_KEY,
  type ProfileStore,
  StaleBatchError,
  type TraitChange,
} from './storage.js';

const MAX_MERGE_HOPS = 16;

/** The columns a Profile is read from: all but `search_text`, which only a search reads (and is about as long as the traits). */
const PROFILE_COLUMNS = [
  'id',
  'workspace_id',
  'user_id',
  'traits',
  'trait_times',
  'first_seen_at',
  'last_seen_at',
  'created_at',
  'updated_at',
  'merged_into',
  'revision',
] as const;
type ProfileRow = Pick<Selectable<Database['profiles']>, (typeof PROFILE_COLUMNS)[number]>;

/** A contacts list's place when sorted by score: the score and id of the last contact shown. */
/** A page by score ends at `[score, profile id, model]`: a cursor of one model's order is no place in another's. */
const isScoreKeyOf =
  (model: string) =>
  (value: unknown): value is [number, string, string] =>
    Array.isArray(value) &&
    value.length === 3 &&
    typeof value[0] === 'number' &&
    Number.isFinite(value[0]) &&
    typeof value[1] === 'string' &&
    value[2] === model;

function toProfile(row: ProfileRow, ops: DialectOps): Profile {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    userId: row.user_id,
    traits: ops.readJson<Traits>(row.traits),
    traitTimes: ops.readJson<TraitTimes>(row.trait_times),
    firstSeenAt: Number(row.first_seen_at),
    lastSeenAt: Number(row.last_seen_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    mergedInto: row.merged_into,
    revision: Number(row.revision),
  };
}

/** The columns worked out from a profile's traits when they are written, so reads find it by them. */
function traitDerivedValues(traits: Traits): { search_text: string; phone_number: string | null } {
  return { search_text: searchTextOf(traits), phone_number: phoneNumberOf({ traits }) ?? null };
}

function toIdentity(row: Selectable<Database['identities']>): Identity {
  return {
    id: Number(row.id),
    workspaceId: row.workspace_id,
    kind: row.kind as IdentityKind,
    value: row.value,
    profileId: row.profile_id,
    createdAt: Number(row.created_at),
  };
}

function toAccount(row: Selectable<Database['accounts']>, ops: DialectOps): Account {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    groupId: row.group_id,
    traits: ops.readJson<Traits>(row.traits),
    traitTimes: ops.readJson<TraitTimes>(row.trait_times),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function profileValues(profile: Profile) {
  return {
    id: profile.id,
    workspace_id: profile.workspaceId,
    user_id: profile.userId,
    traits: JSON.stringify(profile.traits),
    trait_times: JSON.stringify(profile.traitTimes),
    first_seen_at: profile.firstSeenAt,
    last_seen_at: profile.lastSeenAt,
    created_at: profile.createdAt,
    updated_at: profile.updatedAt,
    merged_into: profile.mergedInto,
    revision: profile.revision,
  };
}

const identityKeyOf = (key: IdentityKey) => `${key.kind}:${key.value}`;

async function insertTraitChanges(db: Kysely<Database>, changes: TraitChange[]): Promise<void> {
  for (let i = 0; i < changes.length; i += 300) {
    await db
      .insertInto('trait_changes')
      .values(
        changes.slice(i, i + 300).map((change) => ({
          workspace_id: change.workspaceId,
          event_id: change.eventId,
          profile_id: change.profileId,
          trait: change.trait,
          // undefined (no previous value) is kept as JSON null.
          value: JSON.stringify(change.value ?? null),
          previous: JSON.stringify(change.previous ?? null),
          at: change.at,
        })),
      )
      .execute();
  }
}

async function insertAccountTraitChanges(db: Kysely<Database>, changes: AccountTraitChange[]): Promise<void> {
  for (const chunk of chunks(changes, 300)) {
    await db
      .insertInto('account_trait_changes')
      .values(
        chunk.map((change) => ({
          workspace_id: change.workspaceId,
          event_id: change.eventId,
          account_id: change.accountId,
          trait: change.trait,
          value: JSON.stringify(change.value ?? null),
          previous: JSON.stringify(change.previous ?? null),
          at: change.at,
        })),
      )
      .execute();
  }
}

export function createProfileStore(db: Kysely<Database>, ops: DialectOps): ProfileStore {
  const lockForMerges = async () => {
    await ops.lockKey(MERGES_LOCK_KEY)?.execute(db);
  };
  /** The profiles that absorbed another since `mergeSequence` said `since` (of one workspace, when given). */
  const survivorsSince = async (since: number, workspaceId?: string): Promise<Set<string>> => {
    // The merges since are few, and found through their index.
    let query = db.selectFrom('profiles').select('merged_into').where('merge_seq', '>', since);
    if (workspaceId !== undefined) query = query.where('workspace_id', '=', workspaceId);
    const rows = await query.execute();
    return new Set(rows.flatMap((row) => (row.merged_into === null ? [] : [row.merged_into])));
  };
  return {
    async findIdentities(workspaceId, keys) {
      const values = [...new Set(keys.map((key) => key.value))];
      const wanted = new Set(keys.map(identityKeyOf));
      const found: Identity[] = [];
      for (const chunk of chunks(values)) {
        const rows = await db
          .selectFrom('identities')
          .selectAll()
          .where('workspace_id', '=', workspaceId)
          .where('value', 'in', chunk)
          .execute();
        for (const row of rows) {
          const identity = toIdentity(row);
          if (wanted.has(identityKeyOf(identity))) found.push(identity);
        }
      }
      return found;
    },

    async eventsThatMerged(eventIds) {
      const found = new Set<number>();
      for (const chunk of chunks(eventIds)) {
        const rows = await db
          .selectFrom('profiles')
          .select('merged_by_event')
          .where('merged_by_event', 'in', chunk)
          .execute();
        for (const row of rows) found.add(Number(row.merged_by_event));
      }
      return found;
    },
    async findProfilesByIds(ids) {
      const found: Profile[] = [];
      for (const chunk of chunks([...new Set(ids)])) {
        const rows = await db
          .selectFrom('profiles')
          .select(PROFILE_COLUMNS)
          .where('id', 'in', chunk)
          .execute();
        for (const row of rows) found.push(toProfile(row, ops));
      }
      return found;
    },

    async findAccountsByGroupIds(workspaceId, groupIds) {
      const found: Account[] = [];
      for (const chunk of chunks([...new Set(groupIds)])) {
        const rows = await db
          .selectFrom('accounts')
          .selectAll()
          .where('workspace_id', '=', workspaceId)
          .where('group_id', 'in', chunk)
          .execute();
        for (const row of rows) found.push(toAccount(row, ops));
      }
      return found;
    },

    async holdOffMerges() {
      await ops.lockKeyShared(MERGES_LOCK_KEY)?.execute(db);
    },
    lockForMerges,
    async mergedAwayAmong(profileIds) {
      const mergedAway = new Set<string>();
      for (const chunk of chunks(profileIds)) {
        const rows = await db
          .selectFrom('profiles')
          .select('id')
          .where('id', 'in', chunk)
          .where('merged_into', 'is not', null)
          .execute();
        for (const row of rows) mergedAway.add(row.id);
      }
      return mergedAway;
    },

    async mergeSequence() {
      const row = await db
        .selectFrom('profiles')
        .select((eb) => eb.fn.max('merge_seq').as('seq'))
        .where('merge_seq', 'is not', null)
        .executeTakeFirst();
      return Number(row?.seq ?? 0);
    },
    async survivorsOfMergesSince(profileIds, since) {
      const wanted = new Set(profileIds);
      return new Set([...(await survivorsSince(since))].filter((id) => wanted.has(id)));
    },
    async allSurvivorsOfMergesSince(workspaceId, since) {
      return [...(await survivorsSince(since, workspaceId))].sort();
    },
    async applyResolution(changes, options) {
      const { workspaceId } = changes;
      // First, before any row: transactions on other processes writing what a merge moves finish
      // before it moves their rows, and those after it see the merge (see `holdOffMerges`).
      if (changes.merges.length > 0) await lockForMerges();
      const mergedStages = new Map<string, string>();
      for (const chunk of chunks(changes.newProfiles, 200)) {
        await db
          .insertInto('profiles')
          .values(
            chunk.map((profile) => ({
              ...profileValues(profile),
              ...traitDerivedValues(profile.traits),
            })),
          )
          .execute();
      }
      for (const chunk of chunks(changes.updatedProfiles, 200)) {
        const written = await db
          .insertInto('profiles')
          .values(
            chunk.map((profile) => ({
              ...profileValues(profile),
              ...traitDerivedValues(profile.traits),
              revision: profile.revision + 1,
            })),
          )
          .onConflict((oc) =>
            oc
              .column('id')
              .doUpdateSet((eb) => ({
                user_id: eb.ref('excluded.user_id'),
                traits: eb.ref('excluded.traits'),
                trait_times: eb.ref('excluded.trait_times'),
                search_text: eb.ref('excluded.search_text'),
                phone_number: eb.ref('excluded.phone_number'),
                first_seen_at: eb.ref('excluded.first_seen_at'),
                last_seen_at: eb.ref('excluded.last_seen_at'),
                updated_at: eb.ref('excluded.updated_at'),
                merged_into: eb.ref('excluded.merged_into'),
                revision: eb.ref('excluded.revision'),
              }))
              .where('profiles.revision', '=', sql<number>`excluded.revision - 1`),
          )
          .executeTakeFirst();
        // A journey's update_traits committed after these profiles were read: decide again from them.
        if (Number(written.numInsertedOrUpdatedRows ?? 0) < chunk.length)
          throw new StaleBatchError('a profile changed after identity resolution read it');
      }
      // Their traits did not change, so neither did their search text or number: only the columns below are written.
      for (const chunk of chunks(changes.seenProfiles, 200)) {
        await db
          .insertInto('profiles')
          .values(chunk.map(profileValues))
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              user_id: eb.ref('excluded.user_id'),
              first_seen_at: eb.ref('excluded.first_seen_at'),
              last_seen_at: eb.ref('excluded.last_seen_at'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
      for (const { from, into, eventId } of changes.merges) {
        // Numbered under the merges lock (SQLite: the write lock): one after another.
        await db
          .updateTable('profiles')
          .set({
            merged_by_event: eventId,
            merge_seq: sql<number>`(select coalesce(max(merge_seq), 0) + 1 from profiles where merge_seq is not null)`,
          })
          .where('id', '=', from)
          .execute();
        await db.updateTable('identities').set({ profile_id: into }).where('profile_id', '=', from).execute();
        // Profiles merged into `from` earlier now point straight at the survivor.
        await db.updateTable('profiles').set({ merged_into: into }).where('merged_into', '=', from).execute();
        await sql`
          insert into account_members (workspace_id, account_id, profile_id, created_at)
          select workspace_id, account_id, ${into}, created_at from account_members where profile_id = ${from}
          on conflict do nothing`.execute(db);
        await db.deleteFrom('account_members').where('profile_id', '=', from).execute();
        await moveMessagingState(db, ops, { workspaceId, from, into });
        const stage = await moveAudienceState(db, { from, into, handOffStages: options?.handOffStages });
        if (stage !== undefined) mergedStages.set(from, stage);
      }

      const identityIds = new Map<string, number>();
      for (const chunk of chunks(changes.newIdentities, 300)) {
        const rows = await db
          .insertInto('identities')
          .values(
            chunk.map((identity) => ({
              workspace_id: workspaceId,
              kind: identity.kind,
              value: identity.value,
              profile_id: identity.profileId,
              created_at: identity.createdAt,
            })),
          )
          .returning(['id', 'kind', 'value'])
          .execute();
        for (const row of rows) identityIds.set(`${row.kind}:${row.value}`, Number(row.id));
      }
      const missing = changes.identityEvents
        .map((entry) => entry.identity)
        .filter((key) => !identityIds.has(identityKeyOf(key)));
      if (missing.length > 0) {
        for (const identity of await this.findIdentities(workspaceId, missing)) {
          identityIds.set(identityKeyOf(identity), identity.id);
        }
      }
      const timelineRows = changes.identityEvents.map((entry) => {
        const identityId = identityIds.get(identityKeyOf(entry.identity));
        if (identityId === undefined)
          throw new Error(`identity ${identityKeyOf(entry.identity)} was not stored`);
        return { identity_id: identityId, timestamp: entry.timestamp, event_id: entry.eventId };
      });
      for (const chunk of chunks(timelineRows, 1000)) {
        await db
          .insertInto('identity_events')
          .values(chunk)
          .onConflict((oc) => oc.doNothing())
          .execute();
      }

      for (const chunk of chunks(changes.upsertedAccounts, 200)) {
        await db
          .insertInto('accounts')
          .values(
            chunk.map((account) => ({
              id: account.id,
              workspace_id: account.workspaceId,
              group_id: account.groupId,
              traits: JSON.stringify(account.traits),
              trait_times: JSON.stringify(account.traitTimes),
              created_at: account.createdAt,
              updated_at: account.updatedAt,
            })),
          )
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              traits: eb.ref('excluded.traits'),
              trait_times: eb.ref('excluded.trait_times'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
      await insertTraitChanges(db, changes.traitChanges);
      await insertAccountTraitChanges(db, changes.accountTraitChanges);
      for (const chunk of chunks(changes.accountMembers, 300)) {
        await db
          .insertInto('account_members')
          .values(
            chunk.map((member) => ({
              workspace_id: workspaceId,
              account_id: member.accountId,
              profile_id: member.profileId,
              created_at: member.createdAt,
            })),
          )
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      return { mergedStages };
    },

    async lockForTraits(profileId) {
      const row = await db
        .selectFrom('profiles')
        .select(PROFILE_COLUMNS)
        .where('id', '=', profileId)
        .$if(ops.lockRows !== '', (query) => query.forUpdate())
        .executeTakeFirst();
      return row && toProfile(row, ops);
    },

    async updateTraits(profile, changes) {
      const written = await db
        .updateTable('profiles')
        .set({
          traits: JSON.stringify(profile.traits),
          trait_times: JSON.stringify(profile.traitTimes),
          ...traitDerivedValues(profile.traits),
          updated_at: profile.updatedAt,
          revision: profile.revision + 1,
        })
        .where('id', '=', profile.id)
        .where('revision', '=', profile.revision)
        .executeTakeFirst();
      if (Number(written.numUpdatedRows) !== 1)
        throw new StaleBatchError(`profile ${profile.id} changed after its traits were read`);
      profile.revision += 1;
      await insertTraitChanges(db, changes);
    },

    async listTraitChanges(eventIds) {
      const found: TraitChange[] = [];
      for (let i = 0; i < eventIds.length; i += 500) {
        const rows = await db
          .selectFrom('trait_changes')
          .selectAll()
          .where('event_id', 'in', eventIds.slice(i, i + 500))
          .orderBy('id')
          .execute();
        for (const row of rows) {
          found.push({
            workspaceId: row.workspace_id,
            eventId: row.event_id === null ? null : Number(row.event_id),
            profileId: row.profile_id,
            trait: row.trait,
            value: JSON.parse(row.value),
            previous: JSON.parse(row.previous),
            at: Number(row.at),
          });
        }
      }
      return found;
    },

    async listAccountTraitChanges(eventIds) {
      const found: AccountTraitChange[] = [];
      for (const chunk of chunks(eventIds)) {
        const rows = await db
          .selectFrom('account_trait_changes')
          .selectAll()
          .where('event_id', 'in', chunk)
          .orderBy('id')
          .execute();
        for (const row of rows)
          found.push({
            workspaceId: row.workspace_id,
            eventId: Number(row.event_id),
            accountId: row.account_id,
            trait: row.trait,
            value: JSON.parse(row.value),
            previous: JSON.parse(row.previous),
            at: Number(row.at),
          });
      }
      return found;
    },

    async list(workspaceId, page) {
      // Every column named with its table: the list by score joins the scores, which share some names.
      let query = db
        .selectFrom('profiles')
        .select(PROFILE_COLUMNS.map((column) => `profiles.${column}` as const))
        .where('profiles.workspace_id', '=', workspaceId)
        .where('profiles.merged_into', 'is', null);
      if (page.stage !== undefined) {
        const stage = page.stage;
        query = query.where('profiles.id', 'in', (eb) =>
          eb
            .selectFrom('profile_stages')
            .select('profile_id')
            .where('workspace_id', '=', workspaceId)
            .where('stage', '=', stage),
        );
      }
      const needle = page.query?.trim();
      if (needle) {
        query = query.where((eb) =>
          eb.or([
            eb(
              'profiles.id',
              'in',
              eb
                .selectFrom('identities')
                .select('profile_id')
                .where('workspace_id', '=', workspaceId)
                .where('value', '=', needle),
            ),
            eb('profiles.id', '=', needle),
            searchTextContains(needle, ops),
          ]),
        );
      }
      if (page.scoreModel !== undefined) {
        // Through the (workspace, model, current score, profile) index, highest first, a page starting
        // where the last one ended however many share its score: only profiles the model scored.
        const model = page.scoreModel;
        const after = decodeCursor(page.cursor, isScoreKeyOf(model));
        let scored = query
          .innerJoin('profile_scores as s', 's.profile_id', 'profiles.id')
          .select('s.current_score')
          .where('s.workspace_id', '=', workspaceId)
          .where('s.model', '=', model);
        if (after !== undefined)
          scored = scored.where((eb) =>
            eb(eb.refTuple('s.current_score', 's.profile_id'), '<', eb.tuple(after[0], after[1])),
          );
        const rows = await scored
          .orderBy('s.current_score', 'desc')
          .orderBy('s.profile_id', 'desc')
          .limit(page.limit + 1)
          .execute();
        return toPage(
          rows,
          page.limit,
          (row) => toProfile(row, ops),
          (row) => [Number(row.current_score), row.id, model],
        );
      }
      const before = decodeCursor(page.cursor, isString);
      if (before !== undefined) query = query.where('profiles.id', '<', before);
      const rows = await query
        .orderBy('profiles.id', 'desc')
        .limit(page.limit + 1)
        .execute();
      return toPage(
        rows,
        page.limit,
        (row) => toProfile(row, ops),
        (row) => row.id,
      );
    },

    async find(workspaceId, id) {
      let currentId = id;
      for (let hop = 0; hop < MAX_MERGE_HOPS; hop++) {
        const row = await db
          .selectFrom('profiles')
          .select(PROFILE_COLUMNS)
          .where('workspace_id', '=', workspaceId)
          .where('id', '=', currentId)
          .executeTakeFirst();
        if (!row) return undefined;
        if (row.merged_into === null) return toProfile(row, ops);
        currentId = row.merged_into;
      }
      return undefined;
    },

    async listHoldingPhoneNumber(workspaceId, phoneNumber) {
      const rows = await db
        .selectFrom('profiles')
        .select(PROFILE_COLUMNS)
        .where('workspace_id', '=', workspaceId)
        .where('phone_number', '=', phoneNumber)
        .where('merged_into', 'is', null)
        .orderBy('id')
        .execute();
      return rows.map((row) => toProfile(row, ops));
    },

    async listIdentities(profileId) {
      const rows = await db
        .selectFrom('identities')
        .selectAll()
        .where('profile_id', '=', profileId)
        .orderBy('id')
        .execute();
      return rows.map(toIdentity);
    },

    async listAccountMembers(workspaceId, accountId) {
      const rows = await db
        .selectFrom('account_members')
        .select('profile_id')
        .where('workspace_id', '=', workspaceId)
        .where('account_id', '=', accountId)
        .orderBy('profile_id')
        .execute();
      return rows.map((row) => row.profile_id);
    },
    async removeAccountMember(workspaceId, accountId, profileId) {
      const result = await db
        .deleteFrom('account_members')
        .where('workspace_id', '=', workspaceId)
        .where('account_id', '=', accountId)
        .where('profile_id', '=', profileId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async findAccount(workspaceId, accountId) {
      const row = await db
        .selectFrom('accounts')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', accountId)
        .executeTakeFirst();
      return row && toAccount(row, ops);
    },
    async listAccounts(profileId) {
      const rows = await db
        .selectFrom('accounts')
        .innerJoin('account_members', 'account_members.account_id', 'accounts.id')
        .selectAll('accounts')
        .where('account_members.profile_id', '=', profileId)
        .orderBy('accounts.group_id')
        .execute();
      return rows.map((row) => toAccount(row, ops));
    },
    async accountsOf(profileIds) {
      const found = new Map<string, AccountTraits[]>();
      for (const chunk of chunks(profileIds)) {
        const rows = await db
          .selectFrom('accounts')
          .innerJoin('account_members', 'account_members.account_id', 'accounts.id')
          .select(['accounts.id', 'accounts.traits', 'account_members.profile_id'])
          .where('account_members.profile_id', 'in', chunk)
          .orderBy('accounts.group_id')
          .execute();
        for (const row of rows) {
          const account = { id: row.id, traits: ops.readJson<Traits>(row.traits) };
          const accounts = found.get(row.profile_id);
          if (accounts) accounts.push(account);
          else found.set(row.profile_id, [account]);
        }
      }
      return found;
    },
  };
}

/**
 * What journeys and consent hold about a merged-away profile goes to the survivor: its journey
 * instances (so its waits still hear its events), its message history (so frequency caps count it) and
 * its topic choices, where the newer choice wins and an unsubscribe wins a tie.
 */
async function moveMessagingState(
  db: Kysely<Database>,
  ops: DialectOps,
  { workspaceId, from, into }: { workspaceId: string; from: string; into: string },
): Promise<void> {
  await db
    .updateTable('journey_instances')
    .set({ profile_id: into })
    .where('workspace_id', '=', workspaceId)
    .where('profile_id', '=', from)
    .execute();
  // Locked in id order, as the dispatcher settles several at once: neither waits on the other in a circle.
  await sql`
    update messages set profile_id = ${into}
    where id in (
      select id from messages where workspace_id = ${workspaceId} and profile_id = ${from}
      order by id ${sql.raw(ops.lockRows)})`.execute(db);
  await sql`
    insert into subscriptions (workspace_id, profile_id, topic, is_subscribed, updated_at)
    select workspace_id, ${into}, topic, is_subscribed, updated_at from subscriptions
    where workspace_id = ${workspaceId} and profile_id = ${from}
    on conflict (workspace_id, profile_id, topic) do update set
      is_subscribed = case
        when excluded.updated_at > subscriptions.updated_at then excluded.is_subscribed
        when excluded.updated_at = subscriptions.updated_at and excluded.is_subscribed = 0 then 0
        else subscriptions.is_subscribed end,
      updated_at = case
        when excluded.updated_at > subscriptions.updated_at then excluded.updated_at
        else subscriptions.updated_at end`.execute(db);
  await db
    .deleteFrom('subscriptions')
    .where('workspace_id', '=', workspaceId)
    .where('profile_id', '=', from)
    .execute();
}

/**
 * The survivor takes the merged-away profile's place in its segments, live and static: the person was
 * in them already, so being re-decided into a live one (the event that merged them touches the
 * survivor) is no Segment Entered — a journey entering on it every time would take the person in
 * again. A live segment the merged person no longer meets is left with Segment Exited then. The
 * merged-away profile's memberships and timers go. Its score awards, stage and hand-offs move to the survivor,
 * whose stage stays if it has one (stages only move forward).
 */
async function moveAudienceState(
  db: Kysely<Database>,
  { from, into, handOffStages }: { from: string; into: string; handOffStages: readonly string[] | undefined },
): Promise<string | undefined> {
  const stage = await db
    .selectFrom('profile_stages')
    .select('stage')
    .where('profile_id', '=', from)
    .executeTakeFirst();
  // Before the stages move: whether each was with sales is told by its own stage.
  const isHandedOff = await isWithSales(db, [from, into], handOffStages);
  await sql`
    insert into segment_members (segment_id, profile_id, workspace_id, entered_at)
    select segment_id, ${into}, workspace_id, entered_at from segment_members where profile_id = ${from}
    on conflict do nothing`.execute(db);
  await db.deleteFrom('segment_members').where('profile_id', '=', from).execute();
  await db.deleteFrom('segment_profile_timers').where('profile_id', '=', from).execute();
  await db.deleteFrom('stage_timers').where('profile_id', '=', from).execute();
  await sql`
    insert into score_ledger (workspace_id, profile_id, model, rule, event_id, at, points)
    select workspace_id, ${into}, model, rule, event_id, at, points from score_ledger where profile_id = ${from}
    on conflict do nothing`.execute(db);
  await db.deleteFrom('score_ledger').where('profile_id', '=', from).execute();
  // The survivor's stored score (what tells whether a threshold is reached anew) is the higher of
  // the two: a recycled lead merged into a profile scoring less has not fallen below its threshold.
  // It is no model revision's score of the merged ledger (model_revision null) until scored again.
  await sql`
    insert into profile_scores (profile_id, model, workspace_id, score, current_score, updated_at, model_revision)
    select ${into}, model, workspace_id, score, current_score, updated_at, null from profile_scores where profile_id = ${from}
    on conflict (profile_id, model) do update set
      score = case when excluded.score > profile_scores.score then excluded.score else profile_scores.score end,
      current_score = case when excluded.score > profile_scores.score
        then excluded.current_score else profile_scores.current_score end,
      updated_at = case when excluded.updated_at > profile_scores.updated_at
        then excluded.updated_at else profile_scores.updated_at end,
      model_revision = null`.execute(db);
  await db.deleteFrom('profile_scores').where('profile_id', '=', from).execute();
  await sql`
    insert into profile_stages (profile_id, workspace_id, stage, updated_at)
    select ${into}, workspace_id, stage, updated_at from profile_stages where profile_id = ${from}
    on conflict do nothing`.execute(db);
  await db.deleteFrom('profile_stages').where('profile_id', '=', from).execute();
  for (const table of ['stage_history', 'hand_offs'] as const)
    await db.updateTable(table).set({ profile_id: into }).where('profile_id', '=', from).execute();
  await dropOwedHandOffsOnMerge(db, into, isHandedOff);
  return stage?.stage;
}

/**
 * Whether one of these profiles is with sales: handed off (a hand-off `pending`, `accepted`, `passed`
 * or `breached`) and, when `handOffStages` are given, still at one of them. A lead recycled since
 * does not count — by its hand-off's status, or by its stage where the recycle left a hand-off as it
 * was (an older one beside the latest, which a merge brought, or one sales accepted or whose SLA ran
 * out — sent back by hand before recycles ended every hand-off with sales): it may be handed off again.
 */
async function isWithSales(
  db: Kysely<Database>,
  profileIds: string[],
  handOffStages: readonly string[] | undefined,
): Promise<boolean> {
  if (handOffStages?.length === 0) return false;
  const row = await db
    .selectFrom('hand_offs')
    .select('hand_offs.id')
    .where('hand_offs.profile_id', 'in', profileIds)
    .where('hand_offs.status', 'in', ['pending', 'accepted', 'passed', 'breached'])
    .$if(handOffStages !== undefined, (query) =>
      query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('profile_stages')
            .select('profile_stages.profile_id')
            .whereRef('profile_stages.profile_id', '=', 'hand_offs.profile_id')
            .where('profile_stages.stage', 'in', handOffStages as readonly string[]),
        ),
      ),
    )
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * A lead is handed to sales once: after a merge, an owed hand-off goes if either profile was with
 * sales (see `isWithSales`), and of two owed, the older stays.
 */
async function dropOwedHandOffsOnMerge(
  db: Kysely<Database>,
  survivor: string,
  handedOff: boolean,
): Promise<void> {
  const owed = await db
    .selectFrom('hand_offs')
    .select('id')
    .where('profile_id', '=', survivor)
    .where('status', '=', 'awaiting_identity')
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const dropped = handedOff ? owed : owed.slice(1);
  if (dropped.length === 0) return;
  await db
    .updateTable('hand_offs')
    .set({
      status: 'dropped',
      dropped_reason: handedOff
        ? 'merged into a profile already handed off'
        : 'merged into a profile already owed a hand-off',
    })
    .where(
      'id',
      'in',
      dropped.map((row) => row.id),
    )
    .execute();
}
