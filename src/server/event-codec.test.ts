import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../core/event.js';
import { packEvents, unpackEvents } from './event-codec.js';

describe('packEvents / unpackEvents', () => {
  it('round-trips events, nulls, empty strings and any character', () => {
    const events: NewEvent[] = [
      {
        workspaceId: 'ws_1',
        messageId: 'm\u0000with nul',
        type: 'track',
        name: 'Ordine Completato ✓',
        userId: '',
        anonymousId: null,
        timestamp: 1_700_000_000_123,
        originalTimestamp: null,
        sentAt: 0,
        receivedAt: 1_700_000_000_456,
        payload: '{"emoji":"🎉","quote":"\\""}',
      },
      {
        workspaceId: 'ws_2',
        messageId: 'm2',
        type: 'identify',
        name: null,
        userId: 'u',
        anonymousId: 'a',
        timestamp: 1,
        originalTimestamp: 2,
        sentAt: null,
        receivedAt: 3,
        payload: '{}',
      },
    ];
    expect(unpackEvents(structuredClone(packEvents(events)))).toEqual(events);
    expect(unpackEvents(packEvents([]))).toEqual([]);
  });
});
