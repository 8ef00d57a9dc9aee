import { describe, expect, it } from 'vitest';
import { addBusinessTime, BusinessHours } from './business-hours.js';

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

  it('keeps to the wall clock across a change of daylight saving time', () => {
    // Friday 27 March 2026 16:00 CET; clocks go forward on Sunday the 29th: Monday is CEST.
    expect(addBusinessTime(rome('2026-03-27T16:00', '+01:00'), 4 * HOUR, weekdays, 'Europe/Rome')).toBe(
      rome('2026-03-30T12:00', '+02:00'),
    );
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
