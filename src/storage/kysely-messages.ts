import { type ExpressionBuilder, type Kysely, type Selectable, sql } from 'kysely';
import type { Message, MessageContext, MessageStatus } from '../core/journey.js';
import { storableText } from '../core/storable-text.js';
import type { SuppressionReason } from '../core/topic-consent.js';
import { TEST_TOPIC } from '../core/workspace-settings.js';
import type { DialectOps } from './dialect-ops.js';
import { decodeCursor, isString, toPage } from './paging.js';
import type { Database } from './schema.js';
import type { ConsentStore, MessageStore } from './storage.js';
import { notATestSend } from './test-sends.js';

type MessageRow = Selectable<Database['messages']>;

/** Taken by each round's claim of due messages on PostgreSQL, so that rounds claim one at a time. */
const CLAIMS_LOCK_KEY = 'message-claims';

/**
 * PostgreSQL's claim: a due e-mail or text is left while a round (its lease alive) holds one on the
 * same channel for its profile, or for another profile with the same address (`phone_number`, or
 * the `email` trait whatever its case: two profiles sharing a phone are one person's phone, and caps
 * count sends by address). Each test is an equality the planner can run as one anti-join over the
 * few messages being sent, not a scan of them per due message. `due_profile` is joined, not locked.
 */
const notHeldElsewhere = (now: number) => sql`
  and not exists (
    select 1 from messages held
    where held.workspace_id = due.workspace_id and held.profile_id = due.profile_id
      and held.channel = due.channel and held.channel in ('email', 'sms')
      and held.status = 'sending' and held.claimed_until >= ${now})
  and not exists (
    select 1 from messages held join profiles holder on holder.id = held.profile_id
    where held.workspace_id = due.workspace_id and held.channel = due.channel and held.channel = 'sms'
      and held.status = 'sending' and held.claimed_until >= ${now}
      and holder.phone_number = due_profile.phone_number)
  and not exists (
    select 1 from messages held join profiles holder on holder.id = held.profile_id
    where held.workspace_id = due.workspace_id and held.channel = due.channel and held.channel = 'email'
      and held.status = 'sending' and held.claimed_until >= ${now}
      and lower(trim(holder.traits->>'email')) = lower(trim(due_profile.traits->>'email')))`;

/**
 * Both backends' claim: a message of a sequence is left while one made before it for its profile (a
 * lower id: ids follow the order messages are made in) is unsettled — queued, retrying or being
 * sent. A message of no sequence (nearly all) is passed before the test, which costs the claim
 * nothing for them (as an anti-join, it cost SQLite's claim of 100,000 due e-mails half again); for
 * the others it is a probe of the partial index of unsettled messages of sequences, a handful of rows
 * (`messages_sequence_unsettled`, whose terms it repeats for SQLite to use it).
 */
const notBehindInSequence = sql`
  and (due.sequence is null or not exists (
    select 1 from messages earlier
    where earlier.profile_id = due.profile_id and earlier.sequence = due.sequence and earlier.id < due.id
      and earlier.sequence is not null and earlier.status in ('queued', 'deferred', 'sending')))`;

/**
 * Whether `claimant` still holds the message, to write what became of it: `sending` under its claim
 * (`null`: a message nobody claims, such as a test send). A settled message keeps who settled it, and
 * a re-drive queues a dead letter again as it is: without the status, the round that dead-lettered
 * it could still write it (writing its outcomes again when the answer to the first write was lost)
 * until another round claims it, undoing the re-drive.
 */
const heldBy = (claimant: string | null) => (eb: ExpressionBuilder<Database, 'messages'>) =>
  claimant === null
    ? eb('claimed_by', 'is', null)
    : eb.and([eb('claimed_by', '=', claimant), eb('status', '=', 'sending')]);

const nullableNumber = (value: number | null) => (value === null ? null : Number(value));

