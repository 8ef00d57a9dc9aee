import { type RawBuilder, sql } from 'kysely';
import type { DialectName } from './migrations/migrations.js';

/** The few things the shared Kysely stores do differently per backend. */
export interface DialectOps {
  name: DialectName;
  /** A JSON column as read: parsed by pg (jsonb), text from SQLite. */
  readJson<T>(value: unknown): T;
  /** "Column's text, without the spaces, dashes, dots and brackets phone numbers are written with, contains digits". */
  phoneContains(column: string, digits: string): RawBuilder<boolean>;
  /** A JSON column's text at a path of object keys (`['webhook', 'destination']`), or null. */
  jsonText(column: string, path: string[]): RawBuilder<string | null>;
  /** Row locks: PostgreSQL `FOR UPDATE [SKIP LOCKED]`; SQLite needs none, its write transactions are serial. */
  lockRows: '' | 'for update';
  skipLockedRows: '' | 'for update skip locked';
  /** Serialises transactions on a key: `pg_advisory_xact_lock`; nothing on SQLite. */
  lockKey(key: string): RawBuilder<unknown> | undefined;
  /** The same key held beside other holders of it, but not beside `lockKey`'s: `…_lock_shared`. */
  lockKeyShared(key: string): RawBuilder<unknown> | undefined;
  /**
   * Events after a consumer's position, and the order consumers read them in: by id on SQLite, by
   * commit (`xact_id:id`) on PostgreSQL.
   */
  afterLogPosition(position: string): RawBuilder<boolean>;
  logOrder: RawBuilder<unknown>;
}

export const sqliteOps: DialectOps = {
  name: 'sqlite',
  readJson: <T>(value: unknown) => JSON.parse(value as string) as T,
  phoneContains: (column, digits) =>
    sql<boolean>`instr(replace(replace(replace(replace(replace(${sql.ref(column)}, ' ', ''), '-', ''), '.', ''), '(', ''), ')', ''), ${digits}) > 0`,
  jsonText: (column, path) => sql<string | null>`json_extract(${sql.ref(column)}, ${`$.${path.join('.')}`})`,
  lockRows: '',
  skipLockedRows: '',
  lockKey: () => undefined,
  lockKeyShared: () => undefined,
  afterLogPosition: (position) => sql<boolean>`id > ${Number(position) || 0}`,
  logOrder: sql`id`,
};

export const postgresOps: DialectOps = {
  name: 'postgres',
  readJson: <T>(value: unknown) => value as T,
  phoneContains: (column, digits) =>
    sql<boolean>`strpos(regexp_replace(${sql.ref(column)}::text, '[ ().-]', '', 'g'), ${digits}) > 0`,
  jsonText: (column, path) => sql<string | null>`(${sql.ref(column)} #>> ${path}::text[])`,
  lockRows: 'for update',
  skipLockedRows: 'for update skip locked',
  // Advisory locks belong to the whole cluster: the schema keeps installations sharing one apart.
  lockKey: (key) => sql`select pg_advisory_xact_lock(hashtextextended(current_schema() || '/' || ${key}, 0))`,
  lockKeyShared: (key) =>
    sql`select pg_advisory_xact_lock_shared(hashtextextended(current_schema() || '/' || ${key}, 0))`,
  afterLogPosition: (position) => {
    const [xact = '0', id = '0'] = position.split(':');
    return sql<boolean>`(xact_id, id) > (${xact}::xid8, ${Number(id)}::bigint)`;
  },
  logOrder: sql`xact_id, id`,
};
