import { sql } from 'kysely';
import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * Messages of a profile in one sequence (hand-off calls to one destination) go out one at a time, in
 * the order they were made. Each round's claim asks whether an earlier one of the message's sequence
 * is unsettled: the index holds only those (a handful of rows whatever the size of the log), so the
 * question costs the claim a probe, and messages of no sequence are never in it.
 * Hand-off calls already waiting are put in their sequence, so an upgrade keeps their order too.
 */
export const messageSequences: DialectMigration = (dialect) => ({
  async up(db: MigrationDb) {
    await db.schema.alterTable('messages').addColumn('sequence', 'text').execute();
    await sql`create index messages_sequence_unsettled on messages (profile_id, sequence, id)
      where sequence is not null and status in ('queued', 'deferred', 'sending')`.execute(db);
    const destination =
      dialect === 'postgres'
        ? sql`(context #>> '{webhook,destination}')`
        : sql`json_extract(context, '$.webhook.destination')`;
    // A hand-off call's idempotency key is its hand-off's id (`hof_…`) and what it tells.
    await sql`update messages set sequence = 'hand-off:' || ${destination}
      where status in ('queued', 'deferred', 'sending') and channel = 'webhook' and journey_id is null
        and substr(idempotency_key, 1, 4) = 'hof_'`.execute(db);
  },
});
