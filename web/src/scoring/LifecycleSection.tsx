import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { useEventNames } from '../app/workspace-queries.js';
import { errorMessage } from '../components/states.js';
import { type FieldErrors, serverMessage } from './conditions.js';
import {
  CheckboxField,
  ConditionEditor,
  type ErrorAt,
  FiltersEditor,
  Group,
  SelectField,
  TextField,
  under,
  useErrorAt,
} from './fields.js';
import { modelsOf, type SettingsDocument, useSaveIntentSettings, withPart } from './intent-settings.js';
import {
  type BusinessHoursJson,
  blankAssignment,
  blankOwner,
  blankStageRule,
  businessSpan,
  formToIntent,
  type IntentForm,
  intentToForm,
  MAX_ALSO_SCORES,
  type StageRuleForm,
  splitStages,
  validateIntent,
  WEEKDAYS,
  type Weekday,
} from './lifecycle-form.js';

/** The days (named in the console's language) and the hours sales works, for an SLA in business hours. */
function BusinessHoursFields(props: {
  hours: BusinessHoursJson;
  timeZone: string;
  onChange: (hours: BusinessHoursJson) => void;
  errorAt: ErrorAt;
}) {
  const { t, i18n } = useTranslation();
  const { hours, onChange, errorAt } = props;
  // 2 March 2026 was a Monday: WEEKDAYS[i] falls on the (2 + i)th, whatever the locale calls it.
  const dayName = (index: number) =>
    new Intl.DateTimeFormat(i18n.language, { weekday: 'long', timeZone: 'UTC' }).format(
      new Date(Date.UTC(2026, 2, 2 + index)),
    );
  const toggle = (day: Weekday, isOn: boolean) =>
    onChange({ ...hours, days: isOn ? [...hours.days, day] : hours.days.filter((other) => other !== day) });
  const daysErrorId = useId();
  const daysError = errorAt('days');
  return (
    <>
      <p className="hint">{t('scoring.handOff.businessHoursHint', { timeZone: props.timeZone })}</p>
      {/* The days' error is the group's description, so a screen reader reads it on entering the group. */}
      <fieldset
        className="scoring-group business-days"
        {...(daysError ? { 'aria-describedby': daysErrorId } : {})}
      >
        <legend>{t('scoring.handOff.businessDays')}</legend>
        {WEEKDAYS.map((day, index) => (
          <CheckboxField
            key={day}
            label={dayName(index)}
            checked={hours.days.includes(day)}
            onChange={(isOn) => toggle(day, isOn)}
          />
        ))}
        {daysError && (
          <p id={daysErrorId} className="field-error" role="alert">
            {daysError}
          </p>
        )}
      </fieldset>
      <div className="scoring-row">
        <TextField
          label={t('scoring.handOff.businessStart')}
          value={hours.start}
          onChange={(start) => onChange({ ...hours, start })}
          error={errorAt('start')}
          placeholder="09:00"
        />
        <TextField
          label={t('scoring.handOff.businessEnd')}
          value={hours.end}
          onChange={(end) => onChange({ ...hours, end })}
          error={errorAt('end')}
          placeholder="17:00"
        />
      </div>
    </>
  );
}

/** A select over the stages typed so far, with a blank first choice while none is picked. */
function StageSelect(props: {
  label: string;
  stages: string[];
  value: string;
  onChange: (stage: string) => void;
  error: string | undefined;
}) {
  const { t } = useTranslation();
  const stages =
    props.stages.includes(props.value) || !props.value ? props.stages : [props.value, ...props.stages];
  return (
    <SelectField
      label={props.label}
      value={props.value}
      options={[
        ...(props.value ? [] : [{ value: '', label: t('scoring.lifecycle.chooseStage') }]),
        ...stages.map((stage) => ({ value: stage, label: stage })),
      ]}
      onChange={props.onChange}
      error={props.error}
    />
  );
}

