import { type ReactNode, useId } from 'react';
import { useTranslation } from 'react-i18next';
import { Field } from '../components/field.js';
import { Suggestions } from '../components/suggestions.js';
import {
  blankFilter,
  type ConditionForm,
  type FieldErrors,
  type FilterForm,
  VALUE_OPS,
  type ValueOp,
} from './conditions.js';

/** Looks up the error of a field by its path under a prefix, in the console's language. */
export type ErrorAt = (path: string) => string | undefined;

export function useErrorAt(errors: FieldErrors, prefix = ''): ErrorAt {
  const { t } = useTranslation();
  return (path) => {
    const error = errors[`${prefix}${path}`];
    if (!error) return undefined;
    return 'key' in error ? t(`scoring.errors.${error.key}`, error.values) : error.message;
  };
}

/** The same lookup, for the rows of a list: `under(errorAt, 'rules.2.')`. */
export const under =
  (errorAt: ErrorAt, prefix: string): ErrorAt =>
  (path) =>
    errorAt(`${prefix}${path}`);

export function TextField(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | undefined;
  hint?: string;
  placeholder?: string;
  inputMode?: 'decimal' | 'email' | 'text';
  readOnly?: boolean;
  /** Values offered as the user types (event names the workspace has seen). */
  suggestions?: readonly string[] | undefined;
}) {
  const listId = useId();
  return (
    <Field label={props.label} error={props.error} {...(props.hint ? { hint: props.hint } : {})}>
      {(control) => (
        <>
          <input
            {...control}
            value={props.value}
            placeholder={props.placeholder}
            inputMode={props.inputMode}
            readOnly={props.readOnly}
            list={props.suggestions ? listId : undefined}
            onChange={(event) => props.onChange(event.target.value)}
          />
          <Suggestions id={listId} values={props.suggestions} />
        </>
      )}
    </Field>
  );
}

export function SelectField<T extends string>(props: {
  label: string;
  value: T;
  options: ReadonlyArray<{ value: T; label: string }>;
  onChange: (value: T) => void;
  error?: string | undefined;
  hint?: string;
}) {
  return (
    <Field label={props.label} error={props.error} {...(props.hint ? { hint: props.hint } : {})}>
      {(control) => (
        <select
          {...control}
          value={props.value}
          onChange={(event) => props.onChange(event.target.value as T)}
        >
          {props.options.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function CheckboxField(props: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
}) {
  const id = useId();
  return (
    <div className="checkbox-field">
      <input
        id={id}
        type="checkbox"
        checked={props.checked}
        onChange={(event) => props.onChange(event.target.checked)}
      />
      <label htmlFor={id}>{props.label}</label>
    </div>
  );
}

/** A bordered group with a heading and, at its foot, a button that removes it. */
export function Group(props: {
  legend: string;
  onRemove?: () => void;
  removeLabel?: string;
  children: ReactNode;
}) {
  return (
    <fieldset className="scoring-group">
      <legend>{props.legend}</legend>
      {props.children}
      {props.onRemove && (
        <div className="group-actions">
          <button type="button" className="danger" onClick={props.onRemove}>
            {props.removeLabel}
          </button>
        </div>
      )}
    </fieldset>
  );
}

/** Path, comparison and value of a property filter or a trait condition. */
function ComparisonFields(props: {
  pathLabel: string;
  filter: FilterForm;
  onChange: (filter: FilterForm) => void;
  errorAt: ErrorAt;
}) {
  const { t } = useTranslation();
  const { filter } = props;
  const hasValue = filter.op !== 'exists' && filter.op !== 'not_exists';
  return (
    <>
      <TextField
        label={props.pathLabel}
        value={filter.path}
        onChange={(path) => props.onChange({ ...filter, path })}
        error={props.errorAt('path')}
      />
      <SelectField<ValueOp>
        label={t('scoring.conditions.op')}
        value={filter.op}
        options={VALUE_OPS.map((op) => ({ value: op, label: t(`scoring.conditions.ops.${op}`) }))}
        onChange={(op) => props.onChange({ ...filter, op })}
      />
      {hasValue && (
        <TextField
          label={t('scoring.conditions.value')}
          value={filter.value}
          onChange={(value) => props.onChange({ ...filter, value })}
          error={props.errorAt('value')}
          hint={t('scoring.conditions.valueHint')}
        />
      )}
    </>
  );
}

export function FiltersEditor(props: {
  filters: FilterForm[];
  onChange: (filters: FilterForm[]) => void;
  errorAt: ErrorAt;
}) {
  const { t } = useTranslation();
  const { filters, onChange } = props;
  return (
    <div className="filters">
      <h4>{t('scoring.conditions.filters')}</h4>
      {filters.map((filter, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: filters have no identity but their place
        <div className="scoring-row" key={index}>
          <ComparisonFields
            pathLabel={t('scoring.conditions.property')}
            filter={filter}
            onChange={(changed) => onChange(filters.map((item, i) => (i === index ? changed : item)))}
            errorAt={under(props.errorAt, `${index}.`)}
          />
          <button type="button" onClick={() => onChange(filters.filter((_, i) => i !== index))}>
            {t('scoring.conditions.removeFilter')}
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...filters, blankFilter()])}>
        {t('scoring.conditions.addFilter')}
      </button>
    </div>
  );
}

export function ConditionEditor(props: {
  condition: ConditionForm;
  onChange: (condition: ConditionForm) => void;
  errorAt: ErrorAt;
}) {
  const { t } = useTranslation();
  const { condition } = props;
  return (
    <div className="scoring-row">
      <SelectField<ConditionForm['type']>
        label={t('scoring.conditions.type')}
        value={condition.type}
        options={(['trait', 'account_trait'] as const).map((type) => ({
          value: type,
          label: t(`scoring.conditions.types.${type}`),
        }))}
        onChange={(type) => props.onChange({ ...condition, type })}
      />
      <ComparisonFields
        pathLabel={t('scoring.conditions.trait')}
        filter={condition}
        onChange={(filter) => props.onChange({ ...condition, ...filter })}
        errorAt={props.errorAt}
      />
    </div>
  );
}
