import { EventEmitter } from 'node:events';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { postgresOps } from '../dialect-ops.js';
import { type AppendInput, GroupCommitter } from '../group-committer.js';
import { createAccessStore, createWorkspaceStore } from '../kysely-access.js';
import { createDashboardStore } from '../kysely-dashboard.js';
import {
  countedEventsCondition,
  createEventReader,
  createGeneratedEventWriter,
  mopsEventsCondition,
  pipelineColumns,
  setAsideInTransaction,
  toStoredEvent,
} from '../kysely-events.js';
import { createJourneyStore, createSettingsStore, createTemplateStore } from '../kysely-journeys.js';
import { createConsentStore, createMessageStore } from '../kysely-messages.js';
import { createProfileStore } from '../kysely-profiles.js';
import { createScoringStore } from '../kysely-scoring.js';
import { createSegmentStore } from '../kysely-segments.js';
import { createSetAsideEventStore } from '../kysely-set-aside-events.js';
import { createSetAsideTimerStore } from '../kysely-set-aside-timers.js';
import { migrationProvider } from '../migrations/migrations.js';
import { runMigrations } from '../migrations/run-migrations.js';
import type { Database } from '../schema.js';
import { type AppendResult, type PipelineReadOptions, type Storage, staleAsOutcome } from '../storage.js';
import { withTablesOf } from './schema-introspection.js';

export interface PostgresStorageOptions {
  url: string;
  poolSize?: number;
  /** Puts every table in this schema (it must exist); tests use one schema each. */
  schema?: string;
  /**
   * How long the server lets a transaction sit idle between two of its statements before it ends
   * the session, in milliseconds (0: no limit). A worker frozen mid-batch otherwise holds its
   * cursor's row lock, and holds back every consumer reading below its open transaction, for good.
   */
  idleInTransactionTimeoutMs?: number;
}

const NOTIFY_CHANNEL = 'mops_events';
const INT8_OID = 20;
const LISTEN_RETRY_MS = 1000;
/**
 * Far above the longest gap between two statements of a batch, which is the batch's own work in
 * this process (milliseconds to seconds).
 */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 5 * 60_000;
/**
 * TCP keep-alive on both ends, so a peer that vanished (host crash, network partition) is noticed
 * in about a minute and a half rather than the kernel's two hours: the server then ends the
 * session, letting go of its locks (the idle `runAlone` session's too, which no transaction
 * timeout ends), and the client fails its pending query instead of waiting on it.
 */
const KEEPALIVE_IDLE_SECONDS = 30;
const KEEPALIVE_INTERVAL_SECONDS = 10;
const KEEPALIVE_COUNT = 6;

/** BIGINT columns hold epoch milliseconds and row ids, all far below 2^53: read them as numbers. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * The scale-out backend: several API and worker processes share one database. Dedupe is a unique
 * index on (workspace_id, message_id); the pipeline reads events in commit order using the writing
 * transaction's id (`xact_id`), because identity values are handed out before commit and may commit
 * out of order.
 */
/** Up to this many events behind, the pipeline lag is an exact count; beyond it, an estimate. */
const LAG_COUNTED_EXACTLY = 10_000;

