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
}> = [
  {
    channel: 'webhook',
    path: 'webhooks/dead-letters',
    tag: 'webhooks',
    what: 'webhook calls',
    kept: 'Each call keeps its Idempotency-Key, so a receiver that did get an earlier attempt can tell.',
  },
  {
    channel: 'sms',
    path: 'sms/failed',
    tag: 'sms',
    what: 'texts',
    kept: 'A text the provider did take at an earlier attempt is found in its message list and not sent twice.',
  },
];

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

  for (const { channel, path, tag, what, kept } of DEAD_LETTERS) {
    api.get(
      `/api/workspaces/:workspaceId/${path}`,
      {
        schema: {
          tags: [tag],
          summary: `${what[0]?.toUpperCase()}${what.slice(1)} that failed for good, newest first, each with its last error as \`reason\``,
          params: WorkspaceParams,
          querystring: PageQuery,
          response: { 200: pageOf(MessageJson), ...errors },
        },
      },
      async (request) => {
        const viewer = await auth.requireWorkspace(request, request.params.workspaceId);
        const page = await storage.messages.list(
          request.params.workspaceId,
          { channel, status: 'failed', excludingTestSends: true },
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
          description: `Without \`ids\`, every one of the workspace. ${kept}`,
          params: WorkspaceParams,
          // No body at all is fine too (Fastify gives null for none).
          body: z
            .strictObject({ ids: z.array(z.string().min(1).max(100)).min(1).max(1000).optional() })
            .nullish(),
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
        const { requeued, ofArchivedJourneys } = await storage.messages.requeueFailed({
          workspaceId: request.params.workspaceId,
          channel,
          ...(ids ? { ids } : {}),
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
