import { describe, expect, it } from 'vitest';
import { isWithinWindow, nextLocalTime } from './local-time.js';

describe('nextLocalTime', () => {
  it('finds the time later the same night when the clocks went back and it shows a second time', () => {
    // New York, 3 November 2024: 01:00–02:00 is shown twice. At 01:10 in its second showing (EST),
    // 01:30 is twenty minutes away, not a day.
    const now = Date.parse('2024-11-03T06:10:00Z');
    expect(isWithinWindow(now, 'America/New_York', '21:00', '01:30')).toBe(true);
    expect(new Date(nextLocalTime(now, 'America/New_York', '01:30')).toISOString()).toBe(
      '2024-11-03T06:30:00.000Z',
    );
    // In its first showing (EDT), the first 01:30 comes first.
    expect(
      new Date(nextLocalTime(Date.parse('2024-11-03T05:10:00Z'), 'America/New_York', '01:30')).toISOString(),
    ).toBe('2024-11-03T05:30:00.000Z');
    // Past both, the next is the next night's.
    expect(
      new Date(nextLocalTime(Date.parse('2024-11-03T06:40:00Z'), 'America/New_York', '01:30')).toISOString(),
    ).toBe('2024-11-04T06:30:00.000Z');
  });

  it('reads a time the clocks jump over as that far past the jump, and an ordinary night as itself', () => {
    // Rome, 31 March 2024: 02:00 jumps to 03:00; 02:30 is read as 03:30 (01:30 UTC).
    expect(
      new Date(nextLocalTime(Date.parse('2024-03-30T23:00:00Z'), 'Europe/Rome', '02:30')).toISOString(),
    ).toBe('2024-03-31T01:30:00.000Z');
    expect(
      new Date(nextLocalTime(Date.parse('2024-06-01T10:00:00Z'), 'Europe/Rome', '08:00')).toISOString(),
    ).toBe('2024-06-02T06:00:00.000Z');
  });
});
