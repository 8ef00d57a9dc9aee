import type { NewEvent } from '../core/event.js';
import { newId } from '../core/ids.js';

/** A valid track event ready for `storage.events.append`; tests override what they care about. */
export function trackEvent(overrides: Partial<NewEvent> = {}): NewEvent {
  const messageId = overrides.messageId ?? newId('msg');
  const at = overrides.receivedAt ?? Date.UTC(2026, 10, 23, 9, 0, 0);
  return {
    workspaceId: 'ws_1',
    messageId,
    type: 'track',
    name: 'Product Viewed',
    userId: 'user-1',
    anonymousId: null,
    timestamp: at,
    originalTimestamp: null,
    sentAt: null,
    receivedAt: at,
    payload: JSON.stringify({ type: 'track', event: 'Product Viewed', userId: 'user-1', messageId }),
    ...overrides,
  };
}
