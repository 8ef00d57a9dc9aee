import { sql } from 'kysely';
import { PAGE_VIEWED, SCREEN_VIEWED } from '../../core/event.js';
import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * `page` and `screen` calls without a name, stored until now under no name, are counted as
 * `Page Viewed` and `Screen Viewed`, as ingest counts them from now on: a segment asking about page
 * views then sees a contact's earlier ones too. (Only the derived `name` column; payloads stay as sent.)
 */
export const unnamedViews: DialectMigration = () => ({
  async up(db: MigrationDb) {
    for (const [type, name] of [
      ['page', PAGE_VIEWED],
      ['screen', SCREEN_VIEWED],
    ] as const) {
      await sql`
        update events set name = ${name}
        where type = ${type} and (name is null or trim(name) = '')`.execute(db);
    }
  },
});
