import {
  EMAIL_BOUNCED,
  EMAIL_LINK_CLICKED,
  EMAIL_OPENED,
  EMAIL_UNSUBSCRIBED,
} from '../channels/email/engagement.js';
import { SMS_DELIVERED, SMS_DELIVERY_FAILED } from '../channels/sms/delivery-receipts.js';
import { SMS_LINK_CLICKED } from '../channels/sms/short-links.js';
import { HAND_OFF_CREATED, SALES_ACCEPTED, SLA_MISSED, STAGE_CHANGED } from '../core/lifecycle.js';
import { SMS_RECEIVED, SMS_RESUBSCRIBED, SMS_UNSUBSCRIBED } from '../core/mops-events.js';
import { SEGMENT_ENTERED, SEGMENT_EXITED } from '../core/segment-definition.js';
import type { Storage } from '../storage/storage.js';

/** How far back the names are looked for: bounded, whatever the log's size. */
const EVENTS_SCANNED = 50_000;
const MOST_NAMES = 200;

/**
 * The events Mops writes or reads by name, which a journey, a segment or a score rule may ask about
 * before any has happened in the workspace (a first journey waiting for a reply to its first text).
 */
const NAMES_MOPS_KNOWS = [
  EMAIL_OPENED,
  EMAIL_LINK_CLICKED,
  EMAIL_BOUNCED,
  EMAIL_UNSUBSCRIBED,
  SMS_DELIVERED,
  SMS_DELIVERY_FAILED,
  SMS_LINK_CLICKED,
  SMS_RECEIVED,
  SMS_UNSUBSCRIBED,
  SMS_RESUBSCRIBED,
  SEGMENT_ENTERED,
  SEGMENT_EXITED,
  STAGE_CHANGED,
  HAND_OFF_CREATED,
  SLA_MISSED,
  SALES_ACCEPTED,
];

/**
 * Event names to offer where one is typed (a journey's trigger, a segment's condition, a score
 * rule): those of the workspace's latest events, most frequent first, then those Mops knows that have
 * not happened lately. So a name is picked as the site sends it, not retyped with another case.
 */
export async function eventNamesToOffer(
  storage: Pick<Storage, 'events'>,
  workspaceId: string,
): Promise<Array<{ name: string; recentCount: number }>> {
  const recent = await storage.events.recentNames(workspaceId, { scan: EVENTS_SCANNED, limit: MOST_NAMES });
  const seen = new Set(recent.map((entry) => entry.name));
  return [
    ...recent.map((entry) => ({ name: entry.name, recentCount: entry.count })),
    ...NAMES_MOPS_KNOWS.filter((name) => !seen.has(name)).map((name) => ({ name, recentCount: 0 })),
  ];
}
