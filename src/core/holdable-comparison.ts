import { isNumericCode, isOrderable } from './comparison-values.js';
import type { RefusalReason } from './input-issues.js';

const ORDERING_OPS: ReadonlySet<string> = new Set(['gt', 'gte', 'lt', 'lte']);

/** A comparison of a value at a path, as segment rules, fit rules, filters and hand-off assignment write it. */
export interface Comparing {
  path: string;
  op: string;
  value?: unknown;
}

/**
 * Why a comparison could never hold, naming its field (`value` or `path`) and, where the console words
 * it, its reason (see `REFUSAL_REASONS`), or `undefined` when it can:
 * ordered by what has no order, in none of no choices, at a path with an empty part; and, for an
 * event's filter (`where`, read inside the event's properties), at a path starting `properties.`
 * (see `eventFilterPathProblem`). Segments refuse such rules in their schema; settings (fit rules,
 * hand-off assignment) refuse them on saving only, as their schemas also read what is stored, and a
 * setting saved before must still read.
 *
 * @example neverHoldsBecause({ path: 'plan', op: 'gt', value: 'pro' }) // { field: 'value', message: 'value must be …' }
 */
export function neverHoldsBecause(
  comparison: Comparing,
  options: { isEventFilter?: boolean } = {},
): { field: 'value' | 'path'; message: string; reason?: RefusalReason } | undefined {
  if (ORDERING_OPS.has(comparison.op) && !isOrderable(comparison.value))
    return isNumericCode(comparison.value)
      ? {
          field: 'value',
          message:
            'value is a code, not a number (text with a leading zero, as a postcode 01234): codes have no order, compare them with eq or in',
          reason: 'value_is_code',
        }
      : {
          field: 'value',
          message:
            'value must be a number or an ISO date (2026-03-01) for this op: nothing else has an order',
          reason: 'value_not_orderable',
        };
  if (comparison.op === 'in' && Array.isArray(comparison.value) && comparison.value.length === 0)
    return {
      field: 'value',
      message: 'value must list at least one choice for op in',
      reason: 'in_without_choices',
    };
  if (comparison.path.split('.').some((part) => part === ''))
    return {
      field: 'path',
      message: 'path has an empty part (a..b, or a dot at an end): name each part',
      reason: 'path_empty_part',
    };
  return options.isEventFilter ? eventFilterPathProblem(comparison.path) : undefined;
}

const PROPERTIES_PREFIX = 'properties.';

/**
 * Why an event filter's path could never hold: it is read inside the event's properties, so
 * `properties.total` would ask for a property named `properties`. A journey condition's path starts
 * at the event itself (`properties.total` there), which is how people come to write it.
 *
 * @example eventFilterPathProblem('properties.total') // { field: 'path', message: '… write total …' }
 */
export function eventFilterPathProblem(path: string): { field: 'path'; message: string } | undefined {
  if (!path.startsWith(PROPERTIES_PREFIX)) return undefined;
  const inside = path.slice(PROPERTIES_PREFIX.length);
  return {
    field: 'path',
    message: `path is read inside the event's properties: write ${inside}, not ${path}`,
  };
}
