import { isoDateValue } from './iso-date.js';

/** A value as comparisons read a number: a finite number, or a numeric string (as CSV imports and forms send them). */
export function numberValue(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && /^-?\d+(\.\d+)?$/.test(value.trim()))
    return Number(value);
  return undefined;
}

/** Whether `gt`, `lte` and the like can order by the value: a number, a numeric string or an ISO date. */
export function isOrderable(value: unknown): boolean {
  return numberValue(value) !== undefined || isoDateValue(value) !== undefined;
}
