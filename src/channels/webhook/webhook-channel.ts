import type { Message } from '../../core/journey.js';
import type { Profile } from '../../core/profile.js';
import { renderPlain } from '../../templates/liquid.js';
import type { Outcome } from '../dispatcher.js';

const TIMEOUT_MS = 10_000;

/**
 * Calls a journey's webhook step: the Liquid body rendered with the profile and the entry event, as
 * JSON. Any 2xx is success; other answers and network errors are retried with back-off by the dispatcher.
 */
export async function sendWebhook(message: Message, profile: Profile): Promise<Outcome> {
  const webhook = message.context.webhook;
  if (!webhook) return { status: 'failed', reason: 'the message has no webhook settings' };
  let body: string;
  try {
    body = renderPlain(webhook.body, {
      profile: { id: profile.id, userId: profile.userId, traits: profile.traits },
      event: message.context.event,
      journey: message.context.journey,
      message: { id: message.id },
    });
    JSON.parse(body);
  } catch (error) {
    return {
      status: 'failed',
      reason: `the body is not valid JSON once rendered: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const response = await fetch(webhook.url, {
    method: webhook.method,
    headers: {
      'content-type': 'application/json',
      'idempotency-key': message.idempotencyKey,
      'user-agent': 'Mops-Webhook/0.1',
    },
    body,
    signal: AbortSignal.timeout(TIMEOUT_MS),
    redirect: 'manual',
  });
  await response.body?.cancel();
  if (response.status >= 200 && response.status < 300) {
    return { status: 'sent', providerMessageId: null, toAddress: webhook.url, subject: null };
  }
  throw new Error(`HTTP ${response.status} from ${new URL(webhook.url).host}`);
}
