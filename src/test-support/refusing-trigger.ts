import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { testDatabaseUrl } from './postgres.js';

export const REFUSAL = 'refused by a test trigger';

/**
 * A database trigger that refuses some writes to a table, as a bug on one record's data would make
 * them fail every time: the real code fails for real, on that record alone. `when` is the condition,
 * in SQL both databases read, on `new` (insert, update) or `old` (delete).
 */
export async function refuseWrites(
  database: { sqlitePath: string | undefined; schema: string | undefined },
  options: {
    name: string;
    table: string;
    on: 'insert' | 'update' | 'delete';
    when: string;
    /** PostgreSQL only: the SQLSTATE to raise, e.g. 40001 for a failure of the database itself. */
    sqlState?: string;
  },
): Promise<void> {
  const { name, table, on, when } = options;
  if (database.sqlitePath !== undefined) {
    const db = new BetterSqlite3(database.sqlitePath);
    try {
      db.exec(`create trigger ${name} before ${on} on ${table}
        when ${when} begin select raise(abort, '${REFUSAL}'); end`);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    await client.query(`set search_path to ${database.schema}`);
    await client.query(`
      create function ${name}() returns trigger language plpgsql as $$
      begin
        if ${when} then raise exception '${REFUSAL}' using errcode = '${options.sqlState ?? 'P0001'}'; end if;
        if tg_op = 'DELETE' then return old; end if;
        return new;
      end $$;
      create trigger ${name} before ${on} on ${table}
        for each row execute function ${name}();`);
  } finally {
    await client.end();
  }
}
