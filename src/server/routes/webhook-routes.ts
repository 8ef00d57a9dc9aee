import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import type { Storage } from '../../storage/storage.js';
import type { Authenticator } from '../auth.js';
import { ErrorResponse, PageQuery, pageOf, WorkspaceParams } from '../schemas.js';
import { MessageJson, messageJson } from './messaging-routes.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };

/** Webhook calls that used up their attempts or were refused: the dead-letter list, and re-driving it. */
export async function webhookRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; clock: Clock; auth: Authenticator; onMessagesQueued?: () => void },
): Promise<void> {
  const { storage, clock, auth } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/workspaces/:workspaceId/webhooks/dead-letters',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Webhook calls that failed for good, newest first, each with its last error as `reason`',
        params: WorkspaceParams,
        querystring: PageQuery,
        response: { 200: pageOf(MessageJson), ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const page = await storage.messages.list(
        request.params.workspaceId,
        { channel: 'webhook', status: 'failed' },
        { limit: request.query.limit, cursor: request.query.cursor },
      );
      return { items: page.items.map(messageJson), nextCursor: page.nextCursor };
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/webhooks/dead-letters/redrive',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Call dead-lettered webhooks again, now, with a fresh set of attempts',
        description:
          'Without `ids`, every dead letter of the workspace. Each call keeps its Idempotency-Key, so a receiver that did get an earlier attempt can tell.',
        params: WorkspaceParams,
        // No body at all is fine too (Fastify gives null for none).
        body: z
          .strictObject({ ids: z.array(z.string().min(1).max(100)).min(1).max(1000).optional() })
          .nullish(),
        response: {
          200: z.object({
            requeued: z.array(z.string()),
            notDeadLettered: z.array(z.string()).meta({
              description: 'The ids asked for that are no dead-lettered webhook call of the workspace',
            }),
            ofArchivedJourneys: z.array(z.string()).meta({
              description:
                'Dead letters left as they are because their journey is archived: nothing of an archived journey is sent',
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
        channel: 'webhook',
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
