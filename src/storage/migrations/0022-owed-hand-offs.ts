import { sql } from 'kysely';
import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/**
 * A profile reaching the hand-off stage before sales can tell who it is is owed its hand-off
 * (`awaiting_identity`): no owner yet, so `owner` may be null; `owed_at` keeps when it was owed once
 * it is made, and `dropped_reason` why one was dropped instead. SQLite cannot drop a NOT NULL, so
 * there the table is rebuilt.
 */
export const owedHandOffs: DialectMigration = (dialect) => {
  const { int64 } = columnTypes(dialect);
  return {
    async up(db: MigrationDb) {
      if (dialect === 'postgres') {
        await db.schema
          .alterTable('hand_offs')
          .alterColumn('owner', (column) => column.dropNotNull())
          .execute();
        await db.schema.alterTable('hand_offs').addColumn('owed_at', int64).execute();
        await db.schema.alterTable('hand_offs').addColumn('dropped_reason', 'text').execute();
        return;
      }
      await db.schema
        .createTable('hand_offs_rebuilt')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('owner', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text')
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('due_at', int64, (c) => c.notNull())
        .addColumn('accepted_at', int64)
        .addColumn('breached_at', int64)
        .addColumn('owed_at', int64)
        .addColumn('dropped_reason', 'text')
        .execute();
      await sql`
        insert into hand_offs_rebuilt
          (id, workspace_id, profile_id, owner, status, message_id, created_at, due_at, accepted_at, breached_at)
        select id, workspace_id, profile_id, owner, status, message_id, created_at, due_at, accepted_at, breached_at
        from hand_offs`.execute(db);
      await db.schema.dropTable('hand_offs').execute();
      await db.schema.alterTable('hand_offs_rebuilt').renameTo('hand_offs').execute();
      await db.schema
        .createIndex('hand_offs_profile')
        .on('hand_offs')
        .columns(['profile_id', 'created_at'])
        .execute();
      await db.schema.createIndex('hand_offs_due').on('hand_offs').columns(['status', 'due_at']).execute();
    },
  };
};