function toMessage(row: MessageRow, ops: DialectOps): Message {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    profileId: row.profile_id,
    journeyId: row.journey_id,
    instanceId: row.instance_id,
    stepId: row.step_id,
    channel: row.channel as Message['channel'],
    templateId: row.template_id,
    topic: row.topic,
    whenNotAllowed: row.when_not_allowed as Message['whenNotAllowed'],
    toAddress: row.to_address,
    subject: row.subject,
    status: row.status as MessageStatus,
    reason: row.reason,
    idempotencyKey: row.idempotency_key,
    attempts: Number(row.attempts),
    nextAttemptAt: nullableNumber(row.next_attempt_at),
    context: ops.readJson<MessageContext>(row.context),
    providerMessageId: row.provider_message_id,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    sentAt: nullableNumber(row.sent_at),
    openedAt: nullableNumber(row.opened_at),
    clickedAt: nullableNumber(row.clicked_at),
    unsubscribedAt: nullableNumber(row.unsubscribed_at),
    bouncedAt: nullableNumber(row.bounced_at),
    deliveredAt: nullableNumber(row.delivered_at),
    complainedAt: nullableNumber(row.complained_at),
    sequence: row.sequence,
  };
}

function messageRow(message: Message) {
  return {
    id: message.id,
    workspace_id: message.workspaceId,
    profile_id: message.profileId,
    journey_id: message.journeyId,
    instance_id: message.instanceId,
    step_id: message.stepId,
    channel: message.channel,
    template_id: message.templateId,
    topic: message.topic,
    when_not_allowed: message.whenNotAllowed,
    to_address: message.toAddress,
    subject: message.subject,
    status: message.status,
    reason: message.reason,
    idempotency_key: message.idempotencyKey,
    attempts: message.attempts,
    next_attempt_at: message.nextAttemptAt,
    claimed_until: null,
    claimed_by: null,
    context: JSON.stringify(message.context),
    provider_message_id: message.providerMessageId,
    created_at: message.createdAt,
    updated_at: message.updatedAt,
    sent_at: message.sentAt,
    opened_at: message.openedAt,
    clicked_at: message.clickedAt,
    unsubscribed_at: message.unsubscribedAt,
    bounced_at: message.bouncedAt,
    delivered_at: message.deliveredAt,
    complained_at: message.complainedAt,
    sequence: message.sequence,
  };
}

/** Settled messages as a PostgreSQL row source (id, status, …, sent_at), a subquery for `as v`. */
function postgresSettled(messages: Message[]) {
  const column = <T>(pick: (message: Message) => T) => messages.map(pick);
  return sql`(select * from unnest(
    ${column((m) => m.id)}::text[], ${column((m) => m.status)}::text[], ${column((m) => storable(m.reason))}::text[],
    ${column((m) => storable(m.toAddress))}::text[], ${column((m) => storable(m.subject))}::text[],
    ${column((m) => m.nextAttemptAt)}::bigint[], ${column((m) => storable(m.providerMessageId))}::text[],
    ${column((m) => m.updatedAt)}::bigint[], ${column((m) => m.sentAt)}::bigint[],
    ${column((m) => m.attempts)}::int[]
  ) as u(id, status, reason, to_address, subject, next_attempt_at, provider_message_id, updated_at, sent_at,
    attempts))`;
}

/**
 * An outcome's text as a column takes it. A reason quotes what a receiver or a provider answered,
 * which may hold a NUL: PostgreSQL refuses it, and the whole write of a round's outcomes with it, so
 * every message of the round would be sent again once its claim ran out, and again. Both backends
 * store the same text.
 */
const storable = (text: string | null): string | null => (text === null ? null : storableText(text));

/** The same for SQLite, from one JSON parameter (a subquery, so `as v` names it). */
function sqliteSettled(messages: Message[]) {
  const json = JSON.stringify(
    messages.map((m) => ({
      id: m.id,
      status: m.status,
      reason: storable(m.reason),
      to_address: storable(m.toAddress),
      subject: storable(m.subject),
      next_attempt_at: m.nextAttemptAt,
      provider_message_id: storable(m.providerMessageId),
      updated_at: m.updatedAt,
      sent_at: m.sentAt,
      attempts: m.attempts,
    })),
  );
  return sql`(select value ->> 'id' as id, value ->> 'status' as status, value ->> 'reason' as reason,
    value ->> 'to_address' as to_address, value ->> 'subject' as subject,
    value ->> 'next_attempt_at' as next_attempt_at, value ->> 'provider_message_id' as provider_message_id,
    value ->> 'updated_at' as updated_at, value ->> 'sent_at' as sent_at, value ->> 'attempts' as attempts
    from json_each(${json}))`;
}

/**
 * A sub-select of these messages that locks them in id order (PostgreSQL), as a merge moving a
 * profile's messages does: statements locking several rows each never wait on each other in a circle.
 */