export async function createPostgresStorage(options: PostgresStorageOptions): Promise<Storage> {
  const idleInTransactionMs = options.idleInTransactionTimeoutMs ?? IDLE_IN_TRANSACTION_TIMEOUT_MS;
  // Sent as startup options, which a pooler such as PgBouncer refuses unless told to ignore them: a
  // limit of 0 sends none (the client's own keep-alive still runs).
  const serverSettings = [
    ...(options.schema ? [`search_path=${quoteIdentifier(options.schema)}`] : []),
    ...(idleInTransactionMs === 0
      ? []
      : [
          `idle_in_transaction_session_timeout=${idleInTransactionMs}`,
          `tcp_keepalives_idle=${KEEPALIVE_IDLE_SECONDS}`,
          `tcp_keepalives_interval=${KEEPALIVE_INTERVAL_SECONDS}`,
          `tcp_keepalives_count=${KEEPALIVE_COUNT}`,
        ]),
  ];
  const connection = {
    ...withServerSettings(options.url, serverSettings),
    types,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_SECONDS * 1000,
  };
  const pool = new pg.Pool({ ...connection, max: options.poolSize ?? 10 });
  pool.on('error', () => undefined); // an idle client's broken connection is replaced on next use
  // A connection the server ends while a transaction holds it (between two of its statements) fails
  // that transaction's next statement, and the pool drops it on release; unheard, the error event
  // would end the process.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const ops = postgresOps;
  const appended = new EventEmitter();
  let listener: pg.Client | undefined;
  const knownCursors = new Set<string>();
  let closed = false;

  const stores = (handle: Kysely<Database>) => ({
    workspaces: createWorkspaceStore(handle, ops),
    access: createAccessStore(handle, ops),
    profiles: createProfileStore(handle, ops),
    journeys: createJourneyStore(handle, ops),
    templates: createTemplateStore(handle),
    settings: createSettingsStore(handle, ops),
    messages: createMessageStore(handle, ops),
    consent: createConsentStore(handle),
    segments: createSegmentStore(handle, ops),
    scoring: createScoringStore(handle, ops),
    setAsideTimers: createSetAsideTimerStore(handle),
    setAsideEvents: createSetAsideEventStore(handle, ops),
    dashboard: createDashboardStore(handle),
    generatedEvents: createGeneratedEventWriter(handle, ops),
  });

  async function listen(): Promise<void> {
    if (listener || closed) return;
    const client = new pg.Client(connection);
    listener = client;
    const retry = () => {
      if (listener !== client) return;
      listener = undefined;
      client.end().catch(() => undefined);
      if (!closed && appended.listenerCount('appended') > 0) {
        setTimeout(() => void listen().catch(() => undefined), LISTEN_RETRY_MS).unref();
      }
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', () => appended.emit('appended'));
    try {
      await client.connect();
      await client.query(`listen ${NOTIFY_CHANNEL}`);
    } catch {
      retry();
    }
  }

  // Requests that arrive while a commit is under way share the next one: one fsync (and one NOTIFY,
  // which serialises commits server-wide) for many requests.
  const committer = new GroupCommitter((inputs) => appendGroup(inputs));

  async function appendGroup(inputs: AppendInput[]): Promise<AppendResult[]> {
    const events = inputs.flatMap((input) => input.events);
    const rejected = inputs.flatMap((input) => input.rejected);
    const column = <T>(pick: (event: (typeof events)[number]) => T) => events.map(pick);
    const rejectedColumn = <T>(pick: (entry: (typeof rejected)[number]) => T) => rejected.map(pick);
    const result = await pool.query<{ workspace_id: string; message_id: string }>(
      `with input as (
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                              $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::text[])
           with ordinality as t(workspace_id, message_id, type, name, user_id, anonymous_id,
                                timestamp, original_timestamp, sent_at, received_at, payload, ord)
       ), inserted as (
         insert into events (workspace_id, message_id, type, name, user_id, anonymous_id, timestamp,
                             original_timestamp, sent_at, received_at, payload)
         select workspace_id, message_id, type, name, user_id, anonymous_id, timestamp,
                original_timestamp, sent_at, received_at, payload::jsonb
         from input order by ord
         on conflict (workspace_id, message_id) do nothing
         returning workspace_id, message_id
       ), rejected as (
         insert into rejected_events (workspace_id, received_at, message_id, reason, field, payload)
         select * from unnest($12::text[], $13::bigint[], $14::text[], $15::text[], $16::text[], $17::text[])
         on conflict do nothing
         returning 1
       ), notified as (
         select pg_notify('${NOTIFY_CHANNEL}', '') where exists (select 1 from inserted)
       )
       select workspace_id, message_id from inserted, (select count(*) from rejected) r, (select count(*) from notified) n`,
      [
        column((e) => e.workspaceId),
        column((e) => e.messageId),
        column((e) => e.type),
        column((e) => e.name),
        column((e) => e.userId),
        column((e) => e.anonymousId),
        column((e) => e.timestamp),
        column((e) => e.originalTimestamp),
        column((e) => e.sentAt),
        column((e) => e.receivedAt),
        column((e) => e.payload),
        rejectedColumn((r) => r.workspaceId),
        rejectedColumn((r) => r.receivedAt),
        rejectedColumn((r) => r.messageId),
        rejectedColumn((r) => r.reason),
        rejectedColumn((r) => r.field),
        rejectedColumn((r) => r.payload),
      ],
    );
    // Each stored row counts for the first request that sent it; its repeats, here or earlier, are duplicates.
    const unclaimed = new Set(result.rows.map((row) => `${row.workspace_id}\u0000${row.message_id}`));
    return inputs.map((input) => {
      let stored = 0;
      for (const event of input.events)
        if (unclaimed.delete(`${event.workspaceId}\u0000${event.messageId}`)) stored++;
      return { stored, duplicates: input.events.length - stored };
    });
  }

  const storage: Storage = {
    dialect: 'postgres',
    async migrate() {
      // Kysely looks for its migration tables in every schema unless told which one is ours.
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
      const migrationTableSchema = rows[0]?.schema ?? 'public';
      return runMigrations(
        new Migrator({
          db: withTablesOf(db, migrationTableSchema),
          provider: migrationProvider('postgres'),
          migrationTableSchema,
        }),
      );
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    async checkServer() {
      const { rows } = await sql<{
        autovacuum: string;
      }>`select current_setting('autovacuum') as autovacuum`.execute(db);
      return rows[0]?.autovacuum === 'off'
        ? [
            'autovacuum is off on this PostgreSQL server: table statistics go stale as Mops writes, and the ' +
              'planner then scans whole tables (profile updates slow to a crawl). Turn autovacuum on, or run ANALYZE regularly.',
          ]
        : [];
    },
    async close() {
      closed = true;
      appended.removeAllListeners();
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => undefined);
      await db.destroy();
    },
    ...stores(db),
    events: {
      ...createEventReader(db, ops),
      async append(input) {
        // PostgreSQL dedupes with its unique index, not a time window: the time is not used.
        const result = await committer.append(input, 0);
        if (result.stored > 0) appended.emit('appended');
        return result;
      },
    },
    async transaction(fn) {
      return db.transaction().execute((trx) => fn(stores(trx)));
    },
    async readSnapshot(fn) {
      return db
        .transaction()
        .setIsolationLevel('repeatable read')
        .setAccessMode('read only')
        .execute((trx) => fn(stores(trx)));
    },
    onEventsAppended(callback) {
      appended.on('appended', callback);
      void listen();
      return () => appended.off('appended', callback);
    },
    async runPipelineBatch(name, limit, batch, at, options) {
      await ensureCursor(name);
      if (options?.notBeyond) await ensureCursor(options.notBeyond);
      return db
        .transaction()
        .execute(async (trx) => {
          const position = await claimCursor(trx, name);
          if (position === undefined) return { status: 'busy' as const };
          const read = await readAfter(trx, position, limit, options);
          if (read.position === position) return { status: 'idle' as const };
          const write = await batch.prepare(read.events, stores(trx), {
            after: position,
            through: read.position,
          });
          const result = await write(stores(trx));
          await trx
            .updateTable('pipeline_cursors')
            .set({ position: read.position, updated_at: at })
            .where('name', '=', name)
            .execute();
          return { status: 'done' as const, events: read.events, result };
        })
        .catch(staleAsOutcome);
    },
    async setAside(name, span, events, reason, at) {
      return db.transaction().execute((trx) => setAsideInTransaction(trx, name, span, events, reason, at));
    },
    async firstUnprocessedAt(name) {
      const result = await sql<{ received_at: string }>`
        with cursor as materialized (
          select split_part(position, ':', 1)::xid8 as xact_id, split_part(position, ':', 2)::bigint as id
          from pipeline_cursors where name = ${name}
          union all select '0'::xid8, 0 limit 1
        )
        select received_at from events
        where (xact_id, id) > ((select xact_id from cursor), (select id from cursor))
        order by xact_id, id limit 1`.execute(db);
      const row = result.rows[0];
      return row === undefined ? undefined : Number(row.received_at);
    },
    async runAlone(key, work) {
      const holder = new pg.Client(connection);
      holder.on('error', () => undefined); // a broken connection lets go of the lock: the work goes on
      await holder.connect();
      const lockId = `hashtextextended(current_schema() || '/' || $1, 0)`;
      try {
        const { rows } = await holder.query<{ locked: boolean }>(
          `select pg_try_advisory_lock(${lockId}) as locked`,
          [key],
        );
        if (rows[0]?.locked !== true) return { ran: false };
        // Ending the connection lets go of the lock, whatever the work did.
        return { ran: true, value: await work() };
      } finally {
        await holder.end().catch(() => undefined);
      }
    },
    async pipelineLag(name) {
      // Counted exactly near zero (where it matters: "caught up?") through the commit-order index;
      // a long backlog is estimated from ids instead of scanning it on every /metrics scrape.
      const result = await sql<{ counted: number; estimate: string | null }>`
        with cursor as materialized (
          select split_part(position, ':', 1)::xid8 as xact_id, split_part(position, ':', 2)::bigint as id
          from pipeline_cursors where name = ${name}
          union all select '0'::xid8, 0 limit 1
        )
        select
          (select count(*)::int from (
            select 1 from events
            where (xact_id, id) > ((select xact_id from cursor), (select id from cursor))
            order by xact_id, id
            limit ${LAG_COUNTED_EXACTLY + 1}) backlog) as counted,
          (select max(id) - (select id from cursor) from events)::text as estimate`.execute(db);
      const row = result.rows[0];
      if (!row || row.counted <= LAG_COUNTED_EXACTLY) return row?.counted ?? 0;
      return Math.max(row.counted, Number(row.estimate ?? 0));
    },
  };
  return storage;

  /** Creates the cursor row in its own statement, so no claiming transaction ever waits on an insert. */
  async function ensureCursor(name: string): Promise<void> {
    if (knownCursors.has(name)) return;
    await db
      .insertInto('pipeline_cursors')
      .values({ name, position: '0:0', updated_at: 0 })
      .onConflict((oc) => oc.doNothing())
      .execute();
    knownCursors.add(name);
  }

  async function claimCursor(handle: Kysely<Database>, name: string): Promise<string | undefined> {
    const claimed = await sql<{ position: string }>`
      select position from pipeline_cursors where name = ${name} for update skip locked`.execute(handle);
    return claimed.rows[0]?.position;
  }

  async function readAfter(
    handle: Kysely<Database>,
    position: string,
    limit: number,
    options: PipelineReadOptions | undefined,
  ) {
    const [xact = '0', id = '0'] = position.split(':');
    const after = sql`(${xact}::xid8, ${Number(id)}::bigint)`;
    const notBeyond = options?.notBeyond;
    const bound = notBeyond
      ? sql`and (xact_id, id) <= (
          select split_part(position, ':', 1)::xid8, split_part(position, ':', 2)::bigint
          from pipeline_cursors where name = ${notBeyond})`
      : sql``;
    // Only transactions older than every one still running are complete: a younger event could
    // still be joined by an older, slower transaction's events, which must not be skipped.
    const complete = sql`xact_id < pg_snapshot_xmin(pg_current_snapshot())`;
    // The batch ends at the limit-th event it counts (see `countsEveryEvent`), or else at the last complete event.
    const ends = await sql<{ xact_id: string; id: string }>`
      select xact_id, id from (
        (select xact_id, id, 0 as preference from events
          where (xact_id, id) > ${after} and ${complete} ${bound} ${countedEventsCondition(options)}
          order by xact_id, id limit 1 offset ${limit - 1})
        union all
        (select xact_id, id, 1 from events
          where (xact_id, id) > ${after} and ${complete} ${bound}
          order by xact_id desc, id desc limit 1)
      ) ends order by preference limit 1`.execute(handle);
    const end = ends.rows[0];
    if (!end) return { events: [], position };
    const through = `${end.xact_id}:${Number(end.id)}`;
    // Everything up to the end was complete when it was found, so this read sees all of it.
    const result = await sql<Database['events']>`
      select ${pipelineColumns()} from events
      where (xact_id, id) > ${after} and (xact_id, id) <= (${end.xact_id}::xid8, ${Number(end.id)}::bigint)
        ${mopsEventsCondition(options)}
      order by xact_id, id`.execute(handle);
    return {
      // biome-ignore lint/suspicious/noExplicitAny: the raw row has the events table's columns.
      events: result.rows.map((row) => toStoredEvent(row as any, ops)),
      position: through,
    };
  }
}

/**
 * The connection's `options` setting each of `settings` on the server. pg lets options in the URL
 * replace the ones given beside it, so the URL's are taken out of it and put after ours: both
 * apply, and the URL's win where both set one.
 */
function withServerSettings(url: string, settings: string[]): { connectionString: string; options?: string } {
  const ours = settings.map((setting) => `-c ${setting}`).join(' ');
  const queryAt = url.indexOf('?');
  const query = new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1));
  const theirs = query.get('options');
  if (theirs === null)
    return ours === '' ? { connectionString: url } : { connectionString: url, options: ours };
  query.delete('options');
  const rest = query.toString();
  return {
    connectionString: `${url.slice(0, queryAt)}${rest === '' ? '' : `?${rest}`}`,
    options: `${ours} ${theirs}`,
  };
}

function quoteIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/i.test(name)) throw new Error(`unsafe schema name ${name}`);
  return name;
}
