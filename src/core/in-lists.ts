/**
 * Values the `in` lists of one segment rule, one journey or one score model may hold together (its
 * conditions' and their event filters'). Each value is compared for every profile an event touches
 * (a segment preview or backfill: for everyone); a list of a few thousand (postcodes, account ids) is
 * what people paste. The console checks it before sending too, so this module imports nothing.
 */
export const MAX_IN_LIST_VALUES = 5000;

/** How many values a comparison's `in` list holds: 0 for any other comparison (or a value not a list). */
export function inListLength(comparison: unknown): number {
  if (comparison === null || typeof comparison !== 'object') return 0;
  const { op, value } = comparison as Record<string, unknown>;
  return op === 'in' && Array.isArray(value) ? value.length : 0;
}

/** The refusal of more, for what holds the lists (`rule`, `journey`, `score model`). */
export function tooManyInListValues(holder: string): string {
  return `the in lists of a ${holder} hold at most ${MAX_IN_LIST_VALUES} values in all`;
}
