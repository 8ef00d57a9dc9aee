import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { type Clock, systemClock } from '../../core/clock.js';
import type { NewEvent, RejectedEvent } from '../../core/event.js';
import { sqliteOps } from '../dialect-ops.js';
import { createAccessStore, createWorkspaceStore } from '../kysely-access.js';
import { createEventReader, toStoredEvent } from '../kysely-events.js';
import { createProfileStore } from '../kysely-profiles.js';
import { migrationProvider } from '../migrations/migrations.js';
import { runMigrations } from '../migrations/run-migrations.js';
import type { Database } from '../schema.js';
import type { AppendResult, PipelineStore, Storage, StorageTx } from '../storage.js';
import { MessageIdWindow } from './message-id-window.js';

export interface SqliteStorageOptions {
  /** A file path, or `:memory:` for tests. */
  path: string;
  synchronous?: 'normal' | 'full';
  dedupeWindowMs?: number;
  clock?: Clock;
}

const DAY = 86_400_000;
/** received_at is only nearly monotonic in id order (clock steps), so the window reload reads a little past it. */
const RELOAD_SLACK_MS = 60_000;

/**
 * The embedded backend: one better-sqlite3 connection in WAL mode, shared by every query through
 * Kysely's connection mutex. In WAL mode with synchronous=NORMAL a commit is in the OS page cache
 * before `append` resolves, so it survives the process being killed; `full` also survives power loss.
 */
export async function createSqliteStorage(options: SqliteStorageOptions): Promise<Storage> {
  const clock = options.clock ?? systemClock;
  if (options.path !== ':memory:') mkdirSync(path.dirname(path.resolve(options.path)), { recursive: true });
  const raw = new BetterSqlite3(options.path);
  raw.pragma('journal_mode = WAL');
  raw.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  raw.pragma('busy_timeout = 5000');
  raw.pragma('foreign_keys = ON');
  raw.pragma('cache_size = -65536');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  const appended = new EventEmitter();
  const ops = sqliteOps;
  const dedupeWindowMs = options.dedupeWindowMs ?? DAY;

  const stores = (handle: Kysely<Database>) => ({
    workspaces: createWorkspaceStore(handle),
    access: createAccessStore(handle),
    profiles: createProfileStore(handle, ops),
  });

  let appender: SqliteAppender | undefined;
  const eventReader = createEventReader(db, ops);

  const storage: Storage = {
    dialect: 'sqlite',
    migrate: () => runMigrations(new Migrator({ db, provider: migrationProvider('sqlite') })),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      appended.removeAllListeners();
      await db.destroy();
    },
    ...stores(db),
    events: {
      ...eventReader,
      async append(input) {
        const result = await db.connection().execute(async () => {
          appender ??= new SqliteAppender(raw, dedupeWindowMs, clock.now());
          return appender.append(input.events, input.rejected, clock.now());
        });
        if (result.stored > 0) appended.emit('appended');
        return result;
      },
    },
    async transaction(fn) {
      return db.connection().execute(async (connection) => {
        // IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read lock.
        await sql`begin immediate`.execute(connection);
        try {
          const tx: StorageTx = { ...stores(connection), pipeline: createPipelineStore(connection) };
          const result = await fn(tx);
          await sql`commit`.execute(connection);
          return result;
        } catch (error) {
          await sql`rollback`.execute(connection).catch(() => undefined);
          throw error;
        }
      });
    },
    onEventsAppended(listener) {
      appended.on('appended', listener);
      return () => appended.off('appended', listener);
    },
    async pipelineLag(name) {
      const row = await sql<{ lag: number | null }>`
        select (select max(id) from events) - coalesce((select cast(position as integer) from pipeline_cursors where name = ${name}), 0) as lag
      `.execute(db);
      return Math.max(0, Number(row.rows[0]?.lag ?? 0));
    },
  };
  return storage;

  function createPipelineStore(handle: Kysely<Database>): PipelineStore {
    return {
      async claimCursor(name) {
        await handle
          .insertInto('pipeline_cursors')
          .values({ name, position: '0', updated_at: 0 })
          .onConflict((oc) => oc.doNothing())
          .execute();
        const row = await handle
          .selectFrom('pipeline_cursors')
          .select('position')
          .where('name', '=', name)
          .executeTakeFirstOrThrow();
        return row.position;
      },
      async readAfter(position, limit) {
        const rows = await handle
          .selectFrom('events')
          .selectAll()
          .where('id', '>', Number(position))
          .orderBy('id')
          .limit(limit)
          .execute();
        const last = rows.at(-1);
        return {
          events: rows.map((row) => toStoredEvent(row, ops)),
          position: last ? String(last.id) : position,
        };
      },
      async saveCursor(name, position, at) {
        await handle
          .updateTable('pipeline_cursors')
          .set({ position, updated_at: at })
          .where('name', '=', name)
          .execute();
      },
    };
  }
}

