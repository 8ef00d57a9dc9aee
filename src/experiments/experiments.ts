import type { Journey } from '../core/journey.js';
import type { Storage } from '../storage/storage.js';
import { judgeSplits, type SplitResult } from './split-results.js';

export type { SplitGroupResult, SplitResult, SplitVerdict } from './split-results.js';

/** How each split of the journey fares on its goal, as its current version draws it (see `judgeSplits`). */
export async function splitResults(storage: Storage, journey: Journey, now: number): Promise<SplitResult[]> {
  const version =
    journey.currentVersion === null
      ? undefined
      : await storage.journeys.findVersion(journey.id, journey.currentVersion);
  return judgeSplits(version?.definition, await storage.journeys.tallySplits(journey.id, now));
}
