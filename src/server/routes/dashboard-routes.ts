import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { reasonShownToMembers } from '../../channels/webhook/failure-reasons.js';
import type { Role } from '../../core/access.js';
import type { JourneyDefinition } from '../../core/journey-definition.js';
import { currentDefinition } from '../../journeys/journeys.js';
import { stepsInOrder } from '../../journeys/step-order.js';
import type { FailureReason, JourneyReport, Storage } from '../../storage/storage.js';
import { type Authenticator, hasRole } from '../auth.js';
import { ErrorResponse, WorkspaceParams } from '../schemas.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The longest range one call may count over: what bounds the rows a dashboard query reads. */
const MAX_RANGE_MS = 92 * DAY;

const BUCKET_MS = { minute: MINUTE, hour: HOUR, day: DAY } as const;
type BucketSize = keyof typeof BUCKET_MS;

/** Minutes up to 6 hours, hours up to 7 days, days beyond: never more than 360 points on a chart. */
function bucketFor(rangeMs: number): BucketSize {
  if (rangeMs <= 6 * HOUR) return 'minute';
  if (rangeMs <= 7 * DAY) return 'hour';
  return 'day';
}

const RangeFields = {
  from: z.iso.datetime({ offset: true }).describe('start of the range, inclusive (ISO 8601)'),
  to: z.iso.datetime({ offset: true }).describe('end of the range, exclusive (ISO 8601)'),
};

function checkRange(range: { from: string; to: string }, ctx: z.RefinementCtx): void {
  const span = Date.parse(range.to) - Date.parse(range.from);
  if (span <= 0) ctx.addIssue({ code: 'custom', message: 'must be after from', path: ['to'] });
  else if (span > MAX_RANGE_MS) {
    ctx.addIssue({ code: 'custom', message: 'must be at most 92 days after from', path: ['to'] });
  }
}

const RangeQuery = z.strictObject(RangeFields).superRefine(checkRange);
const MessagesQuery = z
  .strictObject({
    ...RangeFields,
    channel: z
      .enum(['email', 'sms', 'webhook'])
      .optional()
      .describe(
        'only this channel’s messages; all channels without it (opens are e-mail’s alone; clicks are e-mail’s and those of texts whose links are tracked)',
      ),
  })
  .superRefine(checkRange);

const RangeJson = {
  from: z.string(),
  to: z.string(),
  bucket: z.enum(['minute', 'hour', 'day']),
  bucketMs: z.number(),
};

const EventCounts = z.object({ received: z.number(), generated: z.number(), rejected: z.number() });
const EventSeriesJson = z
  .object({
    ...RangeJson,
    totals: EventCounts,
    buckets: z.array(EventCounts.extend({ start: z.string() })),
  })
  .meta({ id: 'DashboardEvents' });

const MessageCounts = z.object({
  sent: z.number(),
  opened: z.number(),
  clicked: z.number(),
  bounced: z.number(),
  failed: z
    .number()
    .describe(
      'given up on without a bounce (no channel set up, refused by the provider, retries run out), by when',
    ),
});
const MessageSeriesJson = z
  .object({
    ...RangeJson,
    totals: MessageCounts,
    buckets: z.array(MessageCounts.extend({ start: z.string() })),
  })
  .meta({ id: 'DashboardMessages' });

const FailureReasonsJson = z
  .object({
    items: z.array(
      z.object({
        channel: z.enum(['email', 'sms', 'webhook']),
        reason: z
          .string()
          .nullable()
          .describe(
            "the last error the message kept; null when none was. Members (not admins) read a webhook call's as the dead letters show it them: without the receiver's host or the text it answered",
          ),
        count: z.number(),
      }),
    ),
  })
  .meta({ id: 'DashboardFailureReasons' });

/** The commonest reasons shown: enough to see what to fix first (no SMTP server, a CRM down, …). */
const FAILURE_REASONS_SHOWN = 5;
/**
 * Reasons read for a member, whose webhook reasons are told more shortly: several a member reads
 * alike (`HTTP 503 from the receiver`) are counted together before the commonest are chosen.
 */
const FAILURE_REASONS_READ_FOR_MEMBERS = 200;

const FunnelStepJson = z.object({
  id: z.string(),
  type: z.string().nullable().describe('null for a step only earlier versions had'),
  entered: z.number(),
  completed: z.number(),
});
const JourneyStatsJson = z
  .object({
    id: z.string(),
    name: z.string(),
    status: z.string(),
    entered: z.number(),
    active: z.number(),
    converted: z.number(),
    heldOut: z.number().describe('entered, and held out by a split: kept from the journey on purpose'),
    hasGoal: z.boolean().describe('whether the version running has a goal: without one, nobody converts'),
    conversionRate: z
      .number()
      .nullable()
      .describe(
        'converted / (entered − heldOut): of those the journey worked on; null before anyone did, and without a goal',
      ),
    steps: z.array(FunnelStepJson).describe('in the order of the journey, from its first step'),
  })
  .meta({ id: 'DashboardJourney' });

