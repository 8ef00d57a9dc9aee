import type { PipelineOutcome } from '../storage/storage.js';

/**
 * Runs one batch of a consumer by hand, again while it finds nothing it may read yet. On PostgreSQL,
 * events just committed wait behind any transaction still open elsewhere on the server (another test
 * suite's, running beside this one) before a consumer may read them, as `EventPipeline.drain` allows for.
 */
export async function onceReadable<T>(run: () => Promise<PipelineOutcome<T>>): Promise<PipelineOutcome<T>> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await run();
    if (outcome.status !== 'idle' || attempt === 1000) return outcome;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
