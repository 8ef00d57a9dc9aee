import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { TestWorld } from './world.js';

export const REFUSAL = 'refused by a test trigger';

/**
 * Makes the world's database refuse to create this user's profile (a trigger), so that profile
 * resolution fails on the user's events every time, as a bug on some event's data would: the real
 * cause of failure for tests of what the pipeline does with an event it cannot process.
 */
export async function refuseProfilesOf(world: TestWorld, userId: string): Promise<void> {
  if (world.database.backend === 'sqlite') {
    const db = new BetterSqlite3(path.join(world.database.dataDir, 'mops.db'));
    try {
      db.exec(`create trigger refuse_profile before insert on profiles
        when new.user_id = '${userId}' begin select raise(abort, '${REFUSAL}'); end`);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: world.database.env.MOPS_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`
      create function refuse_profile() returns trigger language plpgsql as $$
      begin
        if new.user_id = '${userId}' then raise exception '${REFUSAL}'; end if;
        return new;
      end $$;
      create trigger refuse_profile before insert on profiles
        for each row execute function refuse_profile();`);
  } finally {
    await client.end();
  }
}
