import { sql } from 'kysely';
import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * The order merges happened in: each merged-away profile gets the next number, so a pipeline batch
 * that read its profiles before a merge can tell, as it writes, which of them absorbed another since
 * (it decided them without what the merge brought). Also an index on `merged_into`: a merge points
 * the profiles merged into the one it merges away at the survivor, which scanned every profile.
 */
export const mergeOrder: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await db.schema.alterTable('profiles').addColumn('merge_seq', int64).execute();
      await sql`update profiles set merge_seq = merged_by_event where merged_into is not null`.execute(db);
      await db.schema
        .createIndex('profiles_merge_seq')
        .on('profiles')
        .column('merge_seq')
        .where(sql.ref('merge_seq'), 'is not', null)
        .execute();
      await db.schema
        .createIndex('profiles_merged_into')
        .on('profiles')
        .column('merged_into')
        .where(sql.ref('merged_into'), 'is not', null)
        .execute();
    },
  };
};
