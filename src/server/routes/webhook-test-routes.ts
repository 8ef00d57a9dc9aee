import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { withinServerLimits } from '../../channels/dispatcher.js';
import type { SecretBox } from '../../channels/email/secret-box.js';
import { testDestination } from '../../channels/webhook/webhook-channel.js';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { Storage } from '../../storage/storage.js';
import type { Authenticator } from '../auth.js';
import { ErrorResponse, WorkspaceParams } from '../schemas.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };

/** A test call to a webhook destination: set one up, press "Send a test", see what the receiver said. */
export async function webhookTestRoutes(
  app: FastifyInstance,
  deps: {
    storage: Storage;
    clock: Clock;
    auth: Authenticator;
    secrets: SecretBox;
    /** Whether the server's operator lets workspaces reach private networks at all. */
    allowPrivateNetworks: boolean;
  },
): Promise<void> {
  const { storage, clock, auth, secrets } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    '/api/workspaces/:workspaceId/webhooks/destinations/:destinationId/test',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Call a webhook destination once with a test body, and tell what it answered',
        description:
          'A `POST` of `{"type": "mops.test", "id", "destination", "sent_at"}` to the destination as saved: its URL, headers and signature (the `id` is also the `Idempotency-Key`), under the workspace’s timeout and private-network rule. Made once, without retries, and recorded nowhere: no message, no dead letter. `delivered` on a 2xx answer; otherwise `reason` says why, as the dead letters would.',
        params: WorkspaceParams.extend({ destinationId: z.string().min(1).max(64) }),
        body: z.null().optional(),
        response: {
          200: z
            .object({
              delivered: z.boolean(),
              status: z.number().nullable().describe('the HTTP status answered; null when none was'),
              reason: z.string().nullable(),
              address: z.string().describe('where the call went: the origin and path, without the query'),
              ms: z.number().describe('how long the call took, in milliseconds'),
            })
            .meta({ id: 'WebhookTest' }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId, destinationId } = request.params;
      await auth.requireWorkspace(request, workspaceId, 'admin');
      // A workspace that saved the switch while the operator allowed it keeps it stored: not obeyed now.
      const { webhooks } = withinServerLimits(await storage.settings.get(workspaceId), deps);
      const destination = webhooks.destinations.find((candidate) => candidate.id === destinationId);
      if (!destination) throw new AppError('not_found', `no webhook destination is called ${destinationId}`);
      const now = clock.now();
      const { isDelivered, ...outcome } = await testDestination({
        destination,
        settings: webhooks,
        secrets,
        callId: newId('wht', now),
        now,
      });
      return { delivered: isDelivered, ...outcome };
    },
  );
}
