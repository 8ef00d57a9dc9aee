import { type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import type { Message } from '../core/journey.js';
import { TEST_TOPIC } from '../core/workspace-settings.js';
import { idRange } from './received-order.js';
import type { Database } from './schema.js';
import type {
  BucketQuery,
  DashboardStore,
  EventBucketCounts,
  FailureReason,
  MessageBucketCounts,
} from './storage.js';
import { notATestSend } from './test-sends.js';

/**
 * Counts for the dashboard, per bucket of `bucketMs` starting at `from`. The event log has no index on
 * `received_at` (one would slow ingest down), but ids follow receipt nearly in order: a binary search
 * of primary-key lookups finds the ids that bound the time range, and the count reads only those.
 */
export function createDashboardStore(db: Kysely<Database>): DashboardStore {
  return {
    async lifecycleCounts(query) {
      const { workspaceId, stages } = query;
      const now = await db
        .selectFrom('profile_stages')
        .select(['stage', (eb) => eb.fn.countAll<number | string>().as('n')])
        .where('workspace_id', '=', workspaceId)
        .groupBy('stage')
        .execute();
      // A stage's place in the configured order; -1 for none (a first stage) or one since removed.
      const rank = (column: 'from_stage' | 'to_stage') =>
        stages.length === 0
          ? sql<number>`-1`
          : sql<number>`case ${sql.ref(column)} ${sql.join(
              stages.map((stage, index) => sql`when ${stage} then ${sql.lit(index)}`),
              sql` `,
            )} else -1 end`;
      const reached = await db
        .selectFrom('stage_history')
        .select(['to_stage', (eb) => eb.fn.count<number | string>('profile_id').distinct().as('n')])
        .where('workspace_id', '=', workspaceId)
        .where('at', '>=', query.from)
        .where('at', '<', query.to)
        .where(({ eb }) => eb(rank('to_stage'), '>', rank('from_stage')))
        .groupBy('to_stage')
        .execute();
      return {
        now: new Map(now.map((row) => [row.stage, Number(row.n)])),
        reached: new Map(reached.map((row) => [row.to_stage, Number(row.n)])),
      };
    },
    async eventCounts(query) {
      const counts = new Map<number, EventBucketCounts>();
      const entry = (bucket: number) => {
        let found = counts.get(bucket);
        if (!found) {
          found = { bucket, received: 0, generated: 0, rejected: 0 };
          counts.set(bucket, found);
        }
        return found;
      };
      const events = await idRange(db, 'events', query);
      if (events) {
        const result = await sql<{
          bucket: number | string;
          is_generated: number | boolean;
          n: number | string;
        }>`
          select ${bucketOf('received_at', query)} as bucket,
                 (case when origin = 'mops' then 1 else 0 end) as is_generated,
                 count(*) as n
          from events
          where id >= ${events.first} and id < ${events.end}
            and workspace_id = ${query.workspaceId}
            and received_at >= ${query.from} and received_at < ${query.to}
          group by 1, 2`.execute(db);
        for (const row of result.rows) {
          const counted = entry(Number(row.bucket));
          if (Number(row.is_generated) === 1) counted.generated += Number(row.n);
          else counted.received += Number(row.n);
        }
      }
      const rejected = await idRange(db, 'rejected_events', query);
      if (rejected) {
        // rejected_events_workspace (workspace_id, id) serves this range directly.
        const result = await sql<{ bucket: number | string; n: number | string }>`
          select ${bucketOf('received_at', query)} as bucket, count(*) as n
          from rejected_events
          where workspace_id = ${query.workspaceId}
            and id >= ${rejected.first} and id < ${rejected.end}
            and received_at >= ${query.from} and received_at < ${query.to}
          group by 1`.execute(db);
        for (const row of result.rows) entry(Number(row.bucket)).rejected += Number(row.n);
      }
      return [...counts.values()].sort((a, b) => a.bucket - b.bucket);
    },

    async messageCounts(query) {
      // Each outcome has its own time column; a message opened in the range may have been sent long
      // before it, so each is counted on its own. messages_profile's leading workspace_id narrows the scan.
      // Test sends reached testers, not contacts: they are not the workspace's messaging.
      const outcome = (
        name: string,
        column: 'sent_at' | 'opened_at' | 'clicked_at' | 'bounced_at' | 'updated_at',
        only = sql``,
      ) => sql`
        select ${sql.lit(name)} as outcome, ${bucketOf(column, query)} as bucket, count(*) as n
        from messages
        where workspace_id = ${query.workspaceId}
          and ${sql.ref(column)} >= ${query.from} and ${sql.ref(column)} < ${query.to}
          ${query.channel ? sql`and channel = ${query.channel}` : sql``}
          and (topic is null or topic <> ${TEST_TOPIC})
          ${only}
        group by 2`;
      const result = await sql<{
        outcome: 'sent' | 'opened' | 'clicked' | 'bounced' | 'failed';
        bucket: number | string;
        n: number | string;
      }>`
        ${outcome('sent', 'sent_at')}
        union all ${outcome('opened', 'opened_at')}
        union all ${outcome('clicked', 'clicked_at')}
        union all ${outcome('bounced', 'bounced_at')}
        union all ${outcome('failed', 'updated_at', sql`and status = 'failed' and bounced_at is null`)}`.execute(
        db,
      );
      const counts = new Map<number, MessageBucketCounts>();
      for (const row of result.rows) {
        const bucket = Number(row.bucket);
        let counted = counts.get(bucket);
        if (!counted) {
          counted = { bucket, sent: 0, opened: 0, clicked: 0, bounced: 0, failed: 0 };
          counts.set(bucket, counted);
        }
        counted[row.outcome] += Number(row.n);
      }
      return [...counts.values()].sort((a, b) => a.bucket - b.bucket);
    },

    failureReasons(query) {
      return commonestReasons(
        db
          .selectFrom('messages')
          .where('workspace_id', '=', query.workspaceId)
          .where('status', '=', 'failed')
          .where('bounced_at', 'is', null)
          .where(notATestSend)
          .where('updated_at', '>=', query.from)
          .where('updated_at', '<', query.to),
        query,
      );
    },

    waitingReasons(query) {
      return commonestReasons(
        db
          .selectFrom('messages')
          .where('status', 'in', ['queued', 'deferred'])
          .where('workspace_id', '=', query.workspaceId),
        query,
      );
    },
  };
}

/** Messages grouped by channel and reason, the commonest first. */
async function commonestReasons(
  messages: SelectQueryBuilder<Database, 'messages', object>,
  query: { channel?: Message['channel']; limit: number },
): Promise<FailureReason[]> {
  const rows = await messages
    .select(['channel', 'reason', (eb) => eb.fn.countAll<number | string>().as('n')])
    .$if(query.channel !== undefined, (select) => select.where('channel', '=', query.channel as string))
    .groupBy(['channel', 'reason'])
    .orderBy('n', 'desc')
    .orderBy('channel')
    // Ties broken alike on both backends: SQLite sorts nulls first, PostgreSQL last.
    .orderBy(sql`reason is null`)
    .orderBy('reason')
    .limit(query.limit)
    .execute();
  return rows.map((row) => ({
    channel: row.channel as Message['channel'],
    reason: row.reason,
    count: Number(row.n),
  }));
}

/**
 * The bucket index of a time column: integer division of ms timestamps, the same on both backends once
 * the parameters are integers (better-sqlite3 binds every JS number as REAL).
 */
function bucketOf(column: string, query: BucketQuery) {
  return sql`((${sql.ref(column)} - cast(${query.from} as bigint)) / cast(${query.bucketMs} as bigint))`;
}
