import { describe, expect, it } from 'vitest';
import type { SegmentCondition } from '../core/segment-definition.js';
import { dependencyOrder, requiredEventNames, ruleNeeds } from './rule-needs.js';

const NOW = Date.UTC(2026, 10, 29);
const DAY = 86_400_000;
const ordered = (within?: string): SegmentCondition => ({
  type: 'event',
  event: 'Order Completed',
  where: [],
  atLeast: 1,
  ...(within ? { within } : {}),
});

describe('rule needs', () => {
  it('reads each event name only as far back as its conditions look, and properties only where filtered', () => {
    const needs = ruleNeeds(
      [
        { all: [ordered('7d'), { type: 'trait', path: 'plan', op: 'eq', value: 'pro' }] },
        { type: 'event_time', event: 'Page Viewed', which: 'last', op: 'not_within_last', value: '30d' },
        {
          type: 'event',
          event: 'Order Completed',
          within: '30d',
          atLeast: 1,
          where: [{ path: 'total', op: 'gt', value: 5 }],
        },
      ],
      NOW,
    );
    expect(needs.events.get('Order Completed')).toEqual({ since: NOW - 30 * DAY, withProperties: true });
    // Whether the last page view is older than 30 days shows from the last 30 days alone.
    expect(needs.events.get('Page Viewed')).toEqual({ since: NOW - 30 * DAY, withProperties: false });
    expect(needs).toMatchObject({ traits: true, accounts: false, isTimeDependent: true });
    const first = ruleNeeds(
      [{ type: 'event_time', event: 'Signed Up', which: 'first', op: 'within_last', value: '7d' }],
      NOW,
    );
    expect(first.events.get('Signed Up')?.since).toBeNull();
  });

  it('tells which events a rule requires, so that a backfill looks only at the profiles having them', () => {
    expect(requiredEventNames(ordered('30d'))).toEqual(new Set(['Order Completed']));
    expect(requiredEventNames({ all: [{ type: 'trait', path: 'plan', op: 'exists' }, ordered()] })).toEqual(
      new Set(['Order Completed']),
    );
    expect(
      requiredEventNames({
        any: [ordered(), { type: 'event', event: 'Demo Requested', where: [], atLeast: 1 }],
      }),
    ).toEqual(new Set(['Order Completed', 'Demo Requested']));
    expect(
      requiredEventNames({ any: [ordered(), { type: 'trait', path: 'vip', op: 'eq', value: true }] }),
    ).toBeUndefined();
    expect(requiredEventNames({ not: ordered() })).toBeUndefined();
    expect(
      requiredEventNames({ type: 'event', event: 'Order Completed', where: [], atLeast: 0, atMost: 0 }),
    ).toBeUndefined();
  });

  it('orders segments after those they ask about, and refuses a circle', () => {
    const a = { id: 'a', rule: { type: 'segment', segment: 'b', is: 'in' } as SegmentCondition };
    const b = { id: 'b', rule: ordered() };
    expect(dependencyOrder([a, b]).map((segment) => segment.id)).toEqual(['b', 'a']);
    const c = { id: 'b', rule: { type: 'segment', segment: 'a', is: 'in' } as SegmentCondition };
    expect(() => dependencyOrder([a, c])).toThrow('segments refer to each other: a → b → a');
    // Only the circle is named, not the segment that led to it.
    const self = { id: 'b', rule: { type: 'segment', segment: 'b', is: 'in' } as SegmentCondition };
    expect(() => dependencyOrder([a, self])).toThrow('segments refer to each other: b → b');
  });
});
