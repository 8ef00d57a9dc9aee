import { halfLifeProblem } from '../../../src/core/half-life.js';
import { MAX_IN_LIST_VALUES } from '../../../src/core/in-lists.js';
import {
  blankCondition,
  type ConditionForm,
  conditionToForm,
  DURATION,
  type FieldError,
  type FieldErrors,
  type FilterForm,
  filterToForm,
  formToCondition,
  formToFilter,
  inListLength,
  type PropertyFilterJson,
  parseNumber,
  type TraitConditionJson,
  validateEventFilter,
  validateFilter,
} from './conditions.js';

/** A score model as the settings document holds it (`scoring.models[]`). */
export interface ScoreModelJson {
  id: string;
  name: string;
  cap?: number;
  rules: ScoreRuleJson[];
}
export type ScoreRuleJson =
  | {
      id: string;
      kind: 'event';
      event: string;
      where?: PropertyFilterJson[];
      points: number;
      repeat?: 'every_time' | 'once';
      cap?: number;
      halfLife?: string;
    }
  | { id: string; kind: 'fit'; when: TraitConditionJson; points: number };

/**
 * One rule as the editor holds it: every field of both kinds, as typed, so that switching a rule from
 * event to fit and back loses nothing.
 */
export interface RuleForm {
  kind: 'event' | 'fit';
  id: string;
  /** Loaded from the saved model: its id names its points in every ledger and stays as it is. */
  isSaved?: boolean;
  points: string;
  event: string;
  where: FilterForm[];
  repeat: 'every_time' | 'once';
  cap: string;
  halfLife: string;
  when: ConditionForm;
}

export interface ModelForm {
  id: string;
  name: string;
  cap: string;
  rules: RuleForm[];
}

const ID = /^[a-z0-9_-]{1,64}$/;
const MAX_POINTS = 10_000;
const MAX_CAP = 1_000_000;

/** `Lead engagement!` → `lead-engagement`: an id for a model named so. */
export function slugify(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
}

export const blankRule = (kind: RuleForm['kind'], id: string): RuleForm => ({
  kind,
  id,
  points: '',
  event: '',
  where: [],
  repeat: 'every_time',
  cap: '',
  halfLife: '',
  when: blankCondition(),
});

export const blankModel = (): ModelForm => ({
  id: '',
  name: '',
  cap: '',
  rules: [blankRule('event', 'rule_1')],
});

/** A rule id not yet used in the model: `rule_3`. */
export function nextRuleId(rules: readonly RuleForm[]): string {
  const used = new Set(rules.map((rule) => rule.id));
  let n = rules.length + 1;
  while (used.has(`rule_${n}`)) n++;
  return `rule_${n}`;
}

const numberText = (value: number | undefined) => (value === undefined ? '' : String(value));

export function modelToForm(model: ScoreModelJson): ModelForm {
  return {
    id: model.id,
    name: model.name,
    cap: numberText(model.cap),
    rules: model.rules.map((rule) =>
      rule.kind === 'event'
        ? {
            ...blankRule('event', rule.id),
            isSaved: true,
            points: String(rule.points),
            event: rule.event,
            where: (rule.where ?? []).map(filterToForm),
            repeat: rule.repeat ?? 'every_time',
            cap: numberText(rule.cap),
            halfLife: rule.halfLife ?? '',
          }
        : {
            ...blankRule('fit', rule.id),
            isSaved: true,
            points: String(rule.points),
            when: conditionToForm(rule.when),
          },
    ),
  };
}

/** The model's id: the one typed, else one made from its name. */
export const modelId = (form: ModelForm) => form.id.trim() || slugify(form.name);

/** The settings JSON of a form that {@link validateModel} found no fault with. */
export function formToModel(form: ModelForm): ScoreModelJson {
  const cap = parseNumber(form.cap);
  return {
    id: modelId(form),
    name: form.name.trim(),
    ...(cap === undefined ? {} : { cap }),
    rules: form.rules.map((rule): ScoreRuleJson => {
      const points = parseNumber(rule.points) ?? 0;
      if (rule.kind === 'fit')
        return { id: rule.id.trim(), kind: 'fit', when: formToCondition(rule.when), points };
      const ruleCap = parseNumber(rule.cap);
      return {
        id: rule.id.trim(),
        kind: 'event',
        event: rule.event.trim(),
        where: rule.where.map(formToFilter),
        points,
        repeat: rule.repeat,
        ...(ruleCap === undefined ? {} : { cap: ruleCap }),
        ...(rule.halfLife.trim() ? { halfLife: rule.halfLife.trim() } : {}),
      };
    }),
  };
}

