import { type FormEvent, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../app/api.js';
import { useSession } from '../app/session.js';
import { useEventNames } from '../app/workspace-queries.js';
import { errorMessage } from '../components/states.js';
import { type FieldErrors, serverFieldUnder, serverMessage } from './conditions.js';
import {
  ConditionEditor,
  type ErrorAt,
  FiltersEditor,
  Group,
  SelectField,
  TextField,
  under,
  useErrorAt,
} from './fields.js';
import { modelsOf, useSaveIntentSettings } from './intent-settings.js';
import {
  blankModel,
  blankRule,
  formToModel,
  type ModelForm,
  modelToForm,
  nextRuleId,
  type RuleForm,
  type ScoreModelJson,
  validateModel,
} from './model-form.js';

function RuleFields(props: {
  rule: RuleForm;
  /** Saved before: its id names its points in every ledger, so it stays (a new id would start over). */
  isSaved: boolean;
  onChange: (rule: RuleForm) => void;
  errorAt: ErrorAt;
}) {
  const eventNames = useEventNames(useSession().workspace.id);
  const { t } = useTranslation();
  const { rule, onChange, errorAt } = props;
  const set = (change: Partial<RuleForm>) => onChange({ ...rule, ...change });
  const points = (
    <TextField
      label={t('scoring.editor.points')}
      value={rule.points}
      inputMode="decimal"
      onChange={(value) => set({ points: value })}
      error={errorAt('points')}
    />
  );
  return (
    <>
      <div className="scoring-row">
        <SelectField<RuleForm['kind']>
          label={t('scoring.editor.kind')}
          value={rule.kind}
          options={(['event', 'fit'] as const).map((kind) => ({
            value: kind,
            label: t(`scoring.editor.kinds.${kind}`),
          }))}
          onChange={(kind) => set({ kind })}
        />
        <TextField
          label={t('scoring.editor.ruleId')}
          value={rule.id}
          readOnly={props.isSaved}
          onChange={(id) => set({ id })}
          error={errorAt('id')}
          {...(props.isSaved ? { hint: t('scoring.editor.ruleIdHint') } : {})}
        />
        {rule.kind === 'event' && (
          <TextField
            label={t('scoring.editor.event')}
            value={rule.event}
            suggestions={eventNames}
            onChange={(event) => set({ event })}
            error={errorAt('event')}
          />
        )}
        {points}
      </div>
      {rule.kind === 'event' ? (
        <>
          <div className="scoring-row">
            <SelectField<RuleForm['repeat']>
              label={t('scoring.editor.repeat')}
              value={rule.repeat}
              options={(['every_time', 'once'] as const).map((repeat) => ({
                value: repeat,
                label: t(`scoring.editor.repeats.${repeat}`),
              }))}
              onChange={(repeat) => set({ repeat })}
            />
            <TextField
              label={t('scoring.editor.ruleCap')}
              value={rule.cap}
              inputMode="decimal"
              onChange={(cap) => set({ cap })}
              error={errorAt('cap')}
            />
            <TextField
              label={t('scoring.editor.halfLife')}
              value={rule.halfLife}
              onChange={(halfLife) => set({ halfLife })}
              error={errorAt('halfLife')}
              hint={t('scoring.editor.halfLifeHint')}
            />
          </div>
          <FiltersEditor
            filters={rule.where}
            onChange={(where) => set({ where })}
            errorAt={under(errorAt, 'where.')}
          />
        </>
      ) : (
        <ConditionEditor
          condition={rule.when}
          onChange={(when) => set({ when })}
          errorAt={under(errorAt, 'when.')}
        />
      )}
    </>
  );
}

/** Creates a model (`model` undefined) or edits one, and saves it into the workspace settings. */
export function ModelEditor(props: {
  model: ScoreModelJson | undefined;
  models: readonly ScoreModelJson[];
  onDone: (saved: boolean) => void;
}) {
  const { t } = useTranslation();
  const isNew = props.model === undefined;
  const [form, setForm] = useState<ModelForm>(() => (props.model ? modelToForm(props.model) : blankModel()));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<string>();
  const savedAt = useRef(0);
  const save = useSaveIntentSettings();
  const errorAt = useErrorAt(errors);
  const takenIds = props.models.map((model) => model.id).filter((id) => id !== props.model?.id);

  const setRule = (index: number, rule: RuleForm) =>
    setForm({ ...form, rules: form.rules.map((item, i) => (i === index ? rule : item)) });

  function submit(event: FormEvent) {
    event.preventDefault();
    const found = validateModel(form, takenIds);
    setErrors(found);
    setFailure(undefined);
    if (Object.keys(found).length > 0) return;
    const model = formToModel(form);
    save.mutate(
      (current) => {
        const models = modelsOf(current);
        const index = isNew ? -1 : models.findIndex((item) => item.id === props.model?.id);
        savedAt.current = index === -1 ? models.length : index;
        const next =
          index === -1 ? [...models, model] : models.map((item, i) => (i === index ? model : item));
        return { ...current, scoring: { ...current.scoring, models: next } };
      },
      {
        onSuccess: () => props.onDone(true),
        onError: (error) => {
          const path =
            error instanceof ApiError
              ? serverFieldUnder(error.field, `scoring.models.${savedAt.current}.`)
              : undefined;
          if (path && error instanceof ApiError)
            setErrors({ [path]: { message: serverMessage(error.message, error.field) } });
          setFailure(errorMessage(error, t));
        },
      },
    );
  }

  const hasErrors = Object.keys(errors).length > 0;
  return (
    <form className="model-editor" onSubmit={submit} noValidate>
      <h2>
        {isNew ? t('scoring.editor.titleNew') : t('scoring.editor.titleEdit', { name: props.model?.name })}
      </h2>
      {(hasErrors || failure) && (
        <div className="state state-error" role="alert">
          {hasErrors && <p>{t('scoring.fixFields')}</p>}
          {failure && <p>{failure}</p>}
        </div>
      )}
      <div className="scoring-row">
        <TextField
          label={t('scoring.editor.name')}
          value={form.name}
          onChange={(name) => setForm({ ...form, name })}
          error={errorAt('name')}
        />
        <TextField
          label={t('scoring.editor.id')}
          value={form.id}
          readOnly={!isNew}
          onChange={(id) => setForm({ ...form, id })}
          error={errorAt('id')}
          hint={t('scoring.editor.idHint')}
        />
        <TextField
          label={t('scoring.editor.cap')}
          value={form.cap}
          inputMode="decimal"
          onChange={(cap) => setForm({ ...form, cap })}
          error={errorAt('cap')}
          hint={t('scoring.editor.capHint')}
        />
      </div>
      <h3>{t('scoring.editor.rules')}</h3>
      {errorAt('rules') && (
        <p className="field-error" role="alert">
          {errorAt('rules')}
        </p>
      )}
      {form.rules.map((rule, index) => (
        <Group
          // biome-ignore lint/suspicious/noArrayIndexKey: rules are edited in place; their ids change as typed
          key={index}
          legend={t('scoring.editor.rule', { number: index + 1 })}
          removeLabel={t('scoring.editor.removeRule', { number: index + 1 })}
          onRemove={() => setForm({ ...form, rules: form.rules.filter((_, i) => i !== index) })}
        >
          <RuleFields
            rule={rule}
            isSaved={rule.isSaved === true}
            onChange={(changed) => setRule(index, changed)}
            errorAt={under(errorAt, `rules.${index}.`)}
          />
        </Group>
      ))}
      <div className="actions">
        <button
          type="button"
          onClick={() =>
            setForm({ ...form, rules: [...form.rules, blankRule('event', nextRuleId(form.rules))] })
          }
        >
          {t('scoring.editor.addEventRule')}
        </button>
        <button
          type="button"
          onClick={() =>
            setForm({ ...form, rules: [...form.rules, blankRule('fit', nextRuleId(form.rules))] })
          }
        >
          {t('scoring.editor.addFitRule')}
        </button>
      </div>
      <div className="actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          {t('scoring.editor.save')}
        </button>
        <button type="button" onClick={() => props.onDone(false)}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}
