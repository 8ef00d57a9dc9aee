/**
 * How the rule language compares a trait or a property with a value (the server's
 * `src/core/segment-definition.ts`): segment conditions and score rules share it.
 */
export const VALUE_OPS = [
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'contains',
  'in',
  'exists',
  'not_exists',
  'within_last',
  'not_within_last',
] as const;
export type ValueOp = (typeof VALUE_OPS)[number];
