import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import type { Message } from '../../core/journey.js';
import type { Storage } from '../../storage/storage.js';
import type { Authenticator } from '../auth.js';
import { ErrorResponse, PageQuery, pageOf, WorkspaceParams } from '../schemas.js';
import { MessageJson, messageJson } from './messaging-routes.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };

/** The channels whose messages that failed for good can be listed and sent again, and what they are called. */
const DEAD_LETTERS: Array<{
  channel: Message['channel'];
  path: string;
  tag: string;
  what: string;
  kept: string;
  /** Calls go to one of several destinations: the list and the re-drive take one of them. */
  byDestination: boolean;
}> = [
  {
    channel: 'webhook',
    path: 'webhooks/dead-letters',
    tag: 'webhooks',
    what: 'webhook calls',
    kept: 'Each call keeps its Idempotency-Key, so a receiver that did get an earlier attempt can tell.',
    byDestination: true,
  },
  {
    channel: 'sms',
    path: 'sms/failed',
    tag: 'sms',
    what: 'texts',
    kept: 'A text the provider did take at an earlier attempt is found in its message list and not sent twice.',
    byDestination: false,
  },
];

const DestinationId = z
  .string()
  .regex(/^[a-z0-9_-]{1,64}$/, 'must be a destination id: 1–64 lowercase letters, digits, - or _')
  .meta({
    description:
      'Calls to this destination only (its `id` in the settings; one removed since still has its failed calls)',
  });
const RedriveIds = z.array(z.string().min(1).max(100)).min(1).max(1000);

/**
 * Webhook calls and texts that used up their attempts or were refused: the dead-letter lists, and
 * re-driving them once what failed (a receiver, an auth token) is mended.
 */
export async function deadLetterRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; clock: Clock; auth: Authenticator; onMessagesQueued?: () => void },
): Promise<void> {
  const { storage, clock, auth } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();

  for (const { channel, path, tag, what, kept, byDestination } of DEAD_LETTERS) {
    const query = byDestination ? PageQuery.extend({ destination: DestinationId.optional() }) : PageQuery;
    // No body at all is fine too (Fastify gives null for none).
    const redriveBody = (
      byDestination
        ? z
            .strictObject({ ids: RedriveIds.optional(), destination: DestinationId.optional() })
            .refine((body) => body.ids === undefined || body.destination === undefined, {
              message: 'give ids or a destination, not both',
              path: ['destination'],
            })
        : z.strictObject({ ids: RedriveIds.optional() })
    ).nullish();
    api.get(
      `/api/workspaces/:workspaceId/${path}`,
      {
        schema: {
          tags: [tag],
          summary: `${what[0]?.toUpperCase()}${what.slice(1)} that failed for good, newest first, each with its last error as \`reason\``,
          params: WorkspaceParams,
          querystring: query,
          response: { 200: pageOf(MessageJson), ...errors },
        },
      },
      async (request) => {
        const viewer = await auth.requireWorkspace(request, request.params.workspaceId);
        const destination = destinationAsked(request.query);
        const page = await storage.messages.list(
          request.params.workspaceId,
          {
            channel,
            status: 'failed',
            excludingTestSends: true,
            ...(destination === undefined ? {} : { webhookDestination: destination }),
          },
          { limit: request.query.limit, cursor: request.query.cursor },
        );
        return {
          items: page.items.map((message) => messageJson(message, viewer)),
          nextCursor: page.nextCursor,
        };
      },
    );

    api.post(
      `/api/workspaces/:workspaceId/${path}/redrive`,
      {
        schema: {
          tags: [tag],
          summary: `Send failed ${what} again, now, with a fresh set of attempts`,
          description: `Without \`ids\`, every one of the workspace${byDestination ? ' (of `destination`, when given)' : ''}. ${kept}`,
          params: WorkspaceParams,
          body: redriveBody,
          response: {
            200: z.object({
              requeued: z.array(z.string()),
              notDeadLettered: z.array(z.string()).meta({
                description: `The ids asked for that are none of the workspace's failed ${what}`,
              }),
              ofArchivedJourneys: z.array(z.string()).meta({
                description:
                  'Failed ones left as they are because their journey is archived: nothing of an archived journey is sent',
              }),
            }),
            ...errors,
          },
        },
      },
      async (request) => {
        await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
        const ids = request.body?.ids;
        const destination = destinationAsked(request.body);
        const { requeued, ofArchivedJourneys } = await storage.messages.requeueFailed({
          workspaceId: request.params.workspaceId,
          channel,
          ...(ids ? { ids } : {}),
          ...(destination === undefined ? {} : { webhookDestination: destination }),
          now: clock.now(),
        });
        if (requeued.length > 0) deps.onMessagesQueued?.();
        const found = new Set([...requeued, ...ofArchivedJourneys]);
        return {
          requeued,
          notDeadLettered: [...new Set(ids ?? [])].filter((id) => !found.has(id)),
          ofArchivedJourneys,
        };
      },
    );
  }
}

/** The destination a webhook list or re-drive asks for (its schema has checked it), if any. */
function destinationAsked(input: unknown): string | undefined {
  const value = (input as { destination?: unknown } | null | undefined)?.destination;
  return typeof value === 'string' ? value : undefined;
}
