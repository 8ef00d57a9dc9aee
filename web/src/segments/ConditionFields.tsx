import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { Field } from '../components/field.js';
import { Suggestions } from '../components/suggestions.js';
import { useBuilder } from './builder-context.js';
import {
  type ConditionDraft,
  EVENT_TIME_OPS,
  type EventDraft,
  type FilterDraft,
  newFilter,
  VALUE_OPS,
  type ValueOp,
} from './rule-model.js';

// The controls of one condition, by its kind: each labelled, each with its error beneath.

/** A text box of a condition, with its label and error. */
function TextField(props: {
  nodeId: string;
  field: string;
  label: string;
  value: string;
  hint?: string;
  inputMode?: 'numeric' | 'decimal';
  /** Values the workspace knows (its topics, models), offered as the user types. */
  suggestions?: readonly string[] | undefined;
  onChange(value: string): void;
}) {
  const { error } = useBuilder();
  const listId = useId();
  return (
    <Field
      label={props.label}
      error={error(props.nodeId, props.field)}
      {...(props.hint ? { hint: props.hint } : {})}
    >
      {(control) => (
        <>
          <input
            {...control}
            value={props.value}
            inputMode={props.inputMode}
            list={props.suggestions ? listId : undefined}
            onChange={(event) => props.onChange(event.target.value)}
          />
          <Suggestions id={listId} values={props.suggestions} />
        </>
      )}
    </Field>
  );
}

