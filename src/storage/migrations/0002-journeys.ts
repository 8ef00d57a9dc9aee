import { columnTypes, type DialectMigration, type MigrationDb } from './migrations.js';

/** Journeys, their instances and timers, e-mail templates, the message log (also the send outbox), consent. */
export const journeysSchema: DialectMigration = (dialect) => {
  const { json, int64, serialTable: serial } = columnTypes(dialect);

  return {
    async up(db: MigrationDb) {
      await db.schema
        .createTable('workspace_settings')
        .addColumn('workspace_id', 'text', (c) =>
          c.primaryKey().references('workspaces.id').onDelete('cascade'),
        )
        .addColumn('settings', json, (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('templates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('preheader', 'text')
        .addColumn('mjml', 'text', (c) => c.notNull())
        .addColumn('text', 'text')
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('templates_workspace')
        .on('templates')
        .columns(['workspace_id', 'id'])
        .execute();

      await db.schema
        .createTable('journeys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('draft', json, (c) => c.notNull())
        .addColumn('current_version', 'integer')
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('journeys_workspace')
        .on('journeys')
        .columns(['workspace_id', 'status'])
        .execute();

      await db.schema
        .createTable('journey_versions')
        .addColumn('journey_id', 'text', (c) => c.notNull().references('journeys.id').onDelete('cascade'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('definition', json, (c) => c.notNull())
        .addColumn('published_at', int64, (c) => c.notNull())
        .addPrimaryKeyConstraint('journey_versions_pk', ['journey_id', 'version'])
        .execute();

      await db.schema
        .createTable('journey_instances')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('journey_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('step_id', 'text')
        .addColumn('entry_event', json, (c) => c.notNull())
        .addColumn('state', json, (c) => c.notNull())
        .addColumn('entered_at', int64, (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .addColumn('ended_at', int64)
        .addColumn('end_reason', 'text')
        .execute();
      await db.schema
        .createIndex('journey_instances_profile')
        .on('journey_instances')
        .columns(['journey_id', 'profile_id', 'entered_at'])
        .execute();
      await db.schema
        .createIndex('journey_instances_active')
        .on('journey_instances')
        .columns(['workspace_id', 'profile_id', 'status'])
        .execute();
      await db.schema
        .createIndex('journey_instances_step')
        .on('journey_instances')
        .columns(['journey_id', 'status', 'step_id'])
        .execute();

      await serial(db, 'journey_transitions')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('journey_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('instance_id', 'text', (c) => c.notNull())
        .addColumn('step_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('at', int64, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('journey_transitions_report')
        .on('journey_transitions')
        .columns(['journey_id', 'step_id', 'kind'])
        .execute();

      // A timer belongs to an instance and a token naming what it waits for (e.g. `wait:reminder`);
      // firing checks the token against the instance, so a stale timer does nothing.
      await serial(db, 'journey_timers')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('instance_id', 'text', (c) => c.notNull())
        .addColumn('token', 'text', (c) => c.notNull())
        .addColumn('due_at', int64, (c) => c.notNull())
        .addUniqueConstraint('journey_timers_instance', ['instance_id', 'token'])
        .execute();
      await db.schema.createIndex('journey_timers_due').on('journey_timers').columns(['due_at']).execute();

      // The message log is also the send outbox: a row is written `queued` in the same transaction as
      // the journey step that asks for it, and the dispatcher sends what is queued and due.
      await db.schema
        .createTable('messages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('journey_id', 'text')
        .addColumn('instance_id', 'text')
        .addColumn('step_id', 'text')
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('template_id', 'text')
        .addColumn('topic', 'text')
        .addColumn('when_not_allowed', 'text', (c) => c.notNull())
        .addColumn('to_address', 'text')
        .addColumn('subject', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', int64)
        .addColumn('claimed_until', int64)
        .addColumn('claimed_by', 'text')
        .addColumn('context', json, (c) => c.notNull())
        .addColumn('provider_message_id', 'text')
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .addColumn('sent_at', int64)
        .addColumn('opened_at', int64)
        .addColumn('clicked_at', int64)
        .addColumn('unsubscribed_at', int64)
        .addColumn('bounced_at', int64)
        .addColumn('complained_at', int64)
        .execute();
      await db.schema
        .createIndex('messages_due')
        .on('messages')
        .columns(['status', 'next_attempt_at'])
        .execute();
      await db.schema
        .createIndex('messages_profile')
        .on('messages')
        .columns(['workspace_id', 'profile_id', 'channel', 'sent_at'])
        .execute();
      await db.schema
        .createIndex('messages_journey')
        .on('messages')
        .columns(['journey_id', 'step_id'])
        .execute();
      await db.schema
        .createIndex('messages_instance')
        .on('messages')
        .columns(['instance_id', 'step_id'])
        .execute();

      // What identify calls changed, per event: journeys enter on it (and segments will react to it).
      await serial(db, 'trait_changes')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('event_id', int64)
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('trait', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('previous', 'text', (c) => c.notNull())
        .addColumn('at', int64, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('trait_changes_event').on('trait_changes').columns(['event_id']).execute();

      await db.schema
        .createTable('suppressions')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .addPrimaryKeyConstraint('suppressions_pk', ['workspace_id', 'channel', 'address'])
        .execute();

      await db.schema
        .createTable('subscriptions')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('is_subscribed', 'integer', (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .addPrimaryKeyConstraint('subscriptions_pk', ['workspace_id', 'profile_id', 'topic'])
        .execute();
    },
  };
};
