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
