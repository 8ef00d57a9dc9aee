import { searchTextOf } from '../profile-search.js';
import type { DialectMigration, MigrationDb } from './migrations.js';
import { fillProfileColumn } from './profile-column-fill.js';

/**
 * Profiles are searched by `search_text`, their trait values as `searchTextOf` writes them, instead of
 * the traits' JSON text (which matched trait names and JSON's escapes). Existing profiles get theirs
 * here, computed by the same function as every write after.
 */
export const profileSearchText: DialectMigration = (dialect) => ({
  async up(db: MigrationDb) {
    await db.schema
      .alterTable('profiles')
      .addColumn('search_text', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    // Empty is what the column holds already: a profile without traits (a visitor) is not written.
    await fillProfileColumn(db, dialect, 'search_text', (traits) => searchTextOf(traits) || undefined);
  },
});