function inIdOrderWith(ops: DialectOps) {
  return (ids: readonly string[]) =>
    sql`select id from messages where id in (${sql.join([...ids])}) order by id ${sql.raw(ops.lockRows)}`;
}

export function createMessageStore(db: Kysely<Database>, ops: DialectOps): MessageStore {
  const inIdOrder = inIdOrderWith(ops);
  /** A webhook call's destination is kept in its context, as the step named it. */
  const callsTo =
    (destination: string, column = 'context') =>
    (eb: ExpressionBuilder<Database, 'messages'>) =>
      eb(ops.jsonText(column, ['webhook', 'destination']), '=', destination);
  const store: MessageStore = {
    async addShortLinks(links) {
      if (links.length === 0) return true;
      const result = await db
        .insertInto('sms_links')
        .values(
          links.map((link) => ({
            code: link.code,
            workspace_id: link.workspaceId,
            message_id: link.messageId,
            url: link.url,
            created_at: link.createdAt,
          })),
        )
        .onConflict((oc) => oc.column('code').doNothing())
        .executeTakeFirst();
      // A code taken already (one in 10^17 tries): the caller picks others; the rest, kept, still lead
      // to this text's links.
      return Number(result.numInsertedOrUpdatedRows ?? 0) === links.length;
    },
    async findShortLink(code) {
      const row = await db
        .selectFrom('sms_links')
        .select(['workspace_id', 'message_id', 'url'])
        .where('code', '=', code)
        .executeTakeFirst();
      return row ? { workspaceId: row.workspace_id, messageId: row.message_id, url: row.url } : undefined;
    },
    async insert(message) {
      await store.insertMany([message]);
    },
    async insertMany(messages) {
      // 29 columns a row: 200 rows stay well under both backends' limits on bound parameters.
      for (let i = 0; i < messages.length; i += 200) {
        await db
          .insertInto('messages')
          .values(messages.slice(i, i + 200).map(messageRow))
          .onConflict((oc) => oc.column('idempotency_key').doNothing())
          .execute();
      }
    },
    async claimDue({ now, limit, leaseMs, claimant }) {
      // Several worker processes send from one PostgreSQL database: a round judges a contact's
      // frequency caps by the sends recorded when it begins, so it must not take an e-mail or text to
      // a contact (a profile, or its address) another round holds one for (both would pass a cap of
      // one). Rounds claim one at a time; the message waits for the next round after the other's send
      // is recorded.
      const isShared = ops.name === 'postgres';
      const claim = async (handle: Kysely<Database>) => {
        if (isShared) await ops.lockKey(CLAIMS_LOCK_KEY)?.execute(handle);
        // PostgreSQL prices the sequence check for every due row, though only the few in a sequence
        // run it: behind a backlog the estimate passes JIT's thresholds, and compiling then costs more
        // than the claim (~300 ms of ~400 with 100,000 due). Claims are taken one round at a time.
        if (isShared) await sql`set local jit = off`.execute(handle);
        // A `sending` row whose lease ran out belongs to a process that died mid-send: it is sent again.
        const result = await sql<MessageRow>`
          update messages
          set status = 'sending', claimed_until = ${now + leaseMs}, claimed_by = ${claimant},
              attempts = attempts + 1, updated_at = ${now}
          where id in (
            select due.id from messages due
            ${isShared ? sql`left join profiles due_profile on due_profile.id = due.profile_id` : sql``}
            where ((due.status in ('queued', 'deferred') and due.next_attempt_at <= ${now})
               or (due.status = 'sending' and due.claimed_until < ${now}))
              ${notBehindInSequence}
              ${isShared ? notHeldElsewhere(now) : sql``}
            order by due.next_attempt_at
            limit ${limit}
            ${isShared ? sql`for update of due skip locked` : sql``}
          )
          returning *`.execute(handle);
        return result.rows.map((row) => toMessage(row, ops));
      };
      return isShared && !db.isTransaction ? db.transaction().execute(claim) : claim(db);
    },
    async nextDue() {
      const row = await db
        .selectFrom('messages')
        .select((eb) => eb.fn.min('next_attempt_at').as('due'))
        .where('status', 'in', ['queued', 'deferred'])
        .executeTakeFirst();
      return row?.due === null || row?.due === undefined ? undefined : Number(row.due);
    },
    async releaseClaims({ ids, claimant, now }) {
      let released = 0;
      for (let i = 0; i < ids.length; i += 500) {
        const result = await sql<{ id: string }>`
          update messages
          set status = 'queued', claimed_until = null, claimed_by = null,
              attempts = attempts - 1, next_attempt_at = coalesce(next_attempt_at, ${now}), updated_at = ${now}
          where id in (${inIdOrder(ids.slice(i, i + 500))}) and claimed_by = ${claimant} and status = 'sending'
          returning id`.execute(db);
        released += result.rows.length;
      }
      return released;
    },
    async renewClaims({ ids, claimant, until }) {
      const held = new Set<string>();
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const result = await sql<{ id: string }>`
          update messages set claimed_until = ${until}
          where id in (${inIdOrder(chunk)}) and claimed_by = ${claimant} and status = 'sending'
          returning id`.execute(db);
        for (const row of result.rows) held.add(row.id);
      }
      return held;
    },
    async update(message, claimant) {
      const result = await db
        .updateTable('messages')
        .set({
          status: message.status,
          reason: message.reason,
          to_address: message.toAddress,
          subject: message.subject,
          next_attempt_at: message.nextAttemptAt,
          // claimed_by stays: the message log keeps which worker settled the message.
          claimed_until: null,
          provider_message_id: message.providerMessageId,
          updated_at: message.updatedAt,
          sent_at: message.sentAt,
        })
        .where('id', '=', message.id)
        .where(heldBy(claimant))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async settleAll(messages, claimant) {
      // One statement for many messages instead of one each: the rows go as arrays (PostgreSQL) or
      // as one JSON document (SQLite).
      const written = new Set<string>();
      for (let i = 0; i < messages.length; i += 1000) {
        const chunk = messages.slice(i, i + 1000);
        const rows = ops.name === 'postgres' ? postgresSettled(chunk) : sqliteSettled(chunk);
        const result = await sql<{ id: string }>`
          update messages set
            status = v.status, reason = v.reason, to_address = v.to_address, subject = v.subject,
            next_attempt_at = v.next_attempt_at, claimed_until = null,
            provider_message_id = v.provider_message_id, updated_at = v.updated_at, sent_at = v.sent_at,
            attempts = v.attempts
          from ${rows} as v
          -- What the claimant still holds (see heldBy): not what it settled, and a re-drive queued since.
          where messages.id = v.id and messages.claimed_by = ${claimant} and messages.status = 'sending'
            and messages.id in (${inIdOrder(chunk.map((message) => message.id))})
          returning messages.id`.execute(db);
        for (const row of result.rows) written.add(row.id);
        const unwritten = chunk.map((message) => message.id).filter((id) => !written.has(id));
        if (unwritten.length === 0) continue;
        // Settled by this claimant already: an earlier write of these outcomes committed, its answer lost.
        const settledBefore = await db
          .selectFrom('messages')
          .select('id')
          .where('id', 'in', unwritten)
          .where('claimed_by', '=', claimant)
          .where('status', '!=', 'sending')
          .execute();
        for (const row of settledBefore) written.add(row.id);
      }
      return written;
    },
    async find(workspaceId, id) {
      const row = await db
        .selectFrom('messages')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toMessage(row, ops);
    },
    async findById(id) {
      const row = await db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toMessage(row, ops);
    },
    async list(workspaceId, filter, page) {
      const before = decodeCursor(page.cursor, isString);
      let query = db.selectFrom('messages').selectAll().where('workspace_id', '=', workspaceId);
      if (filter.profileId) query = query.where('profile_id', '=', filter.profileId);
      if (filter.journeyId) query = query.where('journey_id', '=', filter.journeyId);
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.channel) query = query.where('channel', '=', filter.channel);
      if (filter.excludingTestSends) query = query.where(notATestSend);
      if (filter.webhookDestination !== undefined) query = query.where(callsTo(filter.webhookDestination));
      if (before !== undefined) query = query.where('id', '<', before);
      const rows = await query
        .orderBy('id', 'desc')
        .limit(page.limit + 1)
        .execute();
      return toPage(
        rows,
        page.limit,
        (row) => toMessage(row, ops),
        (row) => row.id,
      );
    },
    async skipUntried({ workspaceId, instanceIds, reason, now, keepingReasonsStartingWith }) {
      let skipped = 0;
      for (let i = 0; i < instanceIds.length; i += 500) {
        let update = db
          .updateTable('messages')
          .set({ status: 'skipped', reason, next_attempt_at: null, updated_at: now })
          .where('workspace_id', '=', workspaceId)
          .where('instance_id', 'in', instanceIds.slice(i, i + 500))
          .where('status', 'in', ['queued', 'deferred'])
          .where('attempts', '=', 0);
        for (const prefix of keepingReasonsStartingWith)
          update = update.where((eb) =>
            eb.or([
              eb('reason', 'is', null),
              sql<boolean>`substr(reason, 1, ${sql.lit(prefix.length)}) <> ${prefix}`,
            ]),
          );
        const result = await update.executeTakeFirst();
        skipped += Number(result.numUpdatedRows);
      }
      return skipped;
    },
    async redueDeferred(workspaceId, { reasonsStartingWith, now, journeyId }) {
      if (reasonsStartingWith.length === 0) return 0;
      let update = db
        .updateTable('messages')
        .set({ next_attempt_at: now, updated_at: now })
        .where('workspace_id', '=', workspaceId);
      if (journeyId !== undefined) update = update.where('journey_id', '=', journeyId);
      const result = await update
        .where('status', '=', 'deferred')
        .where('next_attempt_at', '>', now)
        .where((eb) =>
          eb.or(
            reasonsStartingWith.map(
              (prefix) => sql<boolean>`substr(reason, 1, ${sql.lit(prefix.length)}) = ${prefix}`,
            ),
          ),
        )
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async countFailedByChannel() {
      const rows = await db
        .selectFrom('messages')
        .select(['channel', (eb) => eb.fn.countAll<number | string>().as('count')])
        .where('status', '=', 'failed')
        .where(notATestSend)
        .groupBy('channel')
        .execute();
      return new Map(rows.map((row) => [row.channel as Message['channel'], Number(row.count)]));
    },
    async requeueFailed({ workspaceId, channel, ids, webhookDestination, now }) {
      if (ids?.length === 0) return { requeued: [], ofArchivedJourneys: [] };
      // `claimed_by` stays, naming the round that dead-lettered the message, which holds it no longer:
      // it writes only a message `sending` (see `heldBy`).
      let query = db
        .updateTable('messages')
        .set({
          status: 'queued',
          attempts: 0,
          reason: null,
          next_attempt_at: now,
          claimed_until: null,
          updated_at: now,
        })
        .where('workspace_id', '=', workspaceId)
        .where('channel', '=', channel)
        .where('status', '=', 'failed')
        // Sent again, a test send would go to the contact it was personalised for, not the tester.
        .where(notATestSend)
        .where((eb) =>
          eb.or([
            eb('journey_id', 'is', null),
            eb(
              'journey_id',
              'not in',
              eb
                .selectFrom('journeys')
                .select('id')
                .where('workspace_id', '=', workspaceId)
                .where('status', '=', 'archived'),
            ),
          ]),
        );
      if (ids) query = query.where('id', 'in', ids);
      if (webhookDestination !== undefined) query = query.where(callsTo(webhookDestination));
      const rows = await query.returning('id').execute();
      // The dispatcher skips what an archived journey still has queued: requeued, they would be lost,
      // so they stay failed. Listed after the update, so that a journey archived between the two is
      // in one answer or the other, never in neither.
      let archived = db
        .selectFrom('messages')
        .select('messages.id')
        .innerJoin('journeys', 'journeys.id', 'messages.journey_id')
        .where('messages.workspace_id', '=', workspaceId)
        .where('messages.channel', '=', channel)
        .where('messages.status', '=', 'failed')
        .where('journeys.status', '=', 'archived');
      if (ids) archived = archived.where('messages.id', 'in', ids);
      if (webhookDestination !== undefined)
        archived = archived.where(callsTo(webhookDestination, 'messages.context'));
      const ofArchivedJourneys = (await archived.execute()).map((row) => row.id);
      return { requeued: rows.map((row) => row.id), ofArchivedJourneys };
    },
    async listForInstance(instanceId) {
      const rows = await db
        .selectFrom('messages')
        .selectAll()
        .where('instance_id', '=', instanceId)
        .execute();
      return rows.map((row) => toMessage(row, ops));
    },
    async listRecipientsAt(query) {
      const rows = await db
        .selectFrom('messages')
        .select('profile_id')
        .where('workspace_id', '=', query.workspaceId)
        .where('channel', '=', query.channel)
        .where(sql`lower(to_address)`, '=', query.address.toLowerCase())
        // A tester's number is not the contact's: a reply to a test send answers for no one.
        .where(notATestSend)
        .execute();
      // Made distinct here: SQLite would rather read the workspace by profile than sort a few rows.
      return [...new Set(rows.map((row) => row.profile_id))];
    },
    async sentTimes(query) {
      const times = new Map<string, number[]>();
      for (let i = 0; i < query.addresses.length; i += 500) {
        const rows = await db
          .selectFrom('messages')
          .select(['to_address', 'sent_at'])
          .where('workspace_id', '=', query.workspaceId)
          .where('channel', '=', query.channel)
          .where(
            sql`lower(to_address)`,
            'in',
            query.addresses.slice(i, i + 500).map((address) => address.toLowerCase()),
          )
          .where('status', '=', 'sent')
          .where('sent_at', '>', query.since)
          .where((eb) => eb.or([eb('topic', 'is', null), eb('topic', 'not in', query.exceptTopics)]))
          .execute();
        for (const row of rows) {
          const address = row.to_address as string;
          const list = times.get(address) ?? [];
          list.push(Number(row.sent_at));
          times.set(address, list);
        }
      }
      for (const list of times.values()) list.sort((a, b) => a - b);
      return times;
    },
    async saveContext(message, claimant) {
      const result = await db
        .updateTable('messages')
        .set({ context: JSON.stringify(message.context) })
        .where('id', '=', message.id)
        .where(heldBy(claimant))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async countTestSendsSince(workspaceId, since) {
      // No journey's: read through the (journey, step) index's null stretch, not the workspace's log.
      const row = await db
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('journey_id', 'is', null)
        .where('workspace_id', '=', workspaceId)
        .where('topic', '=', TEST_TOPIC)
        .where('created_at', '>', since)
        .executeTakeFirst();
      return Number(row?.count ?? 0);
    },
    async providerIdsRecorded({ workspaceId, address, channel, providerMessageIds }) {
      if (providerMessageIds.length === 0) return new Set();
      const rows = await db
        .selectFrom('messages')
        .select('provider_message_id')
        .where('workspace_id', '=', workspaceId)
        .where('channel', '=', channel)
        .where(sql`lower(to_address)`, '=', address.toLowerCase())
        .where('provider_message_id', 'in', providerMessageIds)
        .execute();
      return new Set(rows.map((row) => row.provider_message_id as string));
    },
    async markFirst(id, field, at) {
      const result = await db
        .updateTable('messages')
        .set({ [field]: at })
        .where('id', '=', id)
        .where(field, 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
  return store;
}

export function createConsentStore(db: Kysely<Database>): ConsentStore {
  return {
    async noteInboundText(entry) {
      const result = await db
        .insertInto('inbound_texts')
        .values({
          workspace_id: entry.workspaceId,
          message_sid: entry.messageSid,
          from_address: entry.from,
          received_at: entry.at,
        })
        .onConflict((oc) => oc.columns(['workspace_id', 'message_sid']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async suppress(entry) {
      await db
        .insertInto('suppressions')
        .values({
          workspace_id: entry.workspaceId,
          channel: entry.channel,
          address: entry.address.toLowerCase(),
          reason: entry.reason,
          replaced_reason: null,
          created_at: entry.at,
        })
        .onConflict((oc) => {
          const existing = oc.columns(['workspace_id', 'channel', 'address']);
          const isOptOut = entry.reason === 'unsubscribed';
          // A number's STOP holds every text and only the contact's START may lift it: it replaces
          // any reason (kept, for the START to bring back), and none replaces it.
          if (entry.channel === 'sms')
            return isOptOut
              ? existing
                  .doUpdateSet((eb) => ({
                    reason: entry.reason,
                    replaced_reason: eb.ref('suppressions.reason'),
                    created_at: entry.at,
                  }))
                  .where('suppressions.reason', '!=', 'unsubscribed')
              : existing.doNothing();
          // A bounce, a complaint or an admin's hand stops receipts too, which an e-mail unsubscribe
          // lets through: it replaces one. The unsubscribe is kept beside it either way, to come back
          // when the stronger reason is lifted. Otherwise the first reason stands.
          return isOptOut
            ? existing
                .doUpdateSet({ replaced_reason: 'unsubscribed' })
                .where('suppressions.reason', '!=', 'unsubscribed')
            : existing
                .doUpdateSet({ reason: entry.reason, replaced_reason: 'unsubscribed', created_at: entry.at })
                .where('suppressions.reason', '=', 'unsubscribed');
        })
        .execute();
    },
    async unsuppress(entry) {
      const address = entry.address.toLowerCase();
      // What it replaced comes back (an opt-out under a bounce reported in error); else it goes.
      const restored = await db
        .updateTable('suppressions')
        .set((eb) => ({ reason: eb.fn.coalesce('replaced_reason', 'reason'), replaced_reason: null }))
        .where('workspace_id', '=', entry.workspaceId)
        .where('channel', '=', entry.channel)
        .where('address', '=', address)
        .where('reason', '=', entry.reason)
        .where('replaced_reason', 'is not', null)
        .executeTakeFirst();
      if (Number(restored.numUpdatedRows) > 0) return true;
      const removed = await db
        .deleteFrom('suppressions')
        .where('workspace_id', '=', entry.workspaceId)
        .where('channel', '=', entry.channel)
        .where('address', '=', address)
        .where('reason', '=', entry.reason)
        .executeTakeFirst();
      return Number(removed.numDeletedRows) > 0;
    },
    async findSuppression(workspaceId, channel, address) {
      const row = await db
        .selectFrom('suppressions')
        .select('reason')
        .where('workspace_id', '=', workspaceId)
        .where('channel', '=', channel)
        .where('address', '=', address.toLowerCase())
        .executeTakeFirst();
      return row?.reason as SuppressionReason | undefined;
    },
    async findSuppressions(workspaceId, channel, addresses) {
      const found = new Map<string, SuppressionReason>();
      const lowered = [...new Set(addresses.map((address) => address.toLowerCase()))];
      for (let i = 0; i < lowered.length; i += 500) {
        const rows = await db
          .selectFrom('suppressions')
          .select(['address', 'reason'])
          .where('workspace_id', '=', workspaceId)
          .where('channel', '=', channel)
          .where('address', 'in', lowered.slice(i, i + 500))
          .execute();
        for (const row of rows) found.set(row.address, row.reason as SuppressionReason);
      }
      return found;
    },
    async listSuppressions(workspaceId, page) {
      const before = decodeCursor(page.cursor, isString);
      let query = db.selectFrom('suppressions').selectAll().where('workspace_id', '=', workspaceId);
      if (page.channel !== undefined) query = query.where('channel', '=', page.channel);
      if (page.address !== undefined) query = query.where('address', '=', page.address);
      if (before !== undefined) query = query.where('address', '>', before);
      const rows = await query
        .orderBy('address')
        .limit(page.limit + 1)
        .execute();
      return toPage(
        rows,
        page.limit,
        (row) => ({
          channel: row.channel,
          address: row.address,
          reason: row.reason as SuppressionReason,
          createdAt: Number(row.created_at),
        }),
        (row) => row.address,
      );
    },
    async setSubscription(entry) {
      const values = {
        workspace_id: entry.workspaceId,
        profile_id: entry.profileId,
        topic: entry.topic,
        is_subscribed: entry.isSubscribed ? 1 : 0,
        updated_at: entry.at,
      };
      await db
        .insertInto('subscriptions')
        .values(values)
        .onConflict((oc) =>
          oc
            .columns(['workspace_id', 'profile_id', 'topic'])
            .doUpdateSet({ is_subscribed: values.is_subscribed, updated_at: entry.at }),
        )
        .execute();
    },
    async listSubscriptions(workspaceId, profileIds) {
      const found = new Map<string, Record<string, boolean>>();
      for (let i = 0; i < profileIds.length; i += 500) {
        const rows = await db
          .selectFrom('subscriptions')
          .select(['profile_id', 'topic', 'is_subscribed'])
          .where('workspace_id', '=', workspaceId)
          .where('profile_id', 'in', profileIds.slice(i, i + 500))
          .execute();
        for (const row of rows) {
          const topics = found.get(row.profile_id) ?? {};
          topics[row.topic] = Number(row.is_subscribed) === 1;
          found.set(row.profile_id, topics);
        }
      }
      return found;
    },
    async findSubscriptions(workspaceId, profileId) {
      const rows = await db
        .selectFrom('subscriptions')
        .select(['topic', 'is_subscribed'])
        .where('workspace_id', '=', workspaceId)
        .where('profile_id', '=', profileId)
        .execute();
      return Object.fromEntries(rows.map((row) => [row.topic, Number(row.is_subscribed) === 1]));
    },
  };
}
