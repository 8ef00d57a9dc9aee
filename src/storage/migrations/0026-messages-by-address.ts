import { sql } from 'kysely';
import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * The workspace's messages on a channel by the address they went to, whatever its case (an e-mail
 * address's; a phone number has none): frequency caps count what was sent to an address whatever
 * profile it was sent for (two profiles sharing a phone are one person's phone), and a STOP finds the
 * profiles texted at the number. Without it, each dispatch round would read every message of the
 * workspace.
 */
export const messagesByAddress: DialectMigration = () => ({
  async up(db: MigrationDb) {
    await sql`create index messages_address on messages (workspace_id, channel, lower(to_address), sent_at)`.execute(
      db,
    );
  },
});
