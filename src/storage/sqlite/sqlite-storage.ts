import { EventEmitter } from 'node:events';
import { Kysely, Migrator, sql } from 'kysely';
import { type Clock, systemClock } from '../../core/clock.js';
import { sqliteOps } from '../dialect-ops.js';
import { GroupCommitter } from '../group-committer.js';
import { createAccessStore, createWorkspaceStore } from '../kysely-access.js';
import { createDashboardStore } from '../kysely-dashboard.js';
import {
  countedEventsCondition,
  createEventReader,
  createGeneratedEventWriter,
  type EventRow,
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
import { type Storage, staleAsOutcome } from '../storage.js';
import { BusyRetryingSqliteDialect, retryWhileBusy } from './busy-retry-dialect.js';
import { openSqlite, SqliteAppender } from './sqlite-appender.js';
import { withStatementCache } from './statement-cache.js';

export interface SqliteStorageOptions {
  /** A file path, or `:memory:` for tests. */
  path: string;
  synchronous?: 'normal' | 'full';
  dedupeWindowMs?: number;
  clock?: Clock;
}

const DAY = 86_400_000;

/**
 * The embedded backend: one WAL-mode file, one connection per storage instance (the server's ingest
 * thread has its own). Queries share the connection through Kysely's mutex; the event append is
 * prepared statements with group commit (see SqliteAppender). With synchronous=NORMAL a commit is in
 * the OS page cache before `append` resolves, so it survives the process being killed; `full` also
 * survives power loss.
 */
export async function createSqliteStorage(options: SqliteStorageOptions): Promise<Storage> {
  const clock = options.clock ?? systemClock;
  const synchronous = options.synchronous ?? 'normal';
  // SQLite's busy handler would sleep on this thread and stop its event loop; the dialect waits for
  // the write lock asynchronously instead.
  const raw = openSqlite(options.path, { synchronous, busyTimeoutMs: 0 });
  const db = new Kysely<Database>({
    dialect: new BusyRetryingSqliteDialect({ database: withStatementCache(raw) }),
  });
  const appended = new EventEmitter();
  const ops = sqliteOps;
  const dedupeWindowMs = options.dedupeWindowMs ?? DAY;

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

  // Created on the first append, after migrations have made the tables it prepares statements for.
  let appender: SqliteAppender | undefined;
  const committer = new GroupCommitter((inputs, now) =>
    db.connection().execute(() =>
      retryWhileBusy(() => {
        appender ??= new SqliteAppender(raw, dedupeWindowMs, now);
        return appender.append(inputs, now);
      }),
    ),
  );
  const knownCursors = new Set<string>();

  const storage: Storage = {
    dialect: 'sqlite',
    migrate: () => runMigrations(new Migrator({ db, provider: migrationProvider('sqlite') })),
    async ping() {
      await sql`select 1`.execute(db);
    },
    // The embedded database keeps its own statistics current enough; nothing to check.
    checkServer: async () => [],
    async close() {
      appended.removeAllListeners();
      await db.destroy();
    },
    ...stores(db),
    events: {
      ...createEventReader(db, ops),
      async append(input) {
        const result = await committer.append(input, clock.now());
        if (result.stored > 0) appended.emit('appended');
        return result;
      },
    },
    transaction: (fn) => writeTransaction((handle) => fn(stores(handle))),
    readSnapshot: (fn) => readTransaction((handle) => fn(stores(handle))),
    onEventsAppended(listener) {
      appended.on('appended', listener);
      return () => appended.off('appended', listener);
    },
    async runPipelineBatch(name, limit, batch, at, options) {
      await ensureCursor(name);
      // Read and decide without the write lock, so the writer thread keeps appending meanwhile…
      const position = Number(await cursorPosition(db, name));
      let bound = Number.MAX_SAFE_INTEGER;
      if (options?.notBeyond) {
        await ensureCursor(options.notBeyond);
        bound = Number(await cursorPosition(db, options.notBeyond));
      }
      // The batch ends at the limit-th event it counts (see `countsEveryEvent`), or with the log. Ids are handed out under the
      // write lock and a commit shows all of its rows at once, so every id up to the largest seen is
      // committed: one statement finds the end, the next reads up to it.
      const { rows: ends } = await sql<{ through: number | null }>`
        select coalesce(
          (select id from events where id > ${position} and id <= ${bound} ${countedEventsCondition(options)}
            order by id limit 1 offset ${limit - 1}),
          (select max(id) from events where id <= ${bound})) as through`.execute(db);
      const through = Number(ends[0]?.through ?? 0);
      if (through <= position) return { status: 'idle' };
      const { rows } = await sql<EventRow>`
        select ${pipelineColumns()} from events
        where id > ${position} and id <= ${through} ${mopsEventsCondition(options)}
        order by id`.execute(db);
      const events = rows.map((row) => toStoredEvent(row, ops));
      const span = { after: String(position), through: String(through) };
      const write = await batch.prepare(events, stores(db), span);
      // …then write under it, if nobody moved the cursor in between.
      return writeTransaction(async (handle) => {
        if ((await cursorPosition(handle, name)) !== span.after) return { status: 'busy' as const };
        const result = await write(stores(handle));
        await handle
          .updateTable('pipeline_cursors')
          .set({ position: span.through, updated_at: at })
          .where('name', '=', name)
          .execute();
        return { status: 'done' as const, events, result };
      }).catch(staleAsOutcome);
    },
    async setAside(name, span, events, reason, at) {
      return writeTransaction((handle) => setAsideInTransaction(handle, name, span, events, reason, at));
    },
    async firstUnprocessedAt(name) {
      const { rows } = await sql<{ received_at: number }>`
        select received_at from events
        where id > coalesce((select cast(position as integer) from pipeline_cursors where name = ${name}), 0)
        order by id limit 1`.execute(db);
      return rows[0] === undefined ? undefined : Number(rows[0].received_at);
    },
    // One process writes the file (its messageId window is in memory): nobody else to run alone from.
    async runAlone(_key, work) {
      return { ran: true, value: await work() };
    },
    async pipelineLag(name) {
      const row = await sql<{ lag: number | null }>`
        select (select max(id) from events) - coalesce((select cast(position as integer) from pipeline_cursors where name = ${name}), 0) as lag
      `.execute(db);
      return Math.max(0, Number(row.rows[0]?.lag ?? 0));
    },
  };
  return storage;

  function writeTransaction<T>(fn: (handle: Kysely<Database>) => Promise<T>): Promise<T> {
    return db.connection().execute(async (connection) => {
      // IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading a read lock.
      await sql`begin immediate`.execute(connection);
      try {
        const result = await fn(connection);
        await sql`commit`.execute(connection);
        return result;
      } catch (error) {
        await sql`rollback`.execute(connection).catch(() => undefined);
        throw error;
      }
    });
  }

  function readTransaction<T>(fn: (handle: Kysely<Database>) => Promise<T>): Promise<T> {
    return db.connection().execute(async (connection) => {
      // A deferred transaction reads one snapshot from its first statement on (write-ahead log
      // mode), whatever other connections commit meanwhile; query_only makes a write in it fail.
      // However it ends, the shared connection is left out of the transaction and writable again.
      try {
        await sql`begin deferred`.execute(connection);
        await sql`pragma query_only = on`.execute(connection);
        return await fn(connection);
      } finally {
        // Nothing was written, so a rollback loses nothing; it fails only when SQLite ended the
        // transaction itself (an I/O error), which leaves nothing to end.
        if (raw.inTransaction) await sql`rollback`.execute(connection).catch(() => undefined);
        await sql`pragma query_only = off`.execute(connection);
      }
    });
  }

  async function ensureCursor(name: string): Promise<void> {
    if (knownCursors.has(name)) return;
    await db
      .insertInto('pipeline_cursors')
      .values({ name, position: '0', updated_at: 0 })
      .onConflict((oc) => oc.doNothing())
      .execute();
    knownCursors.add(name);
  }
}

async function cursorPosition(db: Kysely<Database>, name: string): Promise<string> {
  const row = await db
    .selectFrom('pipeline_cursors')
    .select('position')
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  return row.position;
}
