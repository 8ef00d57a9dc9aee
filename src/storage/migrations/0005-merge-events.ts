import { sql } from 'kysely';
import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * The event that merged a profile away (a login carrying the visitor's anonymous id, an alias): the
 * segments consumer decides the survivor afresh from its whole history when it meets that event, as
 * its memory of the survivor's events lacks what the merge brought.
 */
export const mergeEventsSchema: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await db.schema.alterTable('profiles').addColumn('merged_by_event', int64).execute();
      await db.schema
        .createIndex('profiles_merged_by_event')
        .on('profiles')
        .column('merged_by_event')
        .where(sql.ref('merged_by_event'), 'is not', null)
        .execute();
    },
  };
};
