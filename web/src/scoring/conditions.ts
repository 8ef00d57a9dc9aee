import { eventFilterPathProblem } from '../../../src/core/holdable-comparison.js';
import { VALUE_OPS, type ValueOp } from '../app/comparisons.js';
import { formatList, formatLiteral, parseList, parseLiteral, splitList } from '../app/typed-values.js';

/**
 * Property filters and trait conditions as the settings document holds them, and as the scoring forms
 * edit them: every value as the text typed, turned into typed JSON only on saving.
 */

export { VALUE_OPS, type ValueOp };

/** `30s`, `15m`, `2h`, `3d`, `1w`: what the server accepts as a duration. */
export const DURATION = /^\d+(\.\d+)?[smhdw]$/;

/**
 * Why a field is wrong: one of our messages (a key under `scoring.errors`, with the values it
 * names), or the server's own words.
 */
export type FieldError = { key: ErrorKey; values?: Record<string, string> } | { message: string };
export type ErrorKey =
  | 'required'
  | 'number'
  | 'nonZero'
  | 'pointsRange'
  | 'positive'
  | 'duration'
  | 'id'
  | 'duplicate'
  | 'noRules'
  | 'email'
  | 'unknownOwner'
  | 'unknownStage'
  | 'stagesMin'
  | 'noOwners'
  | 'tooLong'
  | 'noDays'
  | 'time'
  | 'endAfterStart'
  | 'beyondBusinessYear'
  | 'durationZero'
  | 'durationMax'
  | 'halfLifeMin'
  | 'propertiesPath'
  | 'tooManyValues';
/** Errors by the dotted path of the field they belong to, relative to the form (`rules.2.points`). */
export type FieldErrors = Record<string, FieldError>;

export interface PropertyFilterJson {
  path: string;
  op: ValueOp;
  value?: unknown;
}
export interface TraitConditionJson extends PropertyFilterJson {
  type: 'trait' | 'account_trait';
}

export interface FilterForm {
  path: string;
  op: ValueOp;
  value: string;
}
export interface ConditionForm extends FilterForm {
  type: 'trait' | 'account_trait';
}

export const blankFilter = (): FilterForm => ({ path: '', op: 'eq', value: '' });
export const blankCondition = (): ConditionForm => ({ type: 'trait', path: '', op: 'eq', value: '' });

const takesNoValue = (op: ValueOp) => op === 'exists' || op === 'not_exists';
const takesDuration = (op: ValueOp) => op === 'within_last' || op === 'not_within_last';

/** What a value box shows: typed as the segment builder types it, so a stored value reads back unchanged. */
export function valueToText(value: unknown): string {
  if (value === undefined) return '';
  return Array.isArray(value) ? formatList(value) : formatLiteral(value);
}

/** How many values a box's `in` list holds (0 for any other comparison), as they would be sent. */
export const inListLength = (form: FilterForm) => (form.op === 'in' ? splitList(form.value).length : 0);

export function textToValue(op: ValueOp, text: string): unknown {
  if (takesNoValue(op)) return undefined;
  if (takesDuration(op)) return text.trim();
  if (op === 'in') return parseList(text);
  return parseLiteral(text);
}

export const filterToForm = (filter: PropertyFilterJson): FilterForm => ({
  path: filter.path,
  op: filter.op,
  value: valueToText(filter.value),
});

export function formToFilter(form: FilterForm): PropertyFilterJson {
  const value = textToValue(form.op, form.value);
  return value === undefined
    ? { path: form.path.trim(), op: form.op }
    : { path: form.path.trim(), op: form.op, value };
}

export const conditionToForm = (condition: TraitConditionJson): ConditionForm => ({
  type: condition.type,
  ...filterToForm(condition),
});

export const formToCondition = (form: ConditionForm): TraitConditionJson => ({
  type: form.type,
  ...formToFilter(form),
});

/** Checks a filter's path and value; errors go under `prefix` (`rules.0.where.1.`). */
export function validateFilter(form: FilterForm, prefix: string, errors: FieldErrors): void {
  if (!form.path.trim()) errors[`${prefix}path`] = { key: 'required' };
  else if (form.path.trim().length > 200) errors[`${prefix}path`] = { key: 'tooLong' };
  if (takesNoValue(form.op)) return;
  if (!form.value.trim()) errors[`${prefix}value`] = { key: 'required' };
  else if (takesDuration(form.op) && !DURATION.test(form.value.trim()))
    errors[`${prefix}value`] = { key: 'duration' };
}

/**
 * Checks an event rule's filter, whose path is read inside the event's properties as the server
 * reads it (`total`, not `properties.total`).
 */
export function validateEventFilter(form: FilterForm, prefix: string, errors: FieldErrors): void {
  validateFilter(form, prefix, errors);
  if (!errors[`${prefix}path`] && eventFilterPathProblem(form.path.trim()))
    errors[`${prefix}path`] = { key: 'propertiesPath' };
}

/** A number typed by a person: `12`, `-3`, `2.5` or `2,5`; undefined when it is none. */
export function parseNumber(text: string): number | undefined {
  const trimmed = text.trim();
  // A thousands separator reads as a decimal one in the other language (1,000 in English, 1.000 in
  // Italian): such a number is not guessed at, it is asked for again without one.
  if (trimmed === '' || THOUSANDS.test(trimmed)) return undefined;
  const value = Number(trimmed.replace(',', '.'));
  return Number.isFinite(value) ? value : undefined;
}

/** Digits grouped by thousands (`1,000`, `12.500`, `1,000,000`), where a decimal part could not be told apart. */
const THOUSANDS = /^[+-]?[1-9]\d{0,2}([.,]\d{3})+$/;

/** The form path a server error names, when it lies under `prefix` (`scoring.models.2.`). */
export function serverFieldUnder(field: string | undefined, prefix: string): string | undefined {
  if (!field?.startsWith(prefix)) return undefined;
  return field.slice(prefix.length) || undefined;
}

/** The server's message without the field it starts with (`rules.0.points: must not be 0` → `must not be 0`). */
export function serverMessage(message: string, field: string | undefined): string {
  return field && message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
}
