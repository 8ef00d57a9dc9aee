import { runRawSql, type WorldDatabase } from './raw-sql.js';

export const REFUSAL = 'refused by a test trigger';

/**
 * A database trigger that refuses some writes to a table, as a bug on one record's data would make
 * them fail every time: the real code fails for real, on that record alone. `when` is the condition,
 * in SQL both databases read, on `new` (insert, update) or `old` (delete).
 */
export async function refuseWrites(
  database: WorldDatabase,
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
  await runRawSql(database, {
    sqlite: `create trigger ${name} before ${on} on ${table}
      when ${when} begin select raise(abort, '${REFUSAL}'); end`,
    postgres: `
      create function ${name}() returns trigger language plpgsql as $$
      begin
        if ${when} then raise exception '${REFUSAL}' using errcode = '${options.sqlState ?? 'P0001'}'; end if;
        if tg_op = 'DELETE' then return old; end if;
        return new;
      end $$;
      create trigger ${name} before ${on} on ${table}
        for each row execute function ${name}();`,
  });
}

/** Takes a `refuseWrites` trigger away again, as mending the bug would: the same writes now succeed. */
export async function liftRefusal(
  database: WorldDatabase,
  options: { name: string; table: string },
): Promise<void> {
  const { name, table } = options;
  await runRawSql(database, {
    sqlite: `drop trigger ${name}`,
    postgres: `drop trigger ${name} on ${table}; drop function ${name}();`,
  });
}