function StageRuleFields(props: {
  rule: StageRuleForm;
  stages: string[];
  modelOptions: Array<{ value: string; label: string }>;
  onChange: (rule: StageRuleForm) => void;
  errorAt: ErrorAt;
}) {
  const eventNames = useEventNames(useSession().workspace.id);
  const { t } = useTranslation();
  const { rule, errorAt } = props;
  const set = (change: Partial<StageRuleForm>) => props.onChange({ ...rule, ...change });
  return (
    <>
      <div className="scoring-row">
        <SelectField<StageRuleForm['kind']>
          label={t('scoring.lifecycle.kind')}
          value={rule.kind}
          options={(['score', 'event'] as const).map((kind) => ({
            value: kind,
            label: t(`scoring.lifecycle.kinds.${kind}`),
          }))}
          onChange={(kind) => set({ kind })}
        />
        {rule.kind === 'score' ? (
          <>
            <SelectField
              label={t('scoring.lifecycle.model')}
              value={rule.model}
              options={[{ value: '', label: t('scoring.lifecycle.chooseModel') }, ...props.modelOptions]}
              onChange={(model) => set({ model })}
              error={errorAt('model')}
            />
            <TextField
              label={t('scoring.lifecycle.atLeast')}
              value={rule.atLeast}
              inputMode="decimal"
              onChange={(atLeast) => set({ atLeast })}
              error={errorAt('atLeast')}
            />
          </>
        ) : (
          <TextField
            label={t('scoring.lifecycle.event')}
            value={rule.event}
            suggestions={eventNames}
            onChange={(event) => set({ event })}
            error={errorAt('event')}
          />
        )}
        <StageSelect
          label={t('scoring.lifecycle.to')}
          stages={props.stages}
          value={rule.to}
          onChange={(to) => set({ to })}
          error={errorAt('to')}
        />
      </div>
      {rule.kind === 'score' && (
        <>
          {rule.and.length > 0 && <p className="hint">{t('scoring.lifecycle.alsoScoresHint')}</p>}
          {rule.and.map((threshold, index) => {
            const setThreshold = (change: Partial<typeof threshold>) =>
              set({ and: rule.and.map((item, i) => (i === index ? { ...item, ...change } : item)) });
            return (
              <Group
                // biome-ignore lint/suspicious/noArrayIndexKey: conditions have no identity but their place
                key={index}
                legend={t('scoring.lifecycle.alsoScore', { number: index + 1 })}
                removeLabel={t('scoring.lifecycle.removeAlsoScore', { number: index + 1 })}
                onRemove={() => set({ and: rule.and.filter((_, i) => i !== index) })}
              >
                <div className="scoring-row">
                  <SelectField
                    label={t('scoring.lifecycle.model')}
                    value={threshold.model}
                    options={[
                      { value: '', label: t('scoring.lifecycle.chooseModel') },
                      ...props.modelOptions,
                    ]}
                    onChange={(model) => setThreshold({ model })}
                    error={errorAt(`and.${index}.model`)}
                  />
                  <TextField
                    label={t('scoring.lifecycle.atLeast')}
                    value={threshold.atLeast}
                    inputMode="decimal"
                    onChange={(atLeast) => setThreshold({ atLeast })}
                    error={errorAt(`and.${index}.atLeast`)}
                  />
                </div>
              </Group>
            );
          })}
          {rule.and.length < MAX_ALSO_SCORES && (
            <div className="actions">
              <button type="button" onClick={() => set({ and: [...rule.and, { model: '', atLeast: '' }] })}>
                {t('scoring.lifecycle.addAlsoScore')}
              </button>
            </div>
          )}
        </>
      )}
      {rule.kind === 'event' && (
        <FiltersEditor
          filters={rule.where}
          onChange={(where) => set({ where })}
          errorAt={under(errorAt, 'where.')}
        />
      )}
    </>
  );
}

