import type { Journey } from '../core/journey.js';
import type { JourneyDefinition } from '../core/journey-definition.js';
import type { StorageReader } from '../storage/storage.js';

/**
 * The definitions a journey's instances can still reach: its current version's, and those of older
 * versions instances entered before a later publish still run on. What they ask about must stay.
 */
export async function definitionsInForce(
  reader: StorageReader,
  journey: Journey,
): Promise<JourneyDefinition[]> {
  if (journey.status === 'archived') return [];
  const versions = await reader.journeys.listVersionsRunning(journey.id);
  if (journey.currentVersion !== null && !versions.some((v) => v.version === journey.currentVersion)) {
    const current = await reader.journeys.findVersion(journey.id, journey.currentVersion);
    if (current) versions.push(current);
  }
  return versions.map((version) => version.definition);
}
