import { describe, expect, it } from 'vitest';
import { EventTooLargeError, mayHoldHugeNumbers, validateEvent } from './validate-event.js';

const RECEIVED = Date.parse('2026-11-23T10:00:00.000Z');
const context = {
  workspaceId: 'ws_1',
  receivedAt: RECEIVED,
  batchSentAt: null,
  batchContext: undefined,
  path: 'batch[0]',
};

describe('validateEvent', () => {
  it('accepts a track call and keeps the payload as sent', () => {
    const result = validateEvent(
      { type: 'track', event: 'Order Completed', userId: 42, properties: { total: 9 } },
      context,
    );
    if (!result.ok) throw new Error(result.reason);
    expect(result.event).toMatchObject({
      type: 'track',
      name: 'Order Completed',
      userId: '42',
      anonymousId: null,
    });
    expect(JSON.parse(result.event.payload)).toMatchObject({
      event: 'Order Completed',
      properties: { total: 9 },
    });
    expect(result.event.messageId).toMatch(/^msg_/);
  });

  it('counts a page or screen call without a name as Page Viewed or Screen Viewed, a named one by its name', () => {
    const nameOf = (call: Record<string, unknown>) => {
      const result = validateEvent({ userId: 'u', ...call }, context);
      if (!result.ok) throw new Error(result.reason);
      return result.event.name;
    };
    expect(nameOf({ type: 'page', properties: { path: '/pricing' } })).toBe('Page Viewed');
    expect(nameOf({ type: 'page', name: ' ' })).toBe('Page Viewed');
    expect(nameOf({ type: 'page', name: null })).toBe('Page Viewed');
    expect(nameOf({ type: 'screen' })).toBe('Screen Viewed');
    expect(nameOf({ type: 'page', name: 'Pricing' })).toBe('Pricing');
    expect(nameOf({ type: 'screen', name: 'Cart' })).toBe('Cart');
    expect(nameOf({ type: 'identify' })).toBeNull();
    // A long name is cut to 255, never inside an emoji.
    expect(nameOf({ type: 'page', name: `${'a'.repeat(254)}😀b` })).toBe('a'.repeat(254));
    expect(nameOf({ type: 'page', name: `${'a'.repeat(253)}😀b` })).toBe(`${'a'.repeat(253)}😀`);
  });

  it('looks for numbers past what JSON holds only where a number may stand, not inside ids', () => {
    expect(mayHoldHugeNumbers('{"score":1e400}')).toBe(true);
    expect(mayHoldHugeNumbers('{"a":[1, -2.5E+308]}')).toBe(true);
    expect(mayHoldHugeNumbers(`{"n":${'9'.repeat(309)}}`)).toBe(true);
    expect(mayHoldHugeNumbers('{"messageId":"3f9e4e512-77e1234","total":1e30}')).toBe(false);
  });

  it('takes a blank id for none, rather than one profile for every caller sending it', () => {
    expect(validateEvent({ type: 'track', event: 'X', userId: '  ' }, context)).toMatchObject({
      ok: false,
      reason: 'userId or anonymousId is required',
    });
    const withAnonymous = validateEvent(
      { type: 'track', event: 'X', userId: ' ', anonymousId: 'a1' },
      context,
    );
    expect(withAnonymous.ok && withAnonymous.event).toMatchObject({ userId: null, anonymousId: 'a1' });
  });

  it('corrects the client clock: timestamp = receivedAt − (sentAt − originalTimestamp)', () => {
    // The client's clock runs 1 hour fast: it stamped the event at 10:59:50 and sent it at 11:00:00.
    const result = validateEvent(
      {
        type: 'track',
        event: 'E',
        userId: 'u',
        timestamp: '2026-11-23T10:59:50.000Z',
        sentAt: '2026-11-23T11:00:00.000Z',
      },
      context,
    );
    if (!result.ok) throw new Error(result.reason);
    expect(new Date(result.event.timestamp).toISOString()).toBe('2026-11-23T09:59:50.000Z');
    expect(result.event.originalTimestamp).toBe(Date.parse('2026-11-23T10:59:50.000Z'));
    expect(result.event.receivedAt).toBe(RECEIVED);
  });

  it('uses the batch sentAt when the event has none, and the original timestamp when there is no sentAt', () => {
    const withBatch = validateEvent(
      { type: 'page', userId: 'u', originalTimestamp: '2026-11-23T09:59:00.000Z' },
      { ...context, batchSentAt: Date.parse('2026-11-23T10:00:00.000Z') },
    );
    if (!withBatch.ok) throw new Error(withBatch.reason);
    expect(withBatch.event.timestamp).toBe(RECEIVED - 60_000);
    const withoutSentAt = validateEvent(
      { type: 'page', userId: 'u', timestamp: '2026-01-01T00:00:00Z' },
      context,
    );
    if (!withoutSentAt.ok) throw new Error(withoutSentAt.reason);
    expect(withoutSentAt.event.timestamp).toBe(Date.parse('2026-01-01T00:00:00Z'));
    const noTimes = validateEvent({ type: 'page', userId: 'u' }, context);
    if (!noTimes.ok) throw new Error(noTimes.reason);
    expect(noTimes.event.timestamp).toBe(RECEIVED);
  });

  it('puts no event after the moment it was received (a fast clock with no sentAt), keeping what the client said', () => {
    const ahead = validateEvent(
      { type: 'track', event: 'E', userId: 'u', timestamp: '2026-11-23T10:00:05.000Z' },
      context,
    );
    if (!ahead.ok) throw new Error(ahead.reason);
    expect(ahead.event.timestamp).toBe(RECEIVED);
    expect(ahead.event.originalTimestamp).toBe(RECEIVED + 5_000);
    // Stamped after it was sent: skew correction alone would also land after receipt.
    const late = validateEvent(
      {
        type: 'track',
        event: 'E',
        userId: 'u',
        timestamp: '2026-11-23T10:00:30.000Z',
        sentAt: '2026-11-23T10:00:00.000Z',
      },
      context,
    );
    if (!late.ok) throw new Error(late.reason);
    expect(late.event.timestamp).toBe(RECEIVED);
  });

  it.each([
    [{ type: 'track', event: 'E' }, 'batch[0].userId', /userId or anonymousId is required/],
    [{ type: 'track', userId: 'u' }, 'batch[0].event', /event is required/],
    [{ type: 'track', userId: 'u', event: 42 }, 'batch[0].event', /event must be a string/],
    [{ type: 'jump', userId: 'u' }, 'batch[0].type', /not one of/],
    [{ userId: 'u' }, 'batch[0].type', /type is required/],
    [{ type: 'track', event: 'E', userId: { id: 1 } }, 'batch[0].userId', /userId must be/],
    [{ type: 'identify', userId: 'u', traits: ['a'] }, 'batch[0].traits', /traits must be a JSON object/],
    [{ type: 'track', event: 'E', userId: 'u', timestamp: 'yesterday' }, 'batch[0].timestamp', /ISO-8601/],
    [{ type: 'group', userId: 'u' }, 'batch[0].groupId', /groupId is required/],
    [{ type: 'alias', anonymousId: 'a', previousId: 'p' }, 'batch[0].userId', /userId is required for alias/],
    [{ type: 'alias', userId: 'u' }, 'batch[0].previousId', /previousId is required/],
    ['not an object', 'batch[0]', /JSON object/],
  ])('rejects %j naming %s', (call, field, reason) => {
    const result = validateEvent(call, context);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.field).toBe(field);
    expect(result.reason).toMatch(reason);
  });

  it('forces the endpoint type on single calls and merges the batch context under the event context', () => {
    const result = validateEvent(
      { type: 'identify', event: 'E', userId: 'u', context: { ip: '1.2.3.4' } },
      { ...context, path: '', forcedType: 'track', batchContext: { library: { name: 'x' }, ip: '0.0.0.0' } },
    );
    if (!result.ok) throw new Error(result.reason);
    expect(result.event.type).toBe('track');
    expect(JSON.parse(result.event.payload).context).toEqual({ library: { name: 'x' }, ip: '1.2.3.4' });
  });

  it("merges the batch's integrations under the call's own, as its context", () => {
    const result = validateEvent(
      { type: 'track', event: 'E', userId: 'u', integrations: { Mixpanel: true } },
      { ...context, batchIntegrations: { All: false, Mixpanel: false } },
    );
    if (!result.ok) throw new Error(result.reason);
    expect(JSON.parse(result.event.payload).integrations).toEqual({ All: false, Mixpanel: true });
  });

  it('stores the call exactly as sent when validation changed nothing, and serialises it when it did', () => {
    const rawText = '{ "type": "track", "event": "E", "userId": "u", "messageId": "m-1" }';
    const unchanged = validateEvent(JSON.parse(rawText), { ...context, rawText });
    expect(unchanged.ok && unchanged.event.payload).toBe(rawText);
    const withoutId = '{ "type": "track", "event": "E", "userId": "u" }';
    const changed = validateEvent(JSON.parse(withoutId), { ...context, rawText: withoutId });
    expect(changed.ok && JSON.parse(changed.event.payload).messageId).toMatch(/^msg_/);
  });

  it('reads a date-time without an offset as UTC, whatever the server’s time zone, with any fraction', () => {
    const zone = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      const at = (timestamp: string) => {
        const result = validateEvent({ type: 'track', event: 'E', userId: 'u', timestamp }, context);
        return result.ok ? result.event.originalTimestamp : result.reason;
      };
      expect(at('2026-01-05T10:00:00')).toBe(Date.UTC(2026, 0, 5, 10));
      expect(at('2026-01-05')).toBe(Date.UTC(2026, 0, 5));
      expect(at('2026-01-05T10:00:00.1234+01:30')).toBe(Date.UTC(2026, 0, 5, 8, 30, 0, 123));
      expect(at('2026-01-05T10:00-0500')).toBe(Date.UTC(2026, 0, 5, 15));
      expect(at('2028-02-29T00:00:00Z')).toBe(Date.UTC(2028, 1, 29));
      expect(at('2026-02-29T00:00:00Z')).toMatch(/timestamp must be an ISO-8601 date-time that exists/);
      expect(at('2026-13-01T00:00:00Z')).toMatch(/timestamp must be/);
    } finally {
      process.env.TZ = zone;
    }
  });

  it('refuses an event over 32 KB as a whole-request error', () => {
    const call = { type: 'track', event: 'E', userId: 'u', properties: { blob: 'x'.repeat(33 * 1024) } };
    expect(() => validateEvent(call, context)).toThrow(EventTooLargeError);
    expect(() => validateEvent(call, context)).toThrow(/batch\[0\] is 34 KB, over the 32 KB per-event limit/);
  });
});