/** Lifecycle stages, what moves contacts along them, and the hand-off to sales with its SLA. */
export function LifecycleSection(props: { settings: SettingsDocument }) {
  const { t } = useTranslation();
  const { settings } = props;
  const [form, setForm] = useState<IntentForm>(() => intentToForm(settings.lifecycle, settings.handOff));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<string>();
  const [isSaved, setIsSaved] = useState(false);
  const save = useSaveIntentSettings();
  const errorAt = useErrorAt(errors);
  const models = modelsOf(settings);
  const modelOptions = models.map((model) => ({ value: model.id, label: model.name }));
  const stages = splitStages(form.stages);
  const destinations = settings.webhooks?.destinations ?? [];
  const chosenUrl = destinations.find((destination) => destination.id === form.destination)?.url;
  const ownerIds = form.owners.map((owner) => owner.id.trim()).filter(Boolean);
  const format = useFormat();
  // What the SLA comes to in the hours chosen, said as it is typed ("2d" is six working days of 8 hours).
  const spanSaid = (current: IntentForm) => {
    const span = businessSpan(current.acceptWithin, current.businessHours);
    return span
      ? [
          t('scoring.handOff.acceptSpan', {
            within: current.acceptWithin.trim(),
            hours: format.number(span.hours),
            days: format.number(span.workingDays),
            start: current.businessHours.start,
            end: current.businessHours.end,
          }),
        ]
      : [];
  };
  const set = (change: Partial<IntentForm>) => {
    setIsSaved(false);
    setForm({ ...form, ...change });
  };

  function submit(event: FormEvent) {
    event.preventDefault();
    const found = validateIntent(
      form,
      models.map((model) => model.id),
    );
    setErrors(found);
    setFailure(undefined);
    if (Object.keys(found).length > 0) return;
    const { lifecycle, handOff } = formToIntent(form);
    save.mutate((current) => withPart(withPart(current, 'lifecycle', lifecycle), 'handOff', handOff), {
      onSuccess: () => setIsSaved(true),
      onError: (error) => {
        // A whole part (`lifecycle` while profiles hold stages) has no field of its own to mark: the
        // message above says it all.
        // One with a field is said there, once; the banner above only points at it.
        if (error instanceof ApiError && error.field?.includes('.'))
          setErrors({ [error.field]: { message: serverMessage(error.message, error.field) } });
        else setFailure(errorMessage(error, t));
      },
    });
  }

  const hasErrors = Object.keys(errors).length > 0;
  return (
    <form className="intent-form" onSubmit={submit} noValidate>
      {(hasErrors || failure) && (
        <div className="state state-error" role="alert">
          {hasErrors && <p>{t('scoring.fixFields')}</p>}
          {failure && <p>{failure}</p>}
        </div>
      )}
      <section className="card" aria-labelledby="lifecycle-title">
        <h2 id="lifecycle-title">{t('scoring.lifecycle.title')}</h2>
        <CheckboxField
          label={t('scoring.lifecycle.enable')}
          checked={form.hasLifecycle}
          onChange={(hasLifecycle) => set({ hasLifecycle, hasHandOff: hasLifecycle && form.hasHandOff })}
        />
        {!form.hasLifecycle && <p className="hint">{t('scoring.lifecycle.off')}</p>}
        {form.hasLifecycle && (
          <>
            <TextField
              label={t('scoring.lifecycle.stages')}
              value={form.stages}
              onChange={(text) => set({ stages: text })}
              error={errorAt('lifecycle.stages')}
            />
            <h3>{t('scoring.lifecycle.rules')}</h3>
            {form.rules.map((rule, index) => (
              <Group
                // biome-ignore lint/suspicious/noArrayIndexKey: rules have no identity but their place
                key={index}
                legend={t('scoring.lifecycle.rule', { number: index + 1 })}
                removeLabel={t('scoring.lifecycle.removeRule', { number: index + 1 })}
                onRemove={() => set({ rules: form.rules.filter((_, i) => i !== index) })}
              >
                <StageRuleFields
                  rule={rule}
                  stages={stages}
                  modelOptions={modelOptions}
                  onChange={(changed) =>
                    set({ rules: form.rules.map((item, i) => (i === index ? changed : item)) })
                  }
                  errorAt={under(errorAt, `lifecycle.rules.${index}.`)}
                />
              </Group>
            ))}
            <div className="actions">
              <button type="button" onClick={() => set({ rules: [...form.rules, blankStageRule()] })}>
                {t('scoring.lifecycle.addRule')}
              </button>
            </div>
            <StageSelect
              label={t('scoring.lifecycle.recycleTo')}
              stages={stages}
              value={form.recycleTo}
              onChange={(recycleTo) => set({ recycleTo })}
              error={errorAt('lifecycle.recycleTo')}
            />
          </>
        )}
      </section>
      {form.hasLifecycle && (
        <section className="card" aria-labelledby="hand-off-title">
          <h2 id="hand-off-title">{t('scoring.handOff.title')}</h2>
          <CheckboxField
            label={t('scoring.handOff.enable')}
            checked={form.hasHandOff}
            onChange={(hasHandOff) => set({ hasHandOff })}
          />
          {errorAt('handOff') && <p className="field-error">{errorAt('handOff')}</p>}
          {form.hasHandOff && (
            <>
              <p className="hint">{t('scoring.handOff.fromNowOn')}</p>
              <div className="scoring-row">
                <StageSelect
                  label={t('scoring.handOff.stage')}
                  stages={stages}
                  value={form.stage}
                  onChange={(stage) => set({ stage })}
                  error={errorAt('handOff.stage')}
                />
                <TextField
                  label={t('scoring.handOff.acceptWithin')}
                  value={form.acceptWithin}
                  onChange={(acceptWithin) => set({ acceptWithin })}
                  error={errorAt('handOff.acceptWithin')}
                  hint={
                    form.hasBusinessHours
                      ? [t('scoring.handOff.acceptHintBusiness'), ...spanSaid(form)].join(' ')
                      : t('scoring.handOff.acceptHint')
                  }
                />
                {/* Chosen by id: a URL is too long for a select in a row of three; it is said beneath. */}
                <SelectField
                  label={t('scoring.handOff.destination')}
                  value={form.destination}
                  options={[
                    { value: '', label: t('scoring.handOff.noDestination') },
                    ...destinations.map((destination) => ({ value: destination.id, label: destination.id })),
                  ]}
                  onChange={(destination) => set({ destination })}
                  error={errorAt('handOff.destination')}
                  hint={[
                    ...(chosenUrl ? [t('scoring.handOff.destinationCalls', { url: chosenUrl })] : []),
                    t('scoring.handOff.destinationHint'),
                  ].join(' ')}
                />
              </div>
              <CheckboxField
                label={t('scoring.handOff.recycleOnMiss')}
                checked={form.recycleOnMiss}
                onChange={(recycleOnMiss) => set({ recycleOnMiss })}
              />
              <CheckboxField
                label={t('scoring.handOff.businessHours')}
                checked={form.hasBusinessHours}
                onChange={(hasBusinessHours) => set({ hasBusinessHours })}
              />
              {form.hasBusinessHours && (
                <BusinessHoursFields
                  hours={form.businessHours}
                  timeZone={typeof settings.timezone === 'string' ? settings.timezone : 'UTC'}
                  onChange={(businessHours) => set({ businessHours })}
                  errorAt={under(errorAt, 'handOff.businessHours.')}
                />
              )}
              <h3>{t('scoring.handOff.owners')}</h3>
              {errorAt('handOff.owners') && <p className="field-error">{errorAt('handOff.owners')}</p>}
              {form.owners.map((owner, index) => {
                const ownerError = under(errorAt, `handOff.owners.${index}.`);
                const setOwner = (change: Partial<typeof owner>) =>
                  set({
                    owners: form.owners.map((item, i) => (i === index ? { ...item, ...change } : item)),
                  });
                return (
                  <Group
                    // biome-ignore lint/suspicious/noArrayIndexKey: owners are edited in place; their ids change as typed
                    key={index}
                    legend={t('scoring.handOff.owner', { number: index + 1 })}
                    removeLabel={t('scoring.handOff.removeOwner', { number: index + 1 })}
                    onRemove={() => set({ owners: form.owners.filter((_, i) => i !== index) })}
                  >
                    <div className="scoring-row">
                      <TextField
                        label={t('scoring.handOff.ownerId')}
                        value={owner.id}
                        onChange={(id) => setOwner({ id })}
                        error={ownerError('id')}
                      />
                      <TextField
                        label={t('scoring.handOff.ownerName')}
                        value={owner.name}
                        onChange={(name) => setOwner({ name })}
                        error={ownerError('name')}
                      />
                      <TextField
                        label={t('scoring.handOff.ownerEmail')}
                        value={owner.email}
                        inputMode="email"
                        onChange={(email) => setOwner({ email })}
                        error={ownerError('email')}
                      />
                    </div>
                  </Group>
                );
              })}
              <div className="actions">
                <button type="button" onClick={() => set({ owners: [...form.owners, blankOwner()] })}>
                  {t('scoring.handOff.addOwner')}
                </button>
              </div>
              <h3>{t('scoring.handOff.assignment')}</h3>
              <p className="hint">{t('scoring.handOff.assignmentHint')}</p>
              {form.assignment.map((rule, index) => {
                const ruleError = under(errorAt, `handOff.assignment.${index}.`);
                const setRule = (change: Partial<typeof rule>) =>
                  set({
                    assignment: form.assignment.map((item, i) =>
                      i === index ? { ...item, ...change } : item,
                    ),
                  });
                return (
                  <Group
                    // biome-ignore lint/suspicious/noArrayIndexKey: rules have no identity but their place
                    key={index}
                    legend={t('scoring.handOff.assignmentRule', { number: index + 1 })}
                    removeLabel={t('scoring.handOff.removeAssignment', { number: index + 1 })}
                    onRemove={() => set({ assignment: form.assignment.filter((_, i) => i !== index) })}
                  >
                    <ConditionEditor
                      condition={rule.when}
                      onChange={(when) => setRule({ when })}
                      errorAt={under(ruleError, 'when.')}
                    />
                    <SelectField
                      label={t('scoring.handOff.assignTo')}
                      value={rule.owner}
                      options={[
                        { value: '', label: t('scoring.handOff.chooseOwner') },
                        ...ownerIds.map((id) => ({ value: id, label: id })),
                      ]}
                      onChange={(owner) => setRule({ owner })}
                      error={ruleError('owner')}
                    />
                  </Group>
                );
              })}
              <div className="actions">
                <button
                  type="button"
                  onClick={() => set({ assignment: [...form.assignment, blankAssignment()] })}
                >
                  {t('scoring.handOff.addAssignment')}
                </button>
              </div>
            </>
          )}
        </section>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          {t('scoring.handOff.save')}
        </button>
        {isSaved && (
          <p className="notice" role="status">
            {t('scoring.handOff.saved')}
          </p>
        )}
      </div>
    </form>
  );
}
