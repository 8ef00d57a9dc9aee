import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { TestWorld } from './world.js';

export const REFUSAL = 'refused by a test trigger';

/** Tables a test can make refuse one user's rows, and how a row names the user. */
const USER_OF_ROW = {
  // Profile resolution creating the user's profile.
  profiles: (row: string) => `${row}.user_id`,
  // The segments consumer making the user's profile a member.
  segment_members: (row: string) => `(select user_id from profiles where id = ${row}.profile_id)`,
} as const;

/**
 * Makes the world's database refuse the rows of `table` that belong to this user (a trigger), so that
 * the consumer writing them fails on the user's events every time, as a bug on some event's data
 * would: the real cause of failure for tests of what the pipeline does with an event it cannot process.
 */
export async function refuseRowsOf(
  world: TestWorld,
  table: keyof typeof USER_OF_ROW,
  userId: string,
): Promise<void> {
  const trigger = `refuse_${table}`;
  if (world.database.backend === 'sqlite') {
    const db = new BetterSqlite3(path.join(world.database.dataDir, 'mops.db'));
    try {
      db.exec(`create trigger ${trigger} before insert on ${table}
        when ${USER_OF_ROW[table]('new')} = '${userId}' begin select raise(abort, '${REFUSAL}'); end`);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: world.database.env.MOPS_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`
      create function ${trigger}() returns trigger language plpgsql as $$
      begin
        if ${USER_OF_ROW[table]('new')} = '${userId}' then raise exception '${REFUSAL}'; end if;
        return new;
      end $$;
      create trigger ${trigger} before insert on ${table} for each row execute function ${trigger}();`);
  } finally {
    await client.end();
  }
}