/** A select of a condition, its options given as value → label. */
function SelectField<T extends string>(props: {
  nodeId: string;
  field: string;
  label: string;
  value: T;
  options: ReadonlyArray<readonly [T, string]>;
  onChange(value: T): void;
}) {
  const { error } = useBuilder();
  return (
    <Field label={props.label} error={error(props.nodeId, props.field)}>
      {(control) => (
        <select
          {...control}
          value={props.value}
          onChange={(event) => props.onChange(event.target.value as T)}
        >
          {props.options.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/**
 * A choice among the workspace's own (its score models, topics) by name, when they are known: a
 * value saved before it was removed stays in the list, to be seen and changed.
 */
function WorkspaceChoice(props: {
  nodeId: string;
  field: string;
  label: string;
  value: string;
  choices: ReadonlyArray<{ id: string; name: string }> | undefined;
  onChange(value: string): void;
}) {
  const { t } = useTranslation();
  const { choices, ...field } = props;
  const { value } = field;
  if (!choices || choices.length === 0) return <TextField {...field} />;
  const options: Array<readonly [string, string]> = choices.map((choice) => [choice.id, choice.name]);
  if (value !== '' && !choices.some((choice) => choice.id === value)) options.unshift([value, value]);
  if (value === '') options.unshift(['', t('segments.builder.choose')]);
  return <SelectField {...field} options={options} />;
}

/** The stages a lifecycle condition holds for, ticked among the workspace's (kept as `a, b`). */
function StageChoices(props: {
  nodeId: string;
  value: string;
  stages: readonly string[];
  onChange(value: string): void;
}) {
  const { t } = useTranslation();
  const { error } = useBuilder();
  const problem = error(props.nodeId, 'stages');
  const errorId = useId();
  const chosen = props.value
    .split(',')
    .map((stage) => stage.trim())
    .filter((stage) => stage !== '');
  // Stages no longer in the lifecycle stay listed, ticked, to be unticked.
  const listed = [...props.stages, ...chosen.filter((stage) => !props.stages.includes(stage))];
  const toggle = (stage: string, isChosen: boolean) =>
    props.onChange(listed.filter((each) => (each === stage ? isChosen : chosen.includes(each))).join(', '));
  return (
    <fieldset
      className="stage-choices"
      aria-invalid={problem ? true : undefined}
      aria-describedby={problem ? errorId : undefined}
    >
      <legend>{t('segments.builder.stages')}</legend>
      {listed.map((stage) => (
        <label key={stage} className="checkbox">
          <input
            type="checkbox"
            checked={chosen.includes(stage)}
            onChange={(event) => toggle(stage, event.target.checked)}
          />
          {stage}
        </label>
      ))}
      {problem && (
        <small id={errorId} className="field-error" role="alert">
          {problem}
        </small>
      )}
    </fieldset>
  );
}

/** Operator and value of a comparison (a trait, an account trait, an event property). */
function Comparison(props: {
  nodeId: string;
  prefix: string;
  op: ValueOp;
  value: string;
  onChange(change: { op: ValueOp; value: string }): void;
}) {
  const { t } = useTranslation();
  const { nodeId, prefix, op, value } = props;
  const hint =
    op === 'in'
      ? t('segments.builder.listHint')
      : op === 'within_last' || op === 'not_within_last'
        ? t('segments.builder.durationHint')
        : t('segments.builder.valueHint');
  return (
    <>
      <SelectField
        nodeId={nodeId}
        field={`${prefix}op`}
        label={t('segments.builder.op')}
        value={op}
        options={VALUE_OPS.map((item) => [item, t(`segments.builder.ops.${item}`)] as const)}
        onChange={(next) => props.onChange({ op: next, value })}
      />
      {op !== 'exists' && op !== 'not_exists' && (
        <TextField
          nodeId={nodeId}
          field={`${prefix}value`}
          label={t('segments.builder.value')}
          hint={hint}
          value={value}
          onChange={(next) => props.onChange({ op, value: next })}
        />
      )}
    </>
  );
}

export function ConditionFields(props: {
  nodeId: string;
  draft: ConditionDraft;
  onChange(draft: ConditionDraft): void;
}) {
  const { eventNames } = useBuilder();
  const { t } = useTranslation();
  const { segments, definitions } = useBuilder();
  const { nodeId, draft, onChange } = props;
  switch (draft.type) {
    case 'trait':
    case 'account_trait':
      return (
        <>
          <TextField
            nodeId={nodeId}
            field="path"
            label={t(draft.type === 'trait' ? 'segments.builder.traitPath' : 'segments.builder.accountPath')}
            value={draft.path}
            onChange={(path) => onChange({ ...draft, path })}
          />
          <Comparison
            nodeId={nodeId}
            prefix=""
            op={draft.op}
            value={draft.value}
            onChange={(change) => onChange({ ...draft, ...change })}
          />
        </>
      );
    case 'event':
      return <EventFields nodeId={nodeId} draft={draft} onChange={onChange} />;
    case 'event_time':
      return (
        <>
          <SelectField
            nodeId={nodeId}
            field="which"
            label={t('segments.builder.which')}
            value={draft.which}
            options={[
              ['first', t('segments.builder.first')],
              ['last', t('segments.builder.last')],
            ]}
            onChange={(which) => onChange({ ...draft, which })}
          />
          <TextField
            nodeId={nodeId}
            field="event"
            label={t('segments.builder.event')}
            value={draft.event}
            suggestions={eventNames}
            onChange={(event) => onChange({ ...draft, event })}
          />
          <SelectField
            nodeId={nodeId}
            field="op"
            label={t('segments.builder.when')}
            value={draft.op}
            options={EVENT_TIME_OPS.map((op) => [op, t(`segments.builder.timeOps.${op}`)] as const)}
            onChange={(op) => onChange({ ...draft, op })}
          />
          <TextField
            nodeId={nodeId}
            field="value"
            label={
              draft.op === 'before' || draft.op === 'after'
                ? t('segments.builder.date')
                : t('segments.builder.value')
            }
            {...(draft.op === 'before' || draft.op === 'after'
              ? {}
              : { hint: t('segments.builder.durationHint') })}
            value={draft.value}
            onChange={(value) => onChange({ ...draft, value })}
          />
        </>
      );
    case 'segment':
      return (
        <>
          <SelectField
            nodeId={nodeId}
            field="is"
            label={t('segments.builder.is')}
            value={draft.is}
            options={[
              ['in', t('segments.builder.in')],
              ['not_in', t('segments.builder.notIn')],
            ]}
            onChange={(is) => onChange({ ...draft, is })}
          />
          <SelectField
            nodeId={nodeId}
            field="segment"
            label={t('segments.builder.segment')}
            value={draft.segment}
            options={[
              ['', t('segments.builder.chooseSegment')],
              // A segment no longer listed still shows, by its id, rather than vanish from the rule.
              ...(draft.segment && !segments.some((segment) => segment.id === draft.segment)
                ? [[draft.segment, draft.segment] as const]
                : []),
              ...segments.map((segment) => [segment.id, segment.name] as const),
            ]}
            onChange={(segment) => onChange({ ...draft, segment })}
          />
        </>
      );
    case 'subscription':
      return (
        <>
          <WorkspaceChoice
            nodeId={nodeId}
            field="topic"
            label={t('segments.builder.topic')}
            value={draft.topic}
            choices={definitions?.topics}
            onChange={(topic) => onChange({ ...draft, topic })}
          />
          <SelectField
            nodeId={nodeId}
            field="channel"
            label={t('segments.builder.channel')}
            value={draft.channel}
            options={[
              ['', t('segments.builder.everyChannel')],
              ['email', t('segments.builder.channelEmail')],
              ['sms', t('segments.builder.channelSms')],
            ]}
            onChange={(channel) => onChange({ ...draft, channel: channel as typeof draft.channel })}
          />
          <SelectField
            nodeId={nodeId}
            field="subscribed"
            label={t('segments.builder.subscribed')}
            value={draft.subscribed ? 'yes' : 'no'}
            options={[
              ['yes', t('segments.builder.subscribedYes')],
              ['no', t('segments.builder.subscribedNo')],
            ]}
            onChange={(value) => onChange({ ...draft, subscribed: value === 'yes' })}
          />
        </>
      );
    case 'score':
      return (
        <>
          <WorkspaceChoice
            nodeId={nodeId}
            field="model"
            label={t('segments.builder.model')}
            value={draft.model}
            choices={definitions?.models}
            onChange={(model) => onChange({ ...draft, model })}
          />
          <TextField
            nodeId={nodeId}
            field="min"
            label={t('segments.builder.min')}
            inputMode="decimal"
            value={draft.min}
            onChange={(min) => onChange({ ...draft, min })}
          />
          <TextField
            nodeId={nodeId}
            field="max"
            label={t('segments.builder.max')}
            inputMode="decimal"
            value={draft.max}
            onChange={(max) => onChange({ ...draft, max })}
          />
        </>
      );
    case 'lifecycle':
      // Without a lifecycle there is nothing to tick: typed, the server says what it lacks.
      return definitions?.stages.length ? (
        <StageChoices
          nodeId={nodeId}
          value={draft.stages}
          stages={definitions.stages}
          onChange={(stages) => onChange({ ...draft, stages })}
        />
      ) : (
        <TextField
          nodeId={nodeId}
          field="stages"
          label={t('segments.builder.stagesTyped')}
          value={draft.stages}
          onChange={(stages) => onChange({ ...draft, stages })}
        />
      );
  }
}

function EventFields(props: { nodeId: string; draft: EventDraft; onChange(draft: ConditionDraft): void }) {
  const { eventNames } = useBuilder();
  const { t } = useTranslation();
  const { nodeId, draft, onChange } = props;
  const changeFilter = (id: string, change: Partial<FilterDraft>) =>
    onChange({
      ...draft,
      where: draft.where.map((filter) => (filter.id === id ? { ...filter, ...change } : filter)),
    });
  return (
    <>
      <SelectField
        nodeId={nodeId}
        field="performed"
        label={t('segments.builder.performed')}
        value={draft.performed ? 'yes' : 'no'}
        options={[
          ['yes', t('segments.builder.performedYes')],
          ['no', t('segments.builder.performedNo')],
        ]}
        onChange={(value) => onChange({ ...draft, performed: value === 'yes' })}
      />
      <TextField
        nodeId={nodeId}
        field="event"
        label={t('segments.builder.event')}
        value={draft.event}
        suggestions={eventNames}
        onChange={(event) => onChange({ ...draft, event })}
      />
      {draft.performed && (
        <>
          <TextField
            nodeId={nodeId}
            field="atLeast"
            label={t('segments.builder.atLeast')}
            inputMode="numeric"
            value={draft.atLeast}
            onChange={(atLeast) => onChange({ ...draft, atLeast })}
          />
          <TextField
            nodeId={nodeId}
            field="atMost"
            label={t('segments.builder.atMost')}
            inputMode="numeric"
            value={draft.atMost}
            onChange={(atMost) => onChange({ ...draft, atMost })}
          />
        </>
      )}
      <TextField
        nodeId={nodeId}
        field="within"
        label={t('segments.builder.within')}
        hint={t('segments.builder.durationHint')}
        value={draft.within}
        onChange={(within) => onChange({ ...draft, within })}
      />
      <div className="rule-filters">
        {draft.where.length > 0 && <h4>{t('segments.builder.where')}</h4>}
        {draft.where.map((filter, index) => (
          <div key={filter.id} className="rule-filter" data-testid={`filter-${index}`}>
            <TextField
              nodeId={nodeId}
              field={`where.${index}.path`}
              label={t('segments.builder.property')}
              value={filter.path}
              onChange={(path) => changeFilter(filter.id, { path })}
            />
            <Comparison
              nodeId={nodeId}
              prefix={`where.${index}.`}
              op={filter.op}
              value={filter.value}
              onChange={(change) => changeFilter(filter.id, change)}
            />
            <button
              type="button"
              className="danger"
              onClick={() =>
                onChange({ ...draft, where: draft.where.filter((item) => item.id !== filter.id) })
              }
            >
              {t('segments.builder.removeFilter')}
            </button>
          </div>
        ))}
        <button type="button" onClick={() => onChange({ ...draft, where: [...draft.where, newFilter()] })}>
          {t('segments.builder.addFilter')}
        </button>
      </div>
    </>
  );
}
