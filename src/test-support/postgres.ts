import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL every development and CI machine of this project runs (trust auth, database `test`). */
export function testDatabaseUrl(): string {
  return process.env.MOPS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

export interface TestSchema {
  url: string;
  schema: string;
  /** The URL with the schema put on the search path, for processes started by a test. */
  urlWithSchema: string;
  drop(): Promise<void>;
}

/** A fresh schema per test suite, so suites run in parallel on one database and leave nothing behind. */
export async function createTestSchema(): Promise<TestSchema> {
  const url = testDatabaseUrl();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`create schema ${schema}`);
  } finally {
    await client.end();
  }
  const withSchema = new URL(url);
  withSchema.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url,
    schema,
    urlWithSchema: withSchema.toString(),
    async drop() {
      const dropper = new pg.Client({ connectionString: url });
      await dropper.connect();
      try {
        await dropper.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/**
 * Resolves once some transaction waits for the advisory lock on `key` in `schema` (`lockKey` in the
 * storage's dialect ops), as seen through `client`; rejects after `timeoutMs`.
 */
export async function someoneWaitsForLock(
  client: pg.Client,
  options: { schema: string; key: string; timeoutMs?: number },
): Promise<void> {
  const { schema, key, timeoutMs = 5000 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rowCount } = await client.query(
      `select 1 from pg_locks, hashtextextended($1 || '/' || $2, 0) as h
       where locktype = 'advisory' and not granted
         and classid::bigint = (h >> 32) & 4294967295 and objid::bigint = h & 4294967295`,
      [schema, key],
    );
    if ((rowCount ?? 0) > 0) return;
    if (Date.now() > deadline) throw new Error(`nobody waited for the lock ${key} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Resolves once some transaction waits for a row of `table` in `schema` that another holds locked
 * (it holds the tuple lock and waits for the holder's transaction), as seen through `client`; rejects
 * after `timeoutMs`.
 */
export async function someoneWaitsForRow(
  client: pg.Client,
  options: { schema: string; table: string; timeoutMs?: number },
): Promise<void> {
  const { schema, table, timeoutMs = 5000 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rowCount } = await client.query(
      `select 1 from pg_locks tuple
       join pg_locks waiting on waiting.pid = tuple.pid and waiting.locktype = 'transactionid' and not waiting.granted
       where tuple.locktype = 'tuple' and tuple.relation = to_regclass($1 || '.' || $2)`,
      [schema, table],
    );
    if ((rowCount ?? 0) > 0) return;
    if (Date.now() > deadline) throw new Error(`nobody waited for a row of ${table} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
