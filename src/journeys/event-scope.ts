import type { StoredEvent } from '../core/event.js';
import type { JourneyInstance } from '../core/journey.js';
import type { Profile } from '../core/profile.js';
import { compare } from '../core/value-comparison.js';
import { type ConditionScope, NO_AUDIENCE, readPath } from './conditions.js';

/** Clients' clocks differ a little even after skew correction; this much earlier still counts. */
export const CLOCK_TOLERANCE_MS = 60_000;

/** Waits and goals only hear events that happened after the instance entered (an old event, backfilled, does not count). */
export function happenedSinceEntry(event: StoredEvent, instance: JourneyInstance): boolean {
  return event.timestamp >= instance.entryEvent.timestamp - CLOCK_TOLERANCE_MS;
}

/** The event carries the same value at `path` as the event that entered the instance (e.g. the same cart). */
export function matchesEntry(
  event: StoredEvent,
  instance: JourneyInstance,
  path: string | undefined,
): boolean {
  return (
    path === undefined || compare(readPath(event.payload, path), 'eq', readPath(instance.entryEvent, path))
  );
}

/**
 * What conditions see: `event` is the event being handled or, when a timer moves the instance, the
 * latest event that moved it: what its last wait_for_event heard, else the event it entered on.
 */
export function scopeOf(
  profile: Profile,
  event: StoredEvent | undefined,
  instance: JourneyInstance | undefined,
): ConditionScope {
  const latest = (instance?.state.lastEvent ?? instance?.entryEvent) as unknown as
    | Record<string, unknown>
    | undefined;
  return {
    traits: profile.traits,
    event: event?.payload ?? latest,
    entryEvent: instance?.entryEvent as unknown as Record<string, unknown> | undefined,
    engagement: () => ({ opened: false, clicked: false, delivered: false }),
    audience: NO_AUDIENCE,
  };
}