const LifecycleFunnelJson = z
  .object({
    from: z.string(),
    to: z.string(),
    stages: z
      .array(
        z.object({
          stage: z.string(),
          now: z.number().describe('contacts at the stage now'),
          reached: z
            .number()
            .describe(
              'contacts who moved forward into the stage in [from, to) — from an earlier stage or none; not those sent back to it',
            ),
        }),
      )
      .describe('the workspace’s lifecycle stages in their order; none when it has no lifecycle'),
  })
  .meta({ id: 'DashboardLifecycle' });

/** The dashboard's figures: events and messages over a time range, journey funnels and conversion. */
export async function dashboardRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; auth: Authenticator },
): Promise<void> {
  const { storage, auth } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/workspaces/:workspaceId/dashboard/events',
    {
      schema: {
        tags: ['dashboard'],
        summary: 'Events received per minute, hour or day in [from, to); Mops’s own and rejected ones apart',
        description: 'The bucket follows the range: minutes up to 6 hours, hours up to 7 days, days beyond.',
        params: WorkspaceParams,
        querystring: RangeQuery,
        response: { 200: EventSeriesJson, ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const range = bucketedRange(request.params.workspaceId, request.query);
      const rows = await storage.dashboard.eventCounts(range.query);
      const buckets = denseBuckets(range, rows, { received: 0, generated: 0, rejected: 0 });
      return { ...range.json, totals: sum(buckets, ['received', 'generated', 'rejected']), buckets };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/dashboard/lifecycle',
    {
      schema: {
        tags: ['dashboard'],
        summary: 'The lifecycle funnel: contacts at each stage now, and who reached each stage in [from, to)',
        params: WorkspaceParams,
        querystring: RangeQuery,
        response: { 200: LifecycleFunnelJson, ...errors },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      const stages = (await storage.settings.get(workspaceId)).lifecycle?.stages ?? [];
      const counts = await storage.dashboard.lifecycleCounts({
        workspaceId,
        stages,
        from: Date.parse(request.query.from),
        to: Date.parse(request.query.to),
      });
      return {
        from: new Date(request.query.from).toISOString(),
        to: new Date(request.query.to).toISOString(),
        stages: stages.map((stage) => ({
          stage,
          now: counts.now.get(stage) ?? 0,
          reached: counts.reached.get(stage) ?? 0,
        })),
      };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/dashboard/messages',
    {
      schema: {
        tags: ['dashboard'],
        summary:
          'Messages sent, first opened, first clicked, bounced and failed per minute, hour or day in [from, to)',
        params: WorkspaceParams,
        querystring: MessagesQuery,
        response: { 200: MessageSeriesJson, ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const range = bucketedRange(request.params.workspaceId, request.query);
      const { channel } = request.query;
      const rows = await storage.dashboard.messageCounts({ ...range.query, ...(channel ? { channel } : {}) });
      const buckets = denseBuckets(range, rows, { sent: 0, opened: 0, clicked: 0, bounced: 0, failed: 0 });
      return {
        ...range.json,
        totals: sum(buckets, ['sent', 'opened', 'clicked', 'bounced', 'failed']),
        buckets,
      };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/dashboard/message-failures',
    {
      schema: {
        tags: ['dashboard'],
        summary: 'Why messages failed in [from, to): the five commonest reasons, with how many each',
        description:
          'The messages the `failed` count of `…/dashboard/messages` counts (given up on without a bounce), grouped by channel and last error.',
        params: WorkspaceParams,
        querystring: MessagesQuery,
        response: { 200: FailureReasonsJson, ...errors },
      },
    },
    async (request) => {
      const caller = await auth.requireWorkspace(request, request.params.workspaceId);
      const { from, to } = bucketedRange(request.params.workspaceId, request.query).query;
      const { channel } = request.query;
      const items = await reasonsAsRead(caller.role, (limit) =>
        storage.dashboard.failureReasons({
          workspaceId: request.params.workspaceId,
          from,
          to,
          limit,
          ...(channel ? { channel } : {}),
        }),
      );
      return { items };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/dashboard/waiting-messages',
    {
      schema: {
        tags: ['dashboard'],
        summary: 'Why messages are waiting to go out now: the five commonest reasons, with how many each',
        description:
          'Messages not sent yet, whenever queued: `queued` (reason null: about to go, re-driven from the dead letters, or a lead’s hand-off call waiting behind an earlier one of the lead’s still being sent or retried), or `deferred` — being retried after a failed attempt (`retrying: …`), or held back by quiet hours, a frequency cap or a paused journey. None of them is in `…/dashboard/messages` until sent or given up on.',
        params: WorkspaceParams,
        querystring: z.strictObject({ channel: MessagesQuery.shape.channel }),
        response: { 200: FailureReasonsJson, ...errors },
      },
    },
    async (request) => {
      const caller = await auth.requireWorkspace(request, request.params.workspaceId);
      const { channel } = request.query;
      const items = await reasonsAsRead(caller.role, (limit) =>
        storage.dashboard.waitingReasons({
          workspaceId: request.params.workspaceId,
          limit,
          ...(channel ? { channel } : {}),
        }),
      );
      return { items };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/dashboard/journeys',
    {
      schema: {
        tags: ['dashboard'],
        summary: 'Each journey’s conversion and its funnel: how many entered and completed each step',
        description:
          'Counts since each journey began, from its report; steps in the order of its current version.',
        params: WorkspaceParams,
        response: { 200: z.object({ items: z.array(JourneyStatsJson) }), ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const journeys = await storage.journeys.list(request.params.workspaceId);
      const items = await Promise.all(
        journeys.map(async (journey) => {
          const [report, definition] = await Promise.all([
            storage.journeys.report(journey.id),
            currentDefinition(storage, journey),
          ]);
          return {
            id: journey.id,
            name: journey.name,
            status: journey.status,
            entered: report.entered,
            active: report.active,
            converted: report.converted,
            heldOut: report.heldOut,
            hasGoal: definition.goal !== undefined,
            // Held out, a contact is kept from the journey on purpose: counted, they would dilute
            // its conversion with people it never worked on (the split's results compare them).
            // Without a goal, nobody can convert: no rate at all, rather than 0 %.
            conversionRate:
              definition.goal === undefined || report.entered - report.heldOut === 0
                ? null
                : report.converted / (report.entered - report.heldOut),
            steps: funnelSteps(definition, report),
          };
        }),
      );
      return { items };
    },
  );
}

interface BucketedRange {
  query: { workspaceId: string; from: number; to: number; bucketMs: number };
  json: { from: string; to: string; bucket: BucketSize; bucketMs: number };
}

function bucketedRange(workspaceId: string, range: { from: string; to: string }): BucketedRange {
  const from = Date.parse(range.from);
  const to = Date.parse(range.to);
  const bucket = bucketFor(to - from);
  const bucketMs = BUCKET_MS[bucket];
  return {
    query: { workspaceId, from, to, bucketMs },
    json: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), bucket, bucketMs },
  };
}

/** Every bucket of the range, zeros where nothing happened, so charts show the quiet stretches. */
function denseBuckets<T extends object>(
  range: BucketedRange,
  rows: Array<T & { bucket: number }>,
  zero: T,
): Array<T & { start: string }> {
  const { from, to, bucketMs } = range.query;
  const byBucket = new Map(rows.map(({ bucket, ...counts }) => [bucket, counts]));
  const count = Math.ceil((to - from) / bucketMs);
  return Array.from({ length: count }, (_, index) => ({
    ...zero,
    ...byBucket.get(index),
    start: new Date(from + index * bucketMs).toISOString(),
  }));
}

function sum<K extends string>(buckets: Array<Record<K, number>>, keys: K[]): Record<K, number> {
  const totals = Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
  for (const bucket of buckets) for (const key of keys) totals[key] += bucket[key];
  return totals;
}

/**
 * Failure reasons as a member reads them: a webhook call's without the receiver's host or answer (some
 * receivers carry their token in the host name, many echo credentials), those alike then counted
 * together, the commonest first.
 */
/** The commonest reasons, as the caller's role may read them. */
async function reasonsAsRead(
  role: Role,
  read: (limit: number) => Promise<FailureReason[]>,
): Promise<FailureReason[]> {
  if (hasRole(role, 'admin')) return read(FAILURE_REASONS_SHOWN);
  return asMembersRead(await read(FAILURE_REASONS_READ_FOR_MEMBERS)).slice(0, FAILURE_REASONS_SHOWN);
}

function asMembersRead(reasons: readonly FailureReason[]): FailureReason[] {
  const merged = new Map<string, FailureReason>();
  for (const item of reasons) {
    const reason = item.channel === 'webhook' ? reasonShownToMembers(item.reason) : item.reason;
    const key = JSON.stringify([item.channel, reason]);
    const counted = merged.get(key);
    if (counted) counted.count += item.count;
    else merged.set(key, { ...item, reason });
  }
  return [...merged.values()].sort((a, b) => b.count - a.count);
}

/**
 * The version new entries use, or the draft of a journey never published; a draft still unfinished
 * has no order of steps yet (nobody has entered it either).
 */
/** Steps in the order contacts go through them (see `stepsInOrder`), then any only earlier versions had. */
function funnelSteps(definition: Pick<JourneyDefinition, 'start' | 'steps'>, report: JourneyReport) {
  const byId = new Map(definition.steps.map((step) => [step.id, step]));
  const order = stepsInOrder(definition);
  const reached = new Set(order);
  for (const id of Object.keys(report.steps)) if (!reached.has(id)) order.push(id);
  return order.map((id) => ({
    id,
    type: byId.get(id)?.type ?? null,
    entered: report.steps[id]?.entered ?? 0,
    completed: report.steps[id]?.completed ?? 0,
  }));
}
