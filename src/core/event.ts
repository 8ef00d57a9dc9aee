import type { SetAsideResolution } from './set-aside.js';

/** The Segment call types Mops accepts (`batch` is an envelope, not a type). */
export const EVENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What a `page` or `screen` call sent without a `name` is counted under. */
export const PAGE_VIEWED = 'Page Viewed';
export const SCREEN_VIEWED = 'Screen Viewed';

export function unnamedViewName(type: 'page' | 'screen'): string {
  return type === 'page' ? PAGE_VIEWED : SCREEN_VIEWED;
}

/** An accepted event, validated and timestamped, about to be appended to the event log. */
export interface NewEvent {
  workspaceId: string;
  messageId: string;
  type: EventType;
  /** `event` for track; `name` for page and screen, or `Page Viewed` / `Screen Viewed` without one; null otherwise. */
  name: string | null;
  userId: string | null;
  anonymousId: string | null;
  /** When it happened, corrected for client clock skew (epoch ms). */
  timestamp: number;
  originalTimestamp: number | null;
  sentAt: number | null;
  receivedAt: number;
  /** The event as the client sent it, as JSON text. */
  payload: string;
}

export interface StoredEvent extends Omit<NewEvent, 'payload'> {
  /** Position in the log: increasing in commit order within one backend. */
  id: number;
  payload: SegmentPayload;
  /** `mops` for an event Mops wrote itself (Segment Entered, …), which no client can send. */
  origin?: 'mops';
}

/** An event Mops writes on a profile, filed under one of its identities as it is written. */
export interface GeneratedEvent {
  event: NewEvent;
  identityId: number;
}

/** A Segment call as JSON: `type`, ids, `traits` or `properties`, `context`, … */
export type SegmentPayload = Record<string, unknown>;

/** A call's `properties` (those of a track, page or screen call), or none. */
export function payloadProperties(payload: SegmentPayload): Record<string, unknown> {
  const properties = payload.properties;
  return properties !== null && typeof properties === 'object' ? (properties as Record<string, unknown>) : {};
}

/** An event that failed validation, kept so that nothing a client sent is silently lost. */
export interface RejectedEvent {
  workspaceId: string;
  receivedAt: number;
  messageId: string | null;
  reason: string;
  field: string | null;
  payload: string;
}

export interface StoredRejectedEvent extends RejectedEvent {
  id: number;
}

/**
 * An event one consumer of the log (profiles, scoring, segments, journeys) could not process: it
 * failed at every attempt while the database answered. The event itself stays in the
 * log; the consumer went on past it, and this says where and why.
 */
export interface SetAsideEvent {
  id: number;
  workspaceId: string;
  /** The consumer's cursor: `profiles`, `scoring`, `segments` or `journeys`. */
  consumer: string;
  eventId: number;
  messageId: string;
  type: EventType;
  name: string | null;
  /** The error, as the consumer threw it. */
  reason: string;
  setAsideAt: number;
  /** Null until an operator retries or dismisses it. */
  resolution: SetAsideResolution | null;
}

/** Events grouped by workspace, each group in the order given. */
export function groupByWorkspace<T extends { workspaceId: string }>(events: readonly T[]): Map<string, T[]> {
  const grouped = new Map<string, T[]>();
  for (const event of events) {
    const list = grouped.get(event.workspaceId);
    if (list) list.push(event);
    else grouped.set(event.workspaceId, [event]);
  }
  return grouped;
}
