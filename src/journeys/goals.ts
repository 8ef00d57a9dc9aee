import { durationMs } from '../core/duration.js';
import type { StoredEvent } from '../core/event.js';
import type { JourneyInstance, JourneyVersion } from '../core/journey.js';
import type { JourneyDefinition } from '../core/journey-definition.js';
import { isGenuine } from '../core/mops-events.js';
import type { Profile } from '../core/profile.js';
import type { StorageTx } from '../storage/storage.js';
import { matchesAll, readPath } from './conditions.js';
import { CLOCK_TOLERANCE_MS, happenedSinceEntry, matchesEntry, scopeOf } from './event-scope.js';

/**
 * Whether the event meets the goal of the instance's journey: the goal's event and conditions, after
 * the instance entered, on the same entry property when asked, within the goal's `within`. A client's
 * look-alike of an event Mops writes meets none.
 */
export function meetsGoal(
  definition: JourneyDefinition,
  event: StoredEvent,
  instance: JourneyInstance,
  profile: Profile,
): boolean {
  // The goal's name first: most events are no goal, and the entry's decision is parsed only for one.
  return (
    meetsGoalWhenever(definition, event, instance, profile) &&
    (happenedSinceEntry(event, instance) || happenedWhileEntryDecided(definition, event, instance.entryEvent))
  );
}

/**
 * Whether an event happened while the segment entry the instance entered on was being decided: after
 * the events that decision read (`last_event_id`), from when the latest of them happened
 * (`last_event_at`). Journeys may hear such an event after the entry — one received late, or not yet
 * resolved to its contact when the entry was heard — and it counts as one heard before it does.
 */
function happenedWhileEntryDecided(
  definition: JourneyDefinition,
  event: StoredEvent,
  entry: unknown,
): boolean {
  const decided = definition.entry.trigger.type === 'segment' ? decisionOf(entry) : undefined;
  return (
    decided !== undefined &&
    event.id > decided.readThrough &&
    event.timestamp >= decided.lastEventAt - CLOCK_TOLERANCE_MS
  );
}

/** What the decision behind a segment entry read (see SegmentEntered's properties); undefined for others. */
function decisionOf(entry: unknown): { readThrough: number; lastEventAt: number } | undefined {
  const readThrough = readPath(entry, 'properties.last_event_id');
  const lastEventAt = Date.parse(String(readPath(entry, 'properties.last_event_at')));
  return typeof readThrough === 'number' && !Number.isNaN(lastEventAt)
    ? { readThrough, lastEventAt }
    : undefined;
}

/** `meetsGoal`, wherever the event happened relative to the entry. */
function meetsGoalWhenever(
  definition: JourneyDefinition,
  event: StoredEvent,
  instance: JourneyInstance,
  profile: Profile,
): boolean {
  const goal = definition.goal;
  return (
    goal !== undefined &&
    isGenuine(event) &&
    event.name === goal.event &&
    matchesAll(goal.conditions, scopeOf(profile, event, instance)) &&
    matchesEntry(event, instance, goal.matchEntryProperty) &&
    (!goal.within || event.timestamp - instance.entryEvent.timestamp <= durationMs(goal.within))
  );
}

/**
 * Until when an instance that took a split is watched for its goal: the goal's `within` after the
 * entry event; null, without one, for as long as it takes; and not at all (its entry) without a goal.
 */
export function goalWatchUntil(definition: JourneyDefinition, entryTimestamp: number): number | null {
  const goal = definition.goal;
  if (!goal) return entryTimestamp;
  return goal.within ? entryTimestamp + durationMs(goal.within) : null;
}

/**
 * The instances of a batch's contacts that took a split and whose goal is still watched, those that
 * have ended included: a contact held out leaves the journey at the split, and one in an arm may
 * reach its end before buying; a split is judged on whether each met the goal all the same.
 */
export class SplitGoalWatch {
  readonly #byProfile = new Map<string, JourneyInstance[]>();

  constructor(instances: readonly JourneyInstance[]) {
    for (const instance of instances) this.add(instance);
  }

  add(instance: JourneyInstance): void {
    const list = this.#byProfile.get(instance.profileId);
    if (!list) this.#byProfile.set(instance.profileId, [instance]);
    else if (!list.some((other) => other.id === instance.id)) list.push(instance);
  }

  /** Marks the goal met for the contact's watched instances whose goal this event is. */
  async hear(
    tx: StorageTx,
    input: {
      profile: Profile;
      event: StoredEvent;
      versionOf: (instance: JourneyInstance) => Promise<JourneyVersion | undefined>;
    },
  ): Promise<void> {
    const { profile, event } = input;
    const watched = this.#byProfile.get(profile.id);
    if (!watched || watched.length === 0) return;
    const still: JourneyInstance[] = [];
    for (const instance of watched) {
      const version = await input.versionOf(instance);
      if (version && meetsGoal(version.definition, event, instance, profile))
        await tx.journeys.markGoalReached(instance.id, event.timestamp);
      else still.push(instance);
    }
    this.#byProfile.set(profile.id, still);
  }
}

/**
 * For an instance about to enter on a segment: the earliest event that met its goal after the events
 * the segment decision read and before the entry (the `last_event_id` and `last_event_at` of the
 * `Segment Entered` or `Segment Exited`). The segments consumer runs behind the log, on a thread of its
 * own, so journeys may have heard such an event before the contact entered: a purchase made while the
 * cart's abandonment was being decided. Undefined when none did, or when the entry says nothing of
 * what was read (a segment timer, a backfill, a static list) or is not a segment's.
 */
export async function goalMetWhileDecided(
  tx: StorageTx,
  input: { definition: JourneyDefinition; instance: JourneyInstance; profile: Profile; entry: StoredEvent },
): Promise<StoredEvent | undefined> {
  const { definition, instance, profile, entry } = input;
  if (!definition.goal || definition.entry.trigger.type !== 'segment' || entry.origin !== 'mops')
    return undefined;
  const decided = decisionOf(entry.payload);
  if (!decided) return undefined;
  const candidates = await tx.journeys.eventsOfProfileSince(
    profile.id,
    definition.goal.event,
    decided.lastEventAt - CLOCK_TOLERANCE_MS,
  );
  // Later ones journeys hear after the entry, and handle then (see happenedWhileEntryDecided).
  return candidates.find(
    (event) =>
      event.id > decided.readThrough &&
      (event.timestamp < entry.timestamp || (event.timestamp === entry.timestamp && event.id < entry.id)) &&
      meetsGoalWhenever(definition, event, instance, profile),
  );
}
