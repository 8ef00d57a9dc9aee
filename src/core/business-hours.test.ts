import { describe, expect, it } from 'vitest';
import { addBusinessTime, BusinessHours } from './business-hours.js';
import { businessDurationMs, fitsInBusinessYear } from './business-year.js';

const HOUR = 3_600_000;
const weekdays = BusinessHours.parse({});
/** An instant given as Rome's wall-clock time, with its offset that day. */
const rome = (local: string, offset: string) => Date.parse(`${local}${offset}`);

describe('business hours', () => {
  it('counts only the hours sales works, carrying what is left over to the next working day', () => {
    // Friday 16:00 with 4 hours: one on Friday, three on Monday.
    expect(addBusinessTime(rome('2026-11-27T16:00', '+01:00'), 4 * HOUR, weekdays, 'Europe/Rome')).toBe(
      rome('2026-11-30T12:00', '+01:00'),
    );
    // Within the day it is plain time.
    expect(addBusinessTime(rome('2026-11-30T10:00', '+01:00'), 2 * HOUR, weekdays, 'Europe/Rome')).toBe(
      rome('2026-11-30T12:00', '+01:00'),
    );
    // Handed over at night or at the weekend, the clock starts when work does.
    expect(addBusinessTime(rome('2026-11-28T23:30', '+01:00'), HOUR, weekdays, 'Europe/Rome')).toBe(
      rome('2026-11-30T10:00', '+01:00'),
    );
    expect(addBusinessTime(rome('2026-11-30T07:00', '+01:00'), HOUR, weekdays, 'Europe/Rome')).toBe(
      rome('2026-11-30T10:00', '+01:00'),
    );
    // Two working days are sixteen hours; ending exactly at closing time stays on that day.
    expect(addBusinessTime(rome('2026-11-30T09:00', '+01:00'), 16 * HOUR, weekdays, 'Europe/Rome')).toBe(
      rome('2026-12-01T17:00', '+01:00'),
    );
  });

  it('reads days and weeks of an SLA as working days and weeks, hours as business hours', () => {
    expect(businessDurationMs('2d', weekdays)).toBe(16 * HOUR);
    expect(businessDurationMs('0.5d', weekdays)).toBe(4 * HOUR);
    expect(businessDurationMs('1w', weekdays)).toBe(40 * HOUR);
    expect(businessDurationMs('1w', { days: ['sat'], start: '10:00', end: '14:30' })).toBe(4.5 * HOUR);
    expect(businessDurationMs('36h', weekdays)).toBe(36 * HOUR);
    expect(businessDurationMs('90m', weekdays)).toBe(1.5 * HOUR);
    // A day handed over mid-afternoon ends at the same time the next working day.
    const thursdayAt3 = rome('2026-11-26T15:00', '+01:00');
    expect(addBusinessTime(thursdayAt3, businessDurationMs('1d', weekdays), weekdays, 'Europe/Rome')).toBe(
      rome('2026-11-27T15:00', '+01:00'),
    );
    expect(addBusinessTime(thursdayAt3, businessDurationMs('2d', weekdays), weekdays, 'Europe/Rome')).toBe(
      rome('2026-11-30T15:00', '+01:00'),
    );
  });

  it('keeps to the wall clock across a change of daylight saving time', () => {
    // Friday 27 March 2026 16:00 CET; clocks go forward on Sunday the 29th: Monday is CEST.
    expect(addBusinessTime(rome('2026-03-27T16:00', '+01:00'), 4 * HOUR, weekdays, 'Europe/Rome')).toBe(
      rome('2026-03-30T12:00', '+02:00'),
    );
  });

  it('opens when the clocks jump over its opening time, not the evening before', () => {
    const sundayMornings = BusinessHours.parse({ days: ['sun'], start: '00:00', end: '08:00' });
    // São Paulo, 4 November 2018: midnight jumped to 01:00 (-03:00 to -02:00).
    expect(
      addBusinessTime(Date.parse('2018-11-03T12:00-03:00'), HOUR, sundayMornings, 'America/Sao_Paulo'),
    ).toBe(Date.parse('2018-11-04T02:00-02:00'));
  });

  it('counts nothing, rather than less than nothing, for hours the clocks jump over', () => {
    const inTheGap = BusinessHours.parse({ days: ['sun'], start: '02:30', end: '03:00' });
    // Rome, Sunday 29 March 2026: 02:00 jumps to 03:00, so that Sunday's half hour never comes.
    expect(addBusinessTime(rome('2026-03-28T12:00', '+01:00'), HOUR / 2, inTheGap, 'Europe/Rome')).toBe(
      rome('2026-04-05T03:00', '+02:00'),
    );
  });

  it('never fails to find the end of the longest time it accepts, whatever DST does to the hours', () => {
    const MINUTE = 60_000;
    const cases = [
      // 52 Sundays of half an hour, from the Sunday Rome's clocks jump over it.
      {
        zone: 'Europe/Rome',
        start: '2026-03-29T00:59:59.999Z',
        hours: { days: ['sun'], start: '02:30', end: '03:00' },
        longest: 52 * 30 * MINUTE,
      },
      // Newfoundland changed its clocks at 00:01 in 2011: 104 weekend days of one minute.
      {
        zone: 'America/St_Johns',
        start: '2011-01-01T00:59:59.999Z',
        hours: { days: ['sat', 'sun'], start: '00:00', end: '00:01' },
        longest: 104 * MINUTE,
      },
    ] as const;
    for (const { zone, start, hours: given, longest } of cases) {
      const hours = BusinessHours.parse(given);
      expect(fitsInBusinessYear(longest, hours)).toBe(true);
      expect(addBusinessTime(Date.parse(start), longest, hours, zone)).toBeGreaterThan(Date.parse(start));
    }
  });

  it('reads the days and hours in the zone given', () => {
    const saturdays = BusinessHours.parse({ days: ['sat'], start: '10:00', end: '14:00' });
    // Monday 09:00 in New York, 6 hours: Saturday 10:00–14:00, then the next Saturday's first two.
    expect(
      addBusinessTime(Date.parse('2026-11-30T09:00-05:00'), 6 * HOUR, saturdays, 'America/New_York'),
    ).toBe(Date.parse('2026-12-12T12:00-05:00'));
  });

  it('refuses hours that end before they start, or a day named twice, naming the field', () => {
    const late = BusinessHours.safeParse({ start: '18:00', end: '09:00' });
    expect(late.error?.issues).toMatchObject([
      { path: ['end'], message: 'must be after start, the same day' },
    ]);
    const twice = BusinessHours.safeParse({ days: ['mon', 'mon'] });
    expect(twice.error?.issues).toMatchObject([{ path: ['days'], message: 'must name each day once' }]);
  });
});
