import { newId } from '../core/ids.js';
import type { PipelineBatch, Storage } from '../storage/storage.js';

const NOTHING: PipelineBatch<void> = { prepare: async () => async () => undefined };

/**
 * Resolves once every event appended so far can be read by the pipeline, as a consumer reading from
 * the start of the log shows. On PostgreSQL a batch reads events only once every older transaction on
 * the server has ended, and another test file's may be open: a test that runs one batch by hand and
 * expects it to find the events waits for this first (`drain` waits by itself).
 */
export async function untilEventsReadable(
  storage: Pick<Storage, 'runPipelineBatch' | 'pipelineLag'>,
  timeoutMs = 30_000,
): Promise<void> {
  const probe = `readable-${newId('probe')}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outcome = await storage.runPipelineBatch(probe, 1_000_000, NOTHING, 0);
    if (outcome.status === 'idle' && (await storage.pipelineLag(probe)) === 0) return;
    if (Date.now() > deadline) throw new Error(`appended events were not readable after ${timeoutMs} ms`);
    if (outcome.status === 'idle') await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
