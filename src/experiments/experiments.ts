import type { Journey } from '../core/journey.js';
import { JOURNEYS_CURSOR } from '../journeys/engine.js';
import type { Storage } from '../storage/storage.js';
import { judgeSplits, type SplitResult } from './split-results.js';

export type { SplitGroupResult, SplitResult, SplitVerdict } from './split-results.js';

/**
 * How each split of the journey fares on its goal, as its current version draws it (see `judgeSplits`).
 * A goal's window counts as closed only once the journeys consumer has read every event received
 * before it closed: behind a backlog, a contact whose order waits to be read is pending, not lost.
 */
export async function splitResults(storage: Storage, journey: Journey, now: number): Promise<SplitResult[]> {
  const [version, firstUnread] = await Promise.all([
    journey.currentVersion === null
      ? undefined
      : storage.journeys.findVersion(journey.id, journey.currentVersion),
    storage.firstUnprocessedAt(JOURNEYS_CURSOR),
  ]);
  const judgedAt = firstUnread === undefined ? now : Math.min(now, firstUnread - 1);
  return judgeSplits(version?.definition, await storage.journeys.tallySplits(journey.id, judgedAt));
}
