import { describe, expect, it } from 'vitest';
import { parseIsoDate } from './iso-date.js';

describe('parseIsoDate', () => {
  it('reads dates and date-times with or without an offset, in either case', () => {
    expect(parseIsoDate('2026-03-01')).toBe(Date.UTC(2026, 2, 1));
    expect(parseIsoDate('2026-03-01T10:00:00Z')).toBe(Date.UTC(2026, 2, 1, 10));
    expect(parseIsoDate('2026-03-01t10:00:00z')).toBe(Date.UTC(2026, 2, 1, 10));
    expect(parseIsoDate('2026-03-01T10:00:00+02:00')).toBe(Date.UTC(2026, 2, 1, 8));
    expect(parseIsoDate('2026-03-01T10:00:00.5')).toBe(Date.UTC(2026, 2, 1, 10, 0, 0, 500));
  });

  it('reads the years 0–99 as themselves, not as 1900–1999', () => {
    const year = (text: string) => new Date(parseIsoDate(text)).getUTCFullYear();
    expect(year('0042-06-15')).toBe(42);
    expect(year('0000-01-01T00:00:00Z')).toBe(0);
  });

  it('refuses a day, time or offset that does not exist', () => {
    for (const text of [
      '2026-02-30',
      '2026-01-05T24:30:00Z',
      '2026-01-05T10:00:00+99:99',
      '2026-01-05T10:00:00+05:60',
    ])
      expect(parseIsoDate(text), text).toBeNaN();
  });
});
