import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { loadDemoShop } from '../../demo/demo-shop.js';
import { waitUntilCaughtUp } from '../../pipeline/pipeline.js';
import type { Storage } from '../../storage/storage.js';
import type { Authenticator } from '../auth.js';
import { LOG_CURSORS } from '../log-cursors.js';
import { ErrorResponse, WorkspaceParams } from '../schemas.js';

/** How long the history may take to go through every consumer before the journeys are published. */
const PIPELINE_TIMEOUT_MS = 10 * 60_000;

/** The demo workspace a newcomer loads from the console's first screen (`mops demo` does the same). */
export async function demoRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; clock: Clock; auth: Authenticator },
): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.post(
    '/api/workspaces/:workspaceId/demo',
    {
      schema: {
        tags: ['workspaces'],
        summary:
          'Load the demo shop: score models, lifecycle stages and live segments, contacts with a month of browsing, carts and orders, and two published journeys with their e-mails',
        params: WorkspaceParams,
        body: z
          .strictObject({ contacts: z.number().int().min(10).max(50_000).default(10_000) })
          .default({ contacts: 10_000 }),
        response: {
          200: z.object({
            contacts: z.number(),
            events: z.number(),
            templates: z.array(z.string()),
            journeys: z.array(z.string()),
            segments: z.array(z.string()),
          }),
          400: ErrorResponse,
          401: ErrorResponse,
          403: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
        },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await deps.auth.requireWorkspace(request, workspaceId, 'admin');
      return loadDemoShop(deps.storage, {
        workspaceId,
        clock: deps.clock,
        contacts: request.body.contacts,
        waitForPipeline: () =>
          waitUntilCaughtUp(deps.storage, LOG_CURSORS, { timeoutMs: PIPELINE_TIMEOUT_MS }),
      });
    },
  );
}
