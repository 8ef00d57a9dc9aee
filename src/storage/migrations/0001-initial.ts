import { sql } from 'kysely';
import type { DialectMigration, MigrationDb } from './migrations.js';

export const initialSchema: DialectMigration = (dialect) => {
  const isPostgres = dialect === 'postgres';
  const json = isPostgres ? 'jsonb' : 'text';
  const int64 = isPostgres ? 'bigint' : 'integer';

  return {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('workspaces')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text')
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('memberships')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .addPrimaryKeyConstraint('memberships_pk', ['workspace_id', 'user_id'])
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hint', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('last_used_at', int64)
        .addColumn('revoked_at', int64)
        .execute();
      await db.schema
        .createIndex('api_keys_workspace')
        .on('api_keys')
        .columns(['workspace_id', 'created_at'])
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('expires_at', int64, (c) => c.notNull())
        .execute();

      // The event log is append-only and keyed by a time-ordered integer, so ingest writes land at the
      // right edge of every index. Per-identity lookups live in identity_events, which the pipeline
      // fills in larger batches; dedupe by messageId is backend-specific (see each backend).
      if (isPostgres) {
        await sql`
          create table events (
            id bigint generated always as identity primary key,
            xact_id xid8 not null default pg_current_xact_id(),
            workspace_id text not null,
            message_id text not null,
            type text not null,
            name text,
            user_id text,
            anonymous_id text,
            timestamp bigint not null,
            original_timestamp bigint,
            sent_at bigint,
            received_at bigint not null,
            payload jsonb not null
          )`.execute(db);
        await sql`create unique index events_message_id on events (workspace_id, message_id)`.execute(db);
        await sql`create index events_commit_order on events (xact_id, id)`.execute(db);
      } else {
        await sql`
          create table events (
            id integer primary key autoincrement,
            workspace_id text not null,
            message_id text not null,
            type text not null,
            name text,
            user_id text,
            anonymous_id text,
            timestamp integer not null,
            original_timestamp integer,
            sent_at integer,
            received_at integer not null,
            payload text not null
          )`.execute(db);
      }

      await db.schema
        .createTable('rejected_events')
        .addColumn('id', isPostgres ? 'bigserial' : 'integer', (c) =>
          isPostgres ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('received_at', int64, (c) => c.notNull())
        .addColumn('message_id', 'text')
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('field', 'text')
        .addColumn('payload', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('rejected_events_workspace')
        .on('rejected_events')
        .columns(['workspace_id', 'id'])
        .execute();

      await db.schema
        .createTable('profiles')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('traits', json, (c) => c.notNull())
        .addColumn('trait_times', json, (c) => c.notNull())
        .addColumn('first_seen_at', int64, (c) => c.notNull())
        .addColumn('last_seen_at', int64, (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .addColumn('merged_into', 'text')
        .execute();
      await db.schema
        .createIndex('profiles_workspace')
        .on('profiles')
        .columns(['workspace_id', 'id'])
        .execute();
      await db.schema
        .createIndex('profiles_last_seen')
        .on('profiles')
        .columns(['workspace_id', 'last_seen_at'])
        .execute();

      await db.schema
        .createTable('identities')
        .addColumn('id', isPostgres ? 'bigserial' : 'integer', (c) =>
          isPostgres ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .addUniqueConstraint('identities_key', ['workspace_id', 'value', 'kind'])
        .execute();
      await db.schema.createIndex('identities_profile').on('identities').columns(['profile_id']).execute();

      const identityEvents = db.schema
        .createTable('identity_events')
        .addColumn('identity_id', int64, (c) => c.notNull())
        .addColumn('timestamp', int64, (c) => c.notNull())
        .addColumn('event_id', int64, (c) => c.notNull())
        .addPrimaryKeyConstraint('identity_events_pk', ['identity_id', 'timestamp', 'event_id']);
      await (isPostgres ? identityEvents : identityEvents.modifyEnd(sql`without rowid`)).execute();

      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('group_id', 'text', (c) => c.notNull())
        .addColumn('traits', json, (c) => c.notNull())
        .addColumn('trait_times', json, (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .addUniqueConstraint('accounts_group', ['workspace_id', 'group_id'])
        .execute();

      await db.schema
        .createTable('account_members')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .addPrimaryKeyConstraint('account_members_pk', ['account_id', 'profile_id'])
        .execute();
      await db.schema
        .createIndex('account_members_profile')
        .on('account_members')
        .columns(['profile_id'])
        .execute();

      await db.schema
        .createTable('pipeline_cursors')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('position', 'text', (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .execute();
    },
  };
};
