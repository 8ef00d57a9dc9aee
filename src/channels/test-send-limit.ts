import { AppError } from '../core/errors.js';
import type { Storage } from '../storage/storage.js';

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
