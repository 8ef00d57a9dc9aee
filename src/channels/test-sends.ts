import { AppError } from '../core/errors.js';
import type { Message } from '../core/journey.js';
import type { Storage } from '../storage/storage.js';
import type { Outcome } from './dispatcher.js';

/** Test sends a workspace may make in `TEST_SEND_WINDOW_MS`: a tester's handful, not a campaign. */
export const TEST_SENDS_PER_WINDOW = 30;
const TEST_SEND_WINDOW_MS = 10 * 60_000;

/**
 * Refuses a test send past the workspace's allowance: each is a real e-mail or a paid text to an
 * address of the sender's choosing, outside caps and suppression-free, so a leaked admin key must
 * not make the workspace's provider a free relay. Counted from the message log, so every process
 * serving the workspace counts the same ones.
 */
export async function assertTestSendAllowed(
  storage: Storage,
  workspaceId: string,
  now: number,
): Promise<void> {
  const recent = await storage.messages.countTestSendsSince(workspaceId, now - TEST_SEND_WINDOW_MS);
  if (recent >= TEST_SENDS_PER_WINDOW)
    throw new AppError(
      'rate_limited',
      `this workspace made ${TEST_SENDS_PER_WINDOW} test sends in the last 10 minutes: try again in a few minutes`,
    );
}

/**
 * A test send as it ended, to record: sent with the provider's id, or failed with why. A deferral
 * (quiet hours cannot hold a test, but a provider may ask for later) is a failure: it is not retried.
 */
export function settledTestSend(message: Message, outcome: Outcome, at: number, to: string): Message {
  if (outcome.status === 'sent')
    return {
      ...message,
      status: 'sent',
      sentAt: at,
      toAddress: outcome.toAddress ?? to,
      subject: outcome.subject,
      providerMessageId: outcome.providerMessageId,
      updatedAt: at,
    };
  return {
    ...message,
    status: outcome.status === 'deferred' ? 'failed' : outcome.status,
    reason: outcome.reason,
    toAddress: to,
    updatedAt: at,
  };
}
