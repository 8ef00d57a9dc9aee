import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { testDatabaseUrl } from './postgres.js';

/** Where a test world's tables are: its SQLite file, or its PostgreSQL schema. */
export interface WorldDatabase {
  sqlitePath: string | undefined;
  schema: string | undefined;
}

/**
 * Runs SQL on a world's database over a connection of its own, as an operator's tool would: to store
 * what the code never writes (a row edited by hand), or to add a trigger.
 */
export async function runRawSql(
  database: WorldDatabase,
  text: { sqlite: string; postgres: string },
): Promise<void> {
  if (database.sqlitePath !== undefined) {
    const db = new BetterSqlite3(database.sqlitePath);
    try {
      db.exec(text.sqlite);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    await client.query(`set search_path to ${database.schema}`);
    await client.query(text.postgres);
  } finally {
    await client.end();
  }
}
