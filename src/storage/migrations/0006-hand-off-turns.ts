import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * Whose turn it is in each workspace's round-robin of sales owners: only leads that no assignment
 * rule places take a turn (counting every hand-off, as before, let rule-placed leads skip owners),
 * and reading it is one row, not a count over every hand-off. Workspaces start over at the first owner.
 */
export const handOffTurnsSchema: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('hand_off_turns')
        .addColumn('workspace_id', 'text', (c) => c.primaryKey())
        .addColumn('turn', int64, (c) => c.notNull())
        .execute();
    },
  };
};
