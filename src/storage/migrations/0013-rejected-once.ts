import { sql } from 'kysely';
import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * A rejected call is kept once per message id, as a stored one is: a client retrying a batch, or a
 * file imported again, no longer lists its bad calls twice. Calls without a message id stay apart.
 */
export const rejectedOnce: DialectMigration = () => ({
  async up(db: MigrationDb) {
    await sql`
      delete from rejected_events
      where message_id is not null and id not in (
        select min(id) from rejected_events where message_id is not null group by workspace_id, message_id
      )`.execute(db);
    await db.schema
      .createIndex('rejected_events_message')
      .on('rejected_events')
      .columns(['workspace_id', 'message_id'])
      .unique()
      .execute();
  },
});
