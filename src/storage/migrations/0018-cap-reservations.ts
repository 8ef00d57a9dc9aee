import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * When a capped send began, while it is under way: worker processes sharing one PostgreSQL database
 * count each other's sends in flight against a contact's frequency caps, not only the ones recorded.
 */
export const capReservations: DialectMigration = (dialect) => ({
  async up(db: MigrationDb) {
    await db.schema.alterTable('messages').addColumn('cap_reserved_at', columnTypes(dialect).int64).execute();
  },
});
