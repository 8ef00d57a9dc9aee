import type { Journey } from '../core/journey.js';
import { JOURNEYS_CURSOR } from '../journeys/engine.js';
import type { Storage } from '../storage/storage.js';
import { judgeSplits, type SplitResult } from './split-results.js';

export type { SplitGroupResult, SplitResult, SplitVerdict } from './split-results.js';

/**
 * How each split of the journey fares on its goal, as its current version draws it (see `judgeSplits`),
 * among those who took it under a version with a goal. A goal's window counts as closed only once the
 * journeys consumer has read every event received before it closed: behind a backlog, a contact whose
 * order waits to be read is pending, not lost.
 */
export async function splitResults(storage: Storage, journey: Journey, now: number): Promise<SplitResult[]> {
  const [versions, firstUnread] = await Promise.all([
    Promise.all(
      Array.from({ length: journey.currentVersion ?? 0 }, (_, index) =>
        storage.journeys.findVersion(journey.id, index + 1),
      ),
    ),
    storage.firstUnprocessedAt(JOURNEYS_CURSOR),
  ]);
  const current = versions.at(-1);
  const judgedAt = firstUnread === undefined ? now : Math.min(now, firstUnread - 1);
  // Contacts who took the split under a version without a goal were never watched for one: counted
  // once a later version has a goal, they would stand as decided and lost, and dilute every arm.
  const withGoal = current?.definition.goal
    ? versions.flatMap((version) => (version?.definition.goal ? [version.version] : []))
    : undefined;
  return judgeSplits(current?.definition, await storage.journeys.tallySplits(journey.id, judgedAt, withGoal));
}
