import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * What group calls changed on accounts, per event, as `trait_changes` keeps for identify calls:
 * scoring judges a recycled lead's dip with the account traits each event of a batch found, which
 * the account's row, holding only the latest, cannot tell.
 */
export const accountTraitChanges: DialectMigration = (dialect) => {
  const { int64, serialTable: serial } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await serial(db, 'account_trait_changes')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('event_id', int64, (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('trait', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('previous', 'text', (c) => c.notNull())
        .addColumn('at', int64, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('account_trait_changes_event')
        .on('account_trait_changes')
        .columns(['event_id'])
        .execute();
    },
  };
};
