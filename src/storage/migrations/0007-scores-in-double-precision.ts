import type { DialectMigration, MigrationDb } from './migrations.js';

/**
 * Points and scores as 8-byte floats on PostgreSQL too: `real` there is 4 bytes (about seven
 * digits), so a score of 987,654.32 read back as 987,654.3. SQLite's REAL is
 * 8 bytes already.
 */
export const scoresInDoublePrecision: DialectMigration = (dialect) => ({
  async up(db: MigrationDb) {
    if (dialect !== 'postgres') return;
    await db.schema
      .alterTable('score_ledger')
      .alterColumn('points', (column) => column.setDataType('double precision'))
      .execute();
    await db.schema
      .alterTable('profile_scores')
      .alterColumn('score', (column) => column.setDataType('double precision'))
      .execute();
  },
});
