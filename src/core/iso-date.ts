/** An ISO-8601 date or date-time; the time's offset may be left out (UTC). */
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Epoch ms of an ISO-8601 date or date-time, NaN if it is not one or names a day that does not exist
 * (`2026-02-30`, which `Date.parse` would roll over into March). Without an offset it is UTC, as a
 * date alone is: never the server's own time zone.
 */
export function parseIsoDate(text: string): number {
  const match = ISO_DATE.exec(text);
  if (!match) return Number.NaN;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', offset] = match;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: that reads the years 0–99 as 1900–1999.
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(
    Number(hour),
    Number(minute),
    Number(second),
    Math.floor(Number(`0.${fraction || '0'}`) * 1000),
  );
  const ms = date.getTime();
  if (
    date.getUTCFullYear() !== Number(year) ||
    date.getUTCMonth() !== Number(month) - 1 ||
    date.getUTCDate() !== Number(day) ||
    date.getUTCHours() !== Number(hour) ||
    date.getUTCMinutes() !== Number(minute) ||
    date.getUTCSeconds() !== Number(second)
  )
    return Number.NaN;
  return ms - offsetMs(offset);
}

/** An offset's milliseconds; NaN for one no clock has (`+99:99`). */
function offsetMs(offset: string | undefined): number {
  if (offset === undefined || offset === 'Z' || offset === 'z') return 0;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2, 4));
  if (hours > 23 || minutes > 59) return Number.NaN;
  return sign * (hours * 60 + minutes) * 60_000;
}

/** A value's moment when it is an ISO-8601 date string (as `parseIsoDate` reads it), else undefined. */
export function isoDateValue(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = parseIsoDate(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}
