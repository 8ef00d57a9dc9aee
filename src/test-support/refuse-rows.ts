import path from 'node:path';
import type { WorldDatabase } from './raw-sql.js';
import { liftRefusal, refuseWrites } from './refusing-trigger.js';
import type { TestWorld } from './world.js';

export { REFUSAL } from './refusing-trigger.js';

/** Tables a test can make refuse one user's rows, and how a row names the user. */
const USER_OF_ROW = {
  // Profile resolution creating the user's profile.
  profiles: 'new.user_id',
  // Scoring awarding the user's profile points.
  score_ledger: '(select user_id from profiles where id = new.profile_id)',
  // The segments consumer making the user's profile a member.
  segment_members: '(select user_id from profiles where id = new.profile_id)',
  // A journey instance of the user's moving (a step entered: `step_id`).
  journey_transitions:
    '(select p.user_id from journey_instances i join profiles p on p.id = i.profile_id where i.id = new.instance_id)',
} as const;

/**
 * Makes a running server's database refuse the rows of `table` that belong to this user, so that
 * the consumer writing them fails on the user's events every time, as a bug on some event's data
 * would: the real cause of failure for tests of what the pipeline does with an event it cannot process.
 */
export async function refuseRowsOf(
  world: TestWorld,
  table: keyof typeof USER_OF_ROW,
  userId: string,
  /** A further condition on the row (`new.step_id = 'remind'`), in SQL both databases read. */
  andWhen?: string,
): Promise<void> {
  await refuseWrites(databaseOf(world), {
    name: `refuse_${table}`,
    table,
    on: 'insert',
    when: `${USER_OF_ROW[table]} = '${userId}'${andWhen ? ` and ${andWhen}` : ''}`,
  });
}

/** Takes `refuseRowsOf`'s trigger on the table away again, as mending the bug would. */
export async function liftRefusalOf(world: TestWorld, table: keyof typeof USER_OF_ROW): Promise<void> {
  await liftRefusal(databaseOf(world), { name: `refuse_${table}`, table });
}

/** A server world's tables: its SQLite file, or the schema on its PostgreSQL URL's search path. */
export function databaseOf(world: TestWorld): WorldDatabase {
  const { backend, dataDir, env } = world.database;
  if (backend === 'sqlite') return { sqlitePath: path.join(dataDir, 'mops.db'), schema: undefined };
  const options = new URL(env.MOPS_DATABASE_URL ?? '').searchParams.get('options') ?? '';
  return { sqlitePath: undefined, schema: /search_path=(\S+)/.exec(options)?.[1] };
}
