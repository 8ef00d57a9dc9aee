import { HAND_OFF_CREATED, SLA_MISSED, STAGE_CHANGED } from './lifecycle.js';
import { TRAITS_UPDATED } from './profile.js';
import { PAST_EVENTS_SCORED } from './score-replay.js';
import { SEGMENT_ENTERED, SEGMENT_EXITED } from './segment-definition.js';

/** Written on every profile holding a number that texted STOP (or a synonym) to the workspace's sender. */
export const SMS_UNSUBSCRIBED = 'SMS Unsubscribed';
/** Written on every profile holding a number that texted START (or a synonym), lifting its STOP. */
export const SMS_RESUBSCRIBED = 'SMS Resubscribed';
/**
 * Written on every profile holding a number that texted the workspace's sender something other than a
 * keyword (a reply: "YES", "see you at 10"), with what it said: journeys wait for it and branch on it.
 */
export const SMS_RECEIVED = 'SMS Received';
/** Written on a contact an admin took out of an account: what reads account traits decides it again. */
export const ACCOUNT_LEFT = 'Account Left';

/**
 * The events Mops writes on profiles itself. A client may send an event of the same name (nothing it
 * sends is refused), but such a look-alike moves no journey: it would fake a hand-off, a missed SLA
 * or a segment entry, properties and all. (Subscriptions Changed, written when an admin changes a
 * profile's subscriptions, is an ordinary event: journeys follow it whoever sends it.)
 */
const MOPS_EVENT_NAMES: ReadonlySet<string> = new Set([
  SEGMENT_ENTERED,
  SEGMENT_EXITED,
  TRAITS_UPDATED,
  STAGE_CHANGED,
  HAND_OFF_CREATED,
  SLA_MISSED,
  SMS_UNSUBSCRIBED,
  SMS_RESUBSCRIBED,
  SMS_RECEIVED,
  PAST_EVENTS_SCORED,
  ACCOUNT_LEFT,
]);

/** Whether Mops writes events of this name itself (a client's look-alike is not Mops's). */
export function isMopsEventName(name: string): boolean {
  return MOPS_EVENT_NAMES.has(name);
}

/** Whether an event is what its name says: Mops's own names count only on events Mops wrote. */
export function isGenuine(event: { name: string | null; origin?: 'mops' }): boolean {
  return event.origin === 'mops' || event.name === null || !MOPS_EVENT_NAMES.has(event.name);
}
