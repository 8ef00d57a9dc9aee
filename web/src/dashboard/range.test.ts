import { describe, expect, it } from 'vitest';
import { bucketFor, customRange, presetRange, rangeQuery, toLocalInput } from './range.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// Local time, as the console's user sees it.
const now = new Date(2026, 2, 12, 10, 17, 30);

describe('presetRange', () => {
  it('counts the last hour per minute, its last minute holding now', () => {
    const range = presetRange('1h', now);
    expect(range.to).toEqual(new Date(2026, 2, 12, 10, 18));
    expect(range.to.getTime() - range.from.getTime()).toBe(HOUR);
    expect(range.bucket).toBe('minute');
  });

  it('counts the last 24 hours and the last 7 days per hour, ending with the current hour', () => {
    const day = presetRange('24h', now);
    expect(day.to).toEqual(new Date(2026, 2, 12, 11));
    expect(day.to.getTime() - day.from.getTime()).toBe(DAY);
    expect(day.bucket).toBe('hour');
    const week = presetRange('7d', now);
    expect(week.to.getTime() - week.from.getTime()).toBe(7 * DAY);
    expect(week.bucket).toBe('hour');
  });

  it('counts the last 30 days per day, from local midnight to the end of today', () => {
    const month = presetRange('30d', now);
    expect(month.to).toEqual(new Date(2026, 2, 13));
    expect(month.from).toEqual(new Date(2026, 1, 11));
    expect(month.bucket).toBe('day');
  });
});

describe('bucketFor', () => {
  it('uses minutes up to 6 hours, hours up to 7 days, days beyond', () => {
    expect(bucketFor(6 * HOUR)).toBe('minute');
    expect(bucketFor(6 * HOUR + MINUTE)).toBe('hour');
    expect(bucketFor(7 * DAY)).toBe('hour');
    expect(bucketFor(7 * DAY + HOUR)).toBe('day');
  });
});

describe('customRange', () => {
  it('reads datetime-local values as local time and picks the bucket', () => {
    const checked = customRange('2026-03-01T08:00', '2026-03-01T12:30');
    expect(checked).toEqual({
      range: { from: new Date(2026, 2, 1, 8), to: new Date(2026, 2, 1, 12, 30), bucket: 'minute' },
    });
  });

  it('names the field at fault: missing, malformed, not after the start, longer than 92 days', () => {
    expect(customRange('', '2026-03-01T12:30')).toEqual({ errors: { from: 'required' } });
    expect(customRange('2026-03-01T08:00', 'tomorrow')).toEqual({ errors: { to: 'invalid' } });
    expect(customRange('2026-03-01T08:00', '2026-03-01T08:00')).toEqual({ errors: { to: 'notAfterFrom' } });
    expect(customRange('2026-01-01T00:00', '2026-04-04T00:00')).toEqual({ errors: { to: 'tooLong' } });
  });

  it('round-trips through the value an input shows', () => {
    const from = new Date(2026, 0, 5, 7, 9);
    expect(customRange(toLocalInput(from), '2026-01-06T00:00')).toMatchObject({ range: { from } });
  });
});

it('asks the API with ISO times', () => {
  const range = {
    from: new Date(Date.UTC(2026, 0, 1)),
    to: new Date(Date.UTC(2026, 0, 2)),
    bucket: 'hour' as const,
  };
  expect(rangeQuery(range)).toBe('?from=2026-01-01T00%3A00%3A00.000Z&to=2026-01-02T00%3A00%3A00.000Z');
});