function checkCap(text: string, path: string, errors: FieldErrors) {
  if (!text.trim()) return;
  const cap = parseNumber(text);
  if (cap === undefined) errors[path] = { key: 'number' };
  else if (cap <= 0 || cap > MAX_CAP) errors[path] = { key: 'positive' };
}

/**
 * What the server would refuse, found before sending, by field path (`rules.2.halfLife`).
 * `takenIds` are the other models' ids, which this one must not reuse.
 */
export function validateModel(form: ModelForm, takenIds: readonly string[]): FieldErrors {
  const errors: FieldErrors = {};
  if (!form.name.trim()) errors.name = { key: 'required' };
  else if (form.name.trim().length > 200) errors.name = { key: 'tooLong' };
  const id = modelId(form);
  if (!ID.test(id)) errors.id = { key: 'id' };
  else if (takenIds.includes(id)) errors.id = { key: 'duplicate' };
  checkCap(form.cap, 'cap', errors);
  if (form.rules.length === 0) errors.rules = { key: 'noRules' };
  const seen = new Set<string>();
  for (const [index, rule] of form.rules.entries()) {
    const at = `rules.${index}.`;
    const ruleId = rule.id.trim();
    if (!ID.test(ruleId)) errors[`${at}id`] = { key: 'id' };
    else if (seen.has(ruleId)) errors[`${at}id`] = { key: 'duplicate' };
    seen.add(ruleId);
    const points = parseNumber(rule.points);
    if (!rule.points.trim()) errors[`${at}points`] = { key: 'required' };
    else if (points === undefined) errors[`${at}points`] = { key: 'number' };
    else if (points === 0) errors[`${at}points`] = { key: 'nonZero' };
    else if (Math.abs(points) > MAX_POINTS) errors[`${at}points`] = { key: 'pointsRange' };
    if (rule.kind === 'fit') {
      validateFilter(rule.when, `${at}when.`, errors);
      continue;
    }
    if (!rule.event.trim()) errors[`${at}event`] = { key: 'required' };
    else if (rule.event.trim().length > 255) errors[`${at}event`] = { key: 'tooLong' };
    for (const [filterIndex, filter] of rule.where.entries())
      validateEventFilter(filter, `${at}where.${filterIndex}.`, errors);
    checkCap(rule.cap, `${at}cap`, errors);
    const halfLife = halfLifeError(rule.halfLife.trim());
    if (halfLife) errors[`${at}halfLife`] = halfLife;
  }
  const tooMany = inListPastLimit(form);
  if (tooMany) errors[tooMany] = { key: 'tooManyValues', values: { limit: String(MAX_IN_LIST_VALUES) } };
  return errors;
}

/**
 * The field of the `in` list, in the order the form shows them, whose values take the model's lists
 * past the server's limit in all (MAX_IN_LIST_VALUES): marked there, as the one that went over.
 */
function inListPastLimit(form: ModelForm): string | undefined {
  let values = 0;
  for (const [index, rule] of form.rules.entries()) {
    const boxes: Array<[string, FilterForm]> =
      rule.kind === 'fit'
        ? [[`rules.${index}.when.value`, rule.when]]
        : rule.where.map((filter, filterIndex) => [`rules.${index}.where.${filterIndex}.value`, filter]);
    for (const [field, filter] of boxes) {
      values += inListLength(filter);
      if (values > MAX_IN_LIST_VALUES) return field;
    }
  }
  return undefined;
}

const HALF_LIFE_ERRORS = { too_short: 'halfLifeMin', too_long: 'durationMax' } as const;

/** What is wrong with a half-life ('' for none), by the server's own rule (core/half-life.ts). */
function halfLifeError(text: string): FieldError | undefined {
  if (!text) return undefined;
  if (!DURATION.test(text)) return { key: 'duration' };
  const problem = halfLifeProblem(text);
  return problem ? { key: HALF_LIFE_ERRORS[problem] } : undefined;
}
