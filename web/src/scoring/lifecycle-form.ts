import {
  businessDurationMs,
  fitsInBusinessYear,
  MAX_BUSINESS_WEEKS,
} from '../../../src/core/business-year.js';
import { durationMs, MAX_DURATION_MS } from '../../../src/core/duration-ms.js';
import {
  blankCondition,
  type ConditionForm,
  conditionToForm,
  DURATION,
  type FieldErrors,
  type FilterForm,
  filterToForm,
  formToCondition,
  formToFilter,
  type PropertyFilterJson,
  parseNumber,
  type TraitConditionJson,
  validateEventFilter,
  validateFilter,
} from './conditions.js';

/** `lifecycle` in the settings document. */
export interface LifecycleJson {
  stages: string[];
  rules: StageRuleJson[];
  recycleTo: string;
}
export interface ScoreThresholdJson {
  model: string;
  atLeast: number;
}
export type StageRuleJson =
  | { kind: 'score'; to: string; model: string; atLeast: number; and?: ScoreThresholdJson[] }
  | { kind: 'event'; to: string; event: string; where?: PropertyFilterJson[] };

export interface SalesOwnerJson {
  id: string;
  name: string;
  email: string;
}
/** `handOff` in the settings document. */
export interface HandOffJson {
  stage: string;
  owners: SalesOwnerJson[];
  assignment: Array<{ when: TraitConditionJson; owner: string }>;
  destination?: string;
  acceptWithin: string;
  businessHours?: BusinessHoursJson;
  recycleOnMiss: boolean;
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
/** When sales works: the SLA counts only these hours, in the workspace's time zone. */
export interface BusinessHoursJson {
  days: Weekday[];
  start: string;
  end: string;
}

export interface ScoreThresholdForm {
  model: string;
  atLeast: string;
}
export interface StageRuleForm {
  kind: 'score' | 'event';
  to: string;
  model: string;
  atLeast: string;
  /** Other models' thresholds that must hold at the same time. */
  and: ScoreThresholdForm[];
  event: string;
  where: FilterForm[];
}
export interface AssignmentForm {
  when: ConditionForm;
  owner: string;
}

/** Lifecycle and hand-off edited together: the hand-off names a stage and needs the lifecycle. */
export interface IntentForm {
  hasLifecycle: boolean;
  /** Comma-separated, in order. */
  stages: string;
  rules: StageRuleForm[];
  recycleTo: string;
  hasHandOff: boolean;
  stage: string;
  owners: SalesOwnerJson[];
  assignment: AssignmentForm[];
  /** '' for none. */
  destination: string;
  acceptWithin: string;
  /** Whether the SLA counts only business hours (else calendar time). */
  hasBusinessHours: boolean;
  businessHours: BusinessHoursJson;
  recycleOnMiss: boolean;
}

export const DEFAULT_BUSINESS_HOURS: BusinessHoursJson = {
  days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  start: '09:00',
  end: '17:00',
};
const LOCAL_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

export const DEFAULT_STAGES = ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer'];
const STAGE = /^[a-z0-9_-]{1,64}$/;
const OWNER_ID = /^[a-z0-9_.@-]{1,100}$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const blankStageRule = (): StageRuleForm => ({
  kind: 'score',
  to: 'mql',
  model: '',
  atLeast: '',
  and: [],
  event: '',
  where: [],
});
/** Most other scores a rule may ask for besides its own (the server's limit). */
export const MAX_ALSO_SCORES = 4;
export const blankOwner = (): SalesOwnerJson => ({ id: '', name: '', email: '' });
export const blankAssignment = (owner = ''): AssignmentForm => ({ when: blankCondition(), owner });

export function splitStages(text: string): string[] {
  return text
    .split(',')
    .map((stage) => stage.trim())
    .filter((stage) => stage !== '');
}

export function intentToForm(
  lifecycle: LifecycleJson | undefined,
  handOff: HandOffJson | undefined,
): IntentForm {
  return {
    hasLifecycle: lifecycle !== undefined,
    stages: (lifecycle?.stages ?? DEFAULT_STAGES).join(', '),
    rules: (lifecycle?.rules ?? []).map((rule) =>
      rule.kind === 'score'
        ? {
            ...blankStageRule(),
            kind: 'score',
            to: rule.to,
            model: rule.model,
            atLeast: String(rule.atLeast),
            and: (rule.and ?? []).map((threshold) => ({
              model: threshold.model,
              atLeast: String(threshold.atLeast),
            })),
          }
        : {
            ...blankStageRule(),
            kind: 'event',
            to: rule.to,
            event: rule.event,
            where: (rule.where ?? []).map(filterToForm),
          },
    ),
    recycleTo: lifecycle?.recycleTo ?? 'lead',
    hasHandOff: handOff !== undefined,
    stage: handOff?.stage ?? 'mql',
    owners: handOff?.owners.map((owner) => ({ ...owner })) ?? [blankOwner()],
    assignment: (handOff?.assignment ?? []).map((rule) => ({
      when: conditionToForm(rule.when),
      owner: rule.owner,
    })),
    destination: handOff?.destination ?? '',
    acceptWithin: handOff?.acceptWithin ?? '2d',
    hasBusinessHours: handOff?.businessHours !== undefined,
    businessHours: { ...(handOff?.businessHours ?? DEFAULT_BUSINESS_HOURS) },
    recycleOnMiss: handOff?.recycleOnMiss ?? false,
  };
}

/** The `lifecycle` and `handOff` parts of a form {@link validateIntent} found no fault with; undefined removes a part. */
export function formToIntent(form: IntentForm): { lifecycle?: LifecycleJson; handOff?: HandOffJson } {
  if (!form.hasLifecycle) return {};
  const lifecycle: LifecycleJson = {
    stages: splitStages(form.stages),
    rules: form.rules.map(
      (rule): StageRuleJson =>
        rule.kind === 'score'
          ? {
              kind: 'score',
              to: rule.to,
              model: rule.model,
              atLeast: parseNumber(rule.atLeast) ?? 0,
              ...(rule.and.length > 0
                ? {
                    and: rule.and.map((threshold) => ({
                      model: threshold.model,
                      atLeast: parseNumber(threshold.atLeast) ?? 0,
                    })),
                  }
                : {}),
            }
          : { kind: 'event', to: rule.to, event: rule.event.trim(), where: rule.where.map(formToFilter) },
    ),
    recycleTo: form.recycleTo,
  };
  if (!form.hasHandOff) return { lifecycle };
  return {
    lifecycle,
    handOff: {
      stage: form.stage,
      owners: form.owners.map((owner) => ({
        id: owner.id.trim(),
        name: owner.name.trim(),
        email: owner.email.trim(),
      })),
      assignment: form.assignment.map((rule) => ({ when: formToCondition(rule.when), owner: rule.owner })),
      ...(form.destination ? { destination: form.destination } : {}),
      acceptWithin: form.acceptWithin.trim(),
      ...(form.hasBusinessHours
        ? {
            businessHours: {
              // In the week's order, whatever order they were ticked in.
              days: WEEKDAYS.filter((day) => form.businessHours.days.includes(day)),
              start: form.businessHours.start,
              end: form.businessHours.end,
            },
          }
        : {}),
      recycleOnMiss: form.recycleOnMiss,
    },
  };
}

/** What the server would refuse, by the path of the settings field (`lifecycle.rules.1.atLeast`, `handOff.owners.0.email`). */
export function validateIntent(form: IntentForm, modelIds: readonly string[]): FieldErrors {
  const errors: FieldErrors = {};
  if (!form.hasLifecycle) return errors;
  const stages = splitStages(form.stages);
  if (stages.length < 2 || stages.length > 20) errors['lifecycle.stages'] = { key: 'stagesMin' };
  else if (stages.some((stage) => !STAGE.test(stage))) errors['lifecycle.stages'] = { key: 'id' };
  else if (new Set(stages).size !== stages.length) errors['lifecycle.stages'] = { key: 'duplicate' };
  const isStage = (stage: string) => stages.includes(stage);
  for (const [index, rule] of form.rules.entries()) {
    const at = `lifecycle.rules.${index}.`;
    if (!isStage(rule.to)) errors[`${at}to`] = { key: 'unknownStage' };
    if (rule.kind === 'score') {
      const thresholds = [{ model: rule.model, atLeast: rule.atLeast }, ...rule.and];
      const named = new Set<string>();
      for (const [thresholdIndex, threshold] of thresholds.entries()) {
        const field = thresholdIndex === 0 ? at : `${at}and.${thresholdIndex - 1}.`;
        if (!modelIds.includes(threshold.model)) errors[`${field}model`] = { key: 'required' };
        else if (named.has(threshold.model)) errors[`${field}model`] = { key: 'duplicate' };
        named.add(threshold.model);
        if (!threshold.atLeast.trim()) errors[`${field}atLeast`] = { key: 'required' };
        else if (parseNumber(threshold.atLeast) === undefined) errors[`${field}atLeast`] = { key: 'number' };
      }
    } else {
      if (!rule.event.trim()) errors[`${at}event`] = { key: 'required' };
      for (const [filterIndex, filter] of rule.where.entries())
        validateEventFilter(filter, `${at}where.${filterIndex}.`, errors);
    }
  }
  if (!isStage(form.recycleTo)) errors['lifecycle.recycleTo'] = { key: 'unknownStage' };
  if (!form.hasHandOff) return errors;
  if (!isStage(form.stage)) errors['handOff.stage'] = { key: 'unknownStage' };
  if (form.owners.length === 0) errors['handOff.owners'] = { key: 'noOwners' };
  const ownerIds = new Set<string>();
  for (const [index, owner] of form.owners.entries()) {
    const at = `handOff.owners.${index}.`;
    if (owner.id.trim() === '') errors[`${at}id`] = { key: 'required' };
    else if (!OWNER_ID.test(owner.id.trim())) errors[`${at}id`] = { key: 'id' };
    else if (ownerIds.has(owner.id.trim())) errors[`${at}id`] = { key: 'duplicate' };
    ownerIds.add(owner.id.trim());
    if (!owner.name.trim()) errors[`${at}name`] = { key: 'required' };
    if (!EMAIL.test(owner.email.trim())) errors[`${at}email`] = { key: 'email' };
  }
  for (const [index, rule] of form.assignment.entries()) {
    validateFilter(rule.when, `handOff.assignment.${index}.when.`, errors);
    if (!ownerIds.has(rule.owner)) errors[`handOff.assignment.${index}.owner`] = { key: 'unknownOwner' };
  }
  const within = form.acceptWithin.trim();
  if (!DURATION.test(within)) errors['handOff.acceptWithin'] = { key: 'duration' };
  else if (durationMs(within) === 0) errors['handOff.acceptWithin'] = { key: 'durationZero' };
  else if (durationMs(within) > MAX_DURATION_MS) errors['handOff.acceptWithin'] = { key: 'durationMax' };
  if (form.hasBusinessHours) {
    const { days, start, end } = form.businessHours;
    if (days.length === 0) errors['handOff.businessHours.days'] = { key: 'noDays' };
    if (!LOCAL_TIME.test(start)) errors['handOff.businessHours.start'] = { key: 'time' };
    if (!LOCAL_TIME.test(end)) errors['handOff.businessHours.end'] = { key: 'time' };
    else if (LOCAL_TIME.test(start) && end <= start)
      errors['handOff.businessHours.end'] = { key: 'endAfterStart' };
    const isWeekValid = !Object.keys(errors).some((path) => path.startsWith('handOff.businessHours.'));
    if (
      isWeekValid &&
      !errors['handOff.acceptWithin'] &&
      !fitsInBusinessYear(businessDurationMs(within, form.businessHours), form.businessHours)
    )
      errors['handOff.acceptWithin'] = {
        key: 'beyondBusinessYear',
        values: {
          weeks: String(MAX_BUSINESS_WEEKS),
          // Days count working days: a year of working weeks is a whole number of them.
          most: `${MAX_BUSINESS_WEEKS * form.businessHours.days.length}d`,
        },
      };
  }
  return errors;
}

/**
 * What an SLA counted in business hours comes to, for the form to say beside it: `2d` with 09:00–17:00
 * is 16 business hours, two working days; `20h` is two and a half. Undefined while the duration or the
 * hours are not valid.
 */
export function businessSpan(
  within: string,
  hours: BusinessHoursJson,
): { hours: number; workingDays: number } | undefined {
  const text = within.trim();
  if (!DURATION.test(text) || !LOCAL_TIME.test(hours.start) || !LOCAL_TIME.test(hours.end)) return undefined;
  const minutes = (time: string) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
  const daily = minutes(hours.end) - minutes(hours.start);
  if (daily <= 0) return undefined;
  const total = businessDurationMs(text, hours) / 60_000;
  // Under an hour there is nothing to work out: it is that many business minutes.
  if (total < 60) return undefined;
  return { hours: Math.round((total / 60) * 10) / 10, workingDays: Math.round((total / daily) * 10) / 10 };
}