/**
 * The ingest hot path: prepared statements in one IMMEDIATE transaction per request, with messageId
 * dedupe against an in-memory window (see MessageIdWindow). Rows written by another process since
 * our last commit are read first, inside the write lock, so the window is exact even then.
 */
class SqliteAppender {
  readonly #window: MessageIdWindow;
  readonly #insertEvent: BetterSqlite3.Statement;
  readonly #insertRejected: BetterSqlite3.Statement;
  readonly #readSince: BetterSqlite3.Statement<
    [number],
    { id: number; workspace_id: string; message_id: string }
  >;
  readonly #transaction: BetterSqlite3.Transaction<
    (events: NewEvent[], rejected: RejectedEvent[]) => AppendResult & { lastId: number }
  >;
  #lastSeenId: number;

  constructor(raw: BetterSqlite3.Database, windowMs: number, now: number) {
    this.#window = new MessageIdWindow(windowMs, now);
    this.#insertEvent = raw.prepare(
      `insert into events (workspace_id, message_id, type, name, user_id, anonymous_id, timestamp,
         original_timestamp, sent_at, received_at, payload) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#insertRejected = raw.prepare(
      `insert into rejected_events (workspace_id, received_at, message_id, reason, field, payload)
       values (?, ?, ?, ?, ?, ?)`,
    );
    this.#readSince = raw.prepare('select id, workspace_id, message_id from events where id > ? order by id');
    this.#lastSeenId = this.#reload(raw, now - windowMs - RELOAD_SLACK_MS);

    this.#transaction = raw.transaction((events: NewEvent[], rejected: RejectedEvent[]) => {
      let lastId = this.#lastSeenId;
      for (const row of this.#readSince.iterate(lastId)) {
        this.#window.add(row.workspace_id, row.message_id);
        lastId = row.id;
      }
      let stored = 0;
      let duplicates = 0;
      for (const event of events) {
        if (this.#window.has(event.workspaceId, event.messageId)) {
          duplicates++;
          continue;
        }
        const info = this.#insertEvent.run(
          event.workspaceId,
          event.messageId,
          event.type,
          event.name,
          event.userId,
          event.anonymousId,
          event.timestamp,
          event.originalTimestamp,
          event.sentAt,
          event.receivedAt,
          event.payload,
        );
        this.#window.add(event.workspaceId, event.messageId);
        lastId = Number(info.lastInsertRowid);
        stored++;
      }
      for (const entry of rejected) {
        this.#insertRejected.run(
          entry.workspaceId,
          entry.receivedAt,
          entry.messageId,
          entry.reason,
          entry.field,
          entry.payload,
        );
      }
      return { stored, duplicates, lastId };
    });
  }

  append(events: NewEvent[], rejected: RejectedEvent[], now: number): AppendResult {
    this.#window.begin(now);
    try {
      const { stored, duplicates, lastId } = this.#transaction.immediate(events, rejected);
      this.#window.commit();
      this.#lastSeenId = lastId;
      return { stored, duplicates };
    } catch (error) {
      this.#window.rollback();
      throw error;
    }
  }

  /** Fills the window from the newest events back to `since`; returns the newest event id. */
  #reload(raw: BetterSqlite3.Database, since: number): number {
    const rows = raw
      .prepare('select id, workspace_id, message_id, received_at from events order by id desc')
      .iterate() as IterableIterator<{
      id: number;
      workspace_id: string;
      message_id: string;
      received_at: number;
    }>;
    let newest = 0;
    for (const row of rows) {
      if (newest === 0) newest = row.id;
      if (row.received_at < since) break;
      this.#window.add(row.workspace_id, row.message_id);
    }
    return newest;
  }
}
