import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useDeferredValue, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, workspacePath } from '../app/api.js';
import { isAdminOf, useSession } from '../app/session.js';
import { formatLiteral, parseLiteral } from '../app/typed-values.js';
import {
  useEventNames,
  useScoringDefinitions,
  useSegmentList,
  useTemplateList,
} from '../app/workspace-queries.js';
import { Field } from '../components/field.js';
import { ParsedInput } from '../components/parsed-input.js';
import { errorMessage } from '../components/states.js';
import { Suggestions } from '../components/suggestions.js';
import { serverMessage } from '../scoring/conditions.js';
import { useIntentSettings } from '../scoring/intent-settings.js';
import { type ContactChoice, ContactPicker, contactLabel } from '../templates/ContactPicker.js';
import {
  type Condition,
  type ConditionSource,
  type EntrySettings,
  newCondition,
  type StepBody,
  type Trigger,
  type ValueCondition,
} from './graph.js';
import { SmsTestSend } from './SmsTestSend.js';

const formatValue = (value: unknown) => (value === undefined ? '' : formatLiteral(value));
/** An empty or unreadable box is no number: the server names the field rather than taking 0. */
const parseNumber = (text: string) => (text.trim() === '' ? Number.NaN : Number(text));
const formatNumber = (value: number) => (Number.isNaN(value) ? '' : String(value));
const parseList = (text: string) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
const formatList = (items: string[]) => items.join(', ');

function TextField(props: {
  label: string;
  value: unknown;
  onChange: (value: string) => void;
  error?: string | undefined;
  multiline?: boolean;
  hint?: string;
  /** Values offered as the user types (event names the workspace has seen). */
  suggestions?: readonly string[] | undefined;
}) {
  const listId = useId();
  return (
    <Field label={props.label} error={props.error} {...(props.hint ? { hint: props.hint } : {})}>
      {(control) =>
        props.multiline ? (
          <textarea
            {...control}
            rows={4}
            value={String(props.value ?? '')}
            onChange={(event) => props.onChange(event.target.value)}
          />
        ) : (
          <>
            <input
              {...control}
              value={String(props.value ?? '')}
              list={props.suggestions ? listId : undefined}
              onChange={(event) => props.onChange(event.target.value)}
            />
            <Suggestions id={listId} values={props.suggestions} />
          </>
        )
      }
    </Field>
  );
}

const VALUE_OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'contains', 'exists', 'not_exists'] as const;
const SCORE_OPS = ['gte', 'gt', 'eq', 'lte', 'lt'] as const;
const MEMBERSHIP_OPS = ['in', 'not_in'] as const;
/** What a branch may ask of an e-mail step's message, and of a text step's. */
const EMAIL_OPS = ['opened', 'clicked', 'not_opened', 'not_clicked'] as const;
const TEXT_OPS = ['delivered', 'not_delivered'] as const;
/** A text whose step tracks its links is asked about clicks too. */
const TRACKED_TEXT_OPS = [...TEXT_OPS, 'clicked', 'not_clicked'] as const;
type MessageOp = (typeof EMAIL_OPS)[number] | (typeof TRACKED_TEXT_OPS)[number];

/** A labelled choice among the workspace's own (segments, destinations), its options as value → label. */
function ChoiceField(props: {
  label: string;
  value: string;
  options: ReadonlyArray<readonly [string, string]>;
  error?: string | undefined;
  hint?: string | undefined;
  /** Always has a value (a default applies): no "Choose…" to pick nothing with. */
  isRequired?: boolean;
  onChange: (value: string) => void;
}) {
  const { t } = useTranslation();
  const isKnown = props.options.some(([value]) => value === props.value);
  return (
    <Field label={props.label} error={props.error} {...(props.hint ? { hint: props.hint } : {})}>
      {(control) => (
        <select {...control} value={props.value} onChange={(event) => props.onChange(event.target.value)}>
          {!props.isRequired && <option value="">{t('builder.conditions.choose')}</option>}
          {/* A value saved before it was removed stays visible, to be changed. */}
          {!isKnown && props.value !== '' && <option value={props.value}>{props.value}</option>}
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
 * An SMS step's text as it will go out, for a contact chosen to preview it as (or with the personal
 * fields left empty): the text itself, its encoding and how many segments carriers bill; and, for
 * admins, a test send of it as that contact gets it.
 */
function SmsStepPreview(props: { body: string; trackLinks: boolean; canSendTests: boolean }) {
  const { t } = useTranslation();
  const [contact, setContact] = useState<ContactChoice>();
  const [isChoosing, setChoosing] = useState(false);
  return (
    <>
      <SmsPreview body={props.body} trackLinks={props.trackLinks} contact={contact} />
      <details className="sms-preview-contact" onToggle={(event) => setChoosing(event.currentTarget.open)}>
        <summary>
          {contact
            ? t('builder.sms.previewingAs', { contact: contactLabel(contact) })
            : t('builder.sms.previewAs')}
        </summary>
        {/* Contacts are looked up once it is opened: most steps are never previewed this way. */}
        {isChoosing && <ContactPicker chosen={contact} onChoose={setContact} />}
      </details>
      {props.canSendTests && (
        <SmsTestSend body={props.body} trackLinks={props.trackLinks} contact={contact} />
      )}
    </>
  );
}

/** The text of an SMS step as it goes out to `contact`: its words, encoding and segments. */
function SmsPreview(props: { body: string; trackLinks: boolean; contact: ContactChoice | undefined }) {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const body = useDeferredValue(props.body.trim());
  const profileId = props.contact?.id;
  const preview = useQuery({
    queryKey: ['sms-preview', workspace.id, body, props.trackLinks, profileId],
    enabled: body !== '',
    queryFn: () =>
      api<{
        text: string;
        encoding: 'GSM-7' | 'UCS-2';
        segments: number;
        characters: number;
        nonGsmCharacters: string[];
        smartEncoded: string[];
      }>('POST', workspacePath(workspace.id, '/sms/preview'), {
        body,
        ...(profileId ? { profileId } : {}),
        ...(props.trackLinks ? { trackLinks: true } : {}),
      }),
    placeholderData: keepPreviousData,
  });
  if (body === '') return null;
  // What the server refuses (too long, Liquid it cannot read) is said where the text is typed.
  if (preview.isError)
    return (
      <p className="field-error" role="alert" data-testid="sms-preview-error">
        {serverMessage(preview.error.message, 'body')}
      </p>
    );
  if (!preview.data) return null;
  const { text, encoding, segments, characters, nonGsmCharacters, smartEncoded } = preview.data;
  const isPersonal = body.includes('{{');
  return (
    <>
      {/* What the contact reads: a variable misspelt shows here as the gap it leaves. */}
      <blockquote className="sms-text" data-testid="sms-text">
        {text}
      </blockquote>
      {/* A line each: run together, the notes read as one sentence ("1 segment Sent as…"). */}
      <p className="hint" data-testid="sms-preview">
        {t('builder.sms.summary', { encoding, characters, count: segments })}
        {nonGsmCharacters.length > 0 && (
          <span className="hint-line">
            {` ${t('builder.sms.nonGsm', { characters: nonGsmCharacters.map(shownCharacter).join(' ') })}`}
          </span>
        )}
        {smartEncoded.length > 0 && (
          <span className="hint-line">
            {` ${t('builder.sms.smartEncoded', { characters: smartEncoded.map(shownCharacter).join(' ') })}`}
          </span>
        )}
        {isPersonal && !props.contact && (
          <span className="hint-line">{` ${t('builder.sms.personalised')}`}</span>
        )}
      </p>
    </>
  );
}

/**
 * A character as the SMS preview names it: one that shows as nothing (a non-breaking or zero-width
 * space pasted from a document) by its code point, so that it can be found and replaced.
 */
function shownCharacter(character: string): string {
  if (!/^[\p{White_Space}\p{Cf}\p{Cc}]+$/u.test(character)) return character;
  return [...character]
    .map((unit) => `U+${(unit.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`)
    .join(' ');
}

/** A labelled select of one condition row, its options given as value → label. */
function RowSelect(props: {
  label: string;
  value: string;
  options: ReadonlyArray<readonly [string, string]>;
  onChange: (value: string) => void;
  /** What the server refused here, as the id of the element that says why. */
  errorId?: string | undefined;
}) {
  return (
    <select
      aria-label={props.label}
      aria-invalid={props.errorId ? true : undefined}
      aria-describedby={props.errorId}
      value={props.value}
      onChange={(event) => props.onChange(event.target.value)}
    >
      {props.options.map(([value, label]) => (
        <option key={value} value={value}>
          {label}
        </option>
      ))}
    </select>
  );
}

/** The workspace's segments, score models and stages, for the conditions that name one. */
function useAudienceChoices() {
  const { workspace } = useSession();
  const segments = useSegmentList(workspace.id);
  const definitions = useScoringDefinitions(workspace.id);
  return {
    segments: segments.data ?? [],
    models: definitions.data?.models ?? [],
    stages: definitions.data?.stages ?? [],
  };
}

/**
 * What the server refused in a condition row, from the panel's errors by field path: `field` is the
 * row's control it names (`model` of `branches.0.conditions.1.model`), empty when it names the row.
 */
function rowError(
  errors: ReadonlyMap<string, string>,
  rowPath: string,
): { field: string; message: string } | undefined {
  for (const [path, message] of errors) {
    if (path === rowPath) return { field: '', message };
    // `stages.2` (one stage of the list) is about the stages box.
    if (path.startsWith(`${rowPath}.`))
      return { field: path.slice(rowPath.length + 1).split('.')[0] ?? '', message };
  }
  return undefined;
}

/**
 * Rows of conditions, all of which must hold. Entry triggers, waits and goals compare values; a
 * branch can also ask about segments, scores, the lifecycle stage and the journey's earlier e-mails.
 */
function ConditionsEditor(props: {
  conditions: Condition[];
  sources: ConditionSource[];
  /** The journey's e-mail steps, for conditions on whether a message was opened or clicked. */
  emailSteps?: string[];
  /** The journey's text steps, for conditions on whether a text was delivered. */
  smsSteps?: string[];
  /** Those of them that track their links, for conditions on whether a link was clicked. */
  trackedSmsSteps?: string[];
  /** The panel's errors by field path, and where these conditions sit in it (`branches.0.conditions`). */
  errors: ReadonlyMap<string, string>;
  errorPath: string;
  onChange: (conditions: Condition[]) => void;
}) {
  const { t } = useTranslation();
  const choices = useAudienceChoices();
  const listId = useId();
  const update = (index: number, next: Condition) =>
    props.onChange(props.conditions.map((condition, i) => (i === index ? next : condition)));
  const labels = (ops: readonly string[]) =>
    ops.map((op) => [op, t(`builder.conditions.ops.${op}`)] as const);
  const opsOf = (step: string): readonly MessageOp[] =>
    props.trackedSmsSteps?.includes(step)
      ? TRACKED_TEXT_OPS
      : props.smsSteps?.includes(step)
        ? TEXT_OPS
        : EMAIL_OPS;
  return (
    <fieldset className="conditions">
      <legend>{t('builder.conditions.legend')}</legend>
      <datalist id={`${listId}-models`}>
        {choices.models.map((model) => (
          <option key={model.id} value={model.id}>
            {model.name}
          </option>
        ))}
      </datalist>
      {props.conditions.map((condition, index) => {
        const error = rowError(props.errors, `${props.errorPath}.${index}`);
        const errorId = `${listId}-${index}-error`;
        /** The error's id for the control of `field`, when the refusal names that control. */
        const errorOf = (field: string) => (error?.field === field ? errorId : undefined);
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity but their place
          <div className="condition-row" key={index}>
            <RowSelect
              label={t('builder.conditions.source')}
              errorId={errorOf('source')}
              value={condition.source}
              options={props.sources.map(
                (source) => [source, t(`builder.conditions.sources.${source}`)] as const,
              )}
              onChange={(source) => update(index, newCondition(source as ConditionSource))}
            />
            {(condition.source === 'trait' ||
              condition.source === 'event' ||
              condition.source === 'entry_event') && (
              <>
                <input
                  aria-label={t('builder.fields.conditionPath')}
                  aria-invalid={errorOf('path') ? true : undefined}
                  aria-describedby={errorOf('path')}
                  placeholder={condition.source === 'trait' ? 'plan' : 'properties.total'}
                  value={condition.path}
                  onChange={(event) => update(index, { ...condition, path: event.target.value })}
                />
                <RowSelect
                  label={t('builder.conditions.op')}
                  errorId={errorOf('op')}
                  value={condition.op}
                  options={labels(VALUE_OPS)}
                  onChange={(op) => update(index, { ...condition, op })}
                />
                {condition.op !== 'exists' && condition.op !== 'not_exists' && (
                  <ParsedInput
                    label={t('builder.fields.conditionValue')}
                    errorId={errorOf('value')}
                    value={condition.value}
                    parse={parseLiteral}
                    format={formatValue}
                    onChange={(value) => update(index, { ...condition, value })}
                  />
                )}
              </>
            )}
            {condition.source === 'segment' && (
              <>
                <RowSelect
                  label={t('builder.conditions.op')}
                  errorId={errorOf('op')}
                  value={condition.op}
                  options={labels(MEMBERSHIP_OPS)}
                  onChange={(op) => update(index, { ...condition, op: op as 'in' | 'not_in' })}
                />
                <RowSelect
                  label={t('builder.conditions.segment')}
                  errorId={errorOf('segment')}
                  value={condition.segment}
                  options={[
                    ['', t('builder.conditions.choose')],
                    ...choices.segments.map((segment) => [segment.id, segment.name] as const),
                  ]}
                  onChange={(segment) => update(index, { ...condition, segment })}
                />
              </>
            )}
            {condition.source === 'score' && (
              <>
                <input
                  aria-label={t('builder.conditions.model')}
                  aria-invalid={errorOf('model') ? true : undefined}
                  aria-describedby={errorOf('model')}
                  list={`${listId}-models`}
                  value={condition.model}
                  onChange={(event) => update(index, { ...condition, model: event.target.value })}
                />
                <RowSelect
                  label={t('builder.conditions.op')}
                  errorId={errorOf('op')}
                  value={condition.op}
                  options={labels(SCORE_OPS)}
                  onChange={(op) => update(index, { ...condition, op: op as (typeof SCORE_OPS)[number] })}
                />
                <ParsedInput
                  label={t('builder.conditions.points')}
                  errorId={errorOf('value')}
                  inputMode="decimal"
                  value={condition.value}
                  parse={parseNumber}
                  format={formatNumber}
                  onChange={(value) => update(index, { ...condition, value })}
                />
              </>
            )}
            {condition.source === 'lifecycle' && (
              <>
                <RowSelect
                  label={t('builder.conditions.op')}
                  errorId={errorOf('op')}
                  value={condition.op}
                  options={labels(MEMBERSHIP_OPS)}
                  onChange={(op) => update(index, { ...condition, op: op as 'in' | 'not_in' })}
                />
                <ParsedInput
                  label={t('builder.conditions.stages')}
                  errorId={errorOf('stages')}
                  placeholder={choices.stages.join(', ')}
                  value={condition.stages}
                  parse={parseList}
                  format={formatList}
                  onChange={(stages) => update(index, { ...condition, stages })}
                />
              </>
            )}
            {condition.source === 'message' && (
              <>
                <RowSelect
                  label={t('builder.conditions.message')}
                  errorId={errorOf('step')}
                  value={condition.step}
                  options={[
                    ['', t('builder.conditions.choose')],
                    ...(props.emailSteps ?? []).map((step) => [step, step] as const),
                    ...(props.smsSteps ?? []).map(
                      (step) => [step, t('builder.conditions.textStep', { step })] as const,
                    ),
                  ]}
                  onChange={(step) => {
                    // A text is asked whether it was delivered (and clicked, its links tracked), an
                    // e-mail whether it was opened or clicked.
                    const ops = opsOf(step);
                    update(index, {
                      ...condition,
                      step,
                      op: ops.includes(condition.op) ? condition.op : (ops[0] as MessageOp),
                    });
                  }}
                />
                <RowSelect
                  label={t('builder.conditions.op')}
                  errorId={errorOf('op')}
                  value={condition.op}
                  // One no longer offered (its text's links untracked since) is shown, for publishing to name.
                  options={labels(
                    opsOf(condition.step).includes(condition.op)
                      ? opsOf(condition.step)
                      : [...opsOf(condition.step), condition.op],
                  )}
                  onChange={(op) => update(index, { ...condition, op: op as MessageOp })}
                />
              </>
            )}
            <button
              type="button"
              aria-label={t('builder.conditions.remove')}
              onClick={() => props.onChange(props.conditions.filter((_, i) => i !== index))}
            >
              ×
            </button>
            {error && (
              <small id={errorId} className="field-error" role="alert">
                {error.message}
              </small>
            )}
          </div>
        );
      })}
      <button
        type="button"
        onClick={() => props.onChange([...props.conditions, newCondition(props.sources[0] ?? 'trait')])}
      >
        {t('builder.conditions.add')}
      </button>
    </fieldset>
  );
}

/** A split's arm as the panel edits it: its exit (`next`) is the canvas's connection, not edited here. */
interface SplitArm {
  name: string;
  weight: number;
  next?: string;
}

/** The first of a, b, c, … that no arm is named yet. */
function nextArmName(arms: readonly SplitArm[]): string {
  const taken = new Set(arms.map((arm) => arm.name));
  for (let code = 97; code < 123; code++) {
    const name = String.fromCharCode(code);
    if (!taken.has(name)) return name;
  }
  return `arm_${arms.length + 1}`;
}

/**
 * A split's arms, a row each: its name and its weight (their share is the weight over all weights,
 * the holdout's included). An arm added gets an exit of its own on the canvas; one taken away takes
 * its connection with it.
 */
function ArmsEditor(props: {
  arms: SplitArm[];
  errors: ReadonlyMap<string, string>;
  onChange: (arms: SplitArm[]) => void;
  onRemove: (index: number) => void;
}) {
  const { t } = useTranslation();
  const listId = useId();
  const update = (index: number, next: SplitArm) =>
    props.onChange(props.arms.map((arm, i) => (i === index ? next : arm)));
  const listError = props.errors.get('arms');
  return (
    <fieldset className="conditions">
      <legend>{t('builder.split.arms')}</legend>
      {props.arms.map((arm, index) => {
        const error = rowError(props.errors, `arms.${index}`);
        const errorId = `${listId}-${index}-error`;
        const errorOf = (field: string) => (error?.field === field ? errorId : undefined);
        const label = arm.name || String(index + 1);
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: arms are known by their place (their exit)
          <div className="condition-row" key={index}>
            <input
              aria-label={t('builder.split.name', { arm: index + 1 })}
              aria-invalid={errorOf('name') ? true : undefined}
              aria-describedby={errorOf('name')}
              value={arm.name}
              onChange={(event) => update(index, { ...arm, name: event.target.value })}
            />
            <ParsedInput
              label={t('builder.split.weight', { arm: label })}
              errorId={errorOf('weight')}
              inputMode="decimal"
              value={arm.weight}
              parse={parseNumber}
              format={formatNumber}
              onChange={(weight) => update(index, { ...arm, weight })}
            />
            {props.arms.length > 1 && (
              <button
                type="button"
                aria-label={t('builder.split.remove', { arm: label })}
                onClick={() => props.onRemove(index)}
              >
                ×
              </button>
            )}
            {error && (
              <small id={errorId} className="field-error" role="alert">
                {error.message}
              </small>
            )}
          </div>
        );
      })}
      {listError && (
        <small className="field-error" role="alert">
          {listError}
        </small>
      )}
      {props.arms.length < MAX_SPLIT_ARMS && (
        <button
          type="button"
          onClick={() => props.onChange([...props.arms, { name: nextArmName(props.arms), weight: 1 }])}
        >
          {t('builder.split.add')}
        </button>
      )}
    </fieldset>
  );
}

/** The server's most arms for a split. */
const MAX_SPLIT_ARMS = 10;

/** The holdout's weight: empty, no holdout. */
function HoldoutField(props: {
  weight: number | undefined;
  error: string | undefined;
  onChange: (weight: number | undefined) => void;
}) {
  const { t } = useTranslation();
  return (
    <Field label={t('builder.fields.holdout')} error={props.error} hint={t('builder.split.holdoutHint')}>
      {(control) => (
        <ParsedInput
          id={control.id}
          label={t('builder.fields.holdout')}
          errorId={props.error ? control['aria-describedby'] : undefined}
          hintId={props.error ? undefined : control['aria-describedby']}
          inputMode="decimal"
          value={props.weight}
          parse={(text) => (text.trim() === '' ? undefined : parseNumber(text))}
          format={(weight) => (weight === undefined ? '' : formatNumber(weight))}
          onChange={props.onChange}
        />
      )}
    </Field>
  );
}

/** The workspace's e-mail templates by name; the step keeps the chosen one's id. */
function TemplatePicker(props: {
  value: string;
  error?: string | undefined;
  onChange: (id: string) => void;
}) {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const templates = useTemplateList(workspace.id);
  const known = templates.data?.some((template) => template.id === props.value) ?? false;
  return (
    <Field
      label={t('builder.fields.template')}
      error={props.error ?? (templates.error ? errorMessage(templates.error, t) : undefined)}
    >
      {(control) => (
        <select {...control} value={props.value} onChange={(event) => props.onChange(event.target.value)}>
          <option value="">
            {templates.isPending ? t('common.loading') : t('builder.fields.chooseTemplate')}
          </option>
          {props.value && !known && !templates.isPending && (
            <option value={props.value}>{props.value}</option>
          )}
          {templates.data?.map((template) => (
            <option key={template.id} value={template.id}>
              {template.name}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** A JSON object typed as text: kept as typed until it parses, and said so when it does not. */
function JsonField(props: {
  label: string;
  value: unknown;
  error?: string | undefined;
  onChange: (value: Record<string, unknown>) => void;
}) {
  const { t } = useTranslation();
  const [text, setText] = useState(() => JSON.stringify(props.value, null, 2));
  const [parseError, setParseError] = useState<string>();
  return (
    <Field label={props.label} error={parseError ?? props.error}>
      {(control) => (
        <textarea
          {...control}
          rows={5}
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            let parsed: unknown;
            try {
              parsed = JSON.parse(event.target.value);
            } catch {
              // The browser's own words are in its language, and name a position nobody counts.
              return setParseError(t('builder.json.notJson'));
            }
            if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
              return setParseError(t('builder.json.notObject'));
            setParseError(undefined);
            props.onChange(parsed as Record<string, unknown>);
          }}
        />
      )}
    </Field>
  );
}

/** The side panel of the entry node: name, trigger, re-entry and goal of the whole journey. */
export function EntryPanel(props: {
  settings: EntrySettings;
  errors: Map<string, string>;
  onChange: (settings: EntrySettings) => void;
}) {
  const eventNames = useEventNames(useSession().workspace.id);
  const { t } = useTranslation();
  const { settings, errors } = props;
  const { segments } = useAudienceChoices();
  const trigger = settings.entry.trigger;
  const setTrigger = (next: Trigger) =>
    props.onChange({ ...settings, entry: { ...settings.entry, trigger: next } });
  return (
    <div className="panel-body">
      <TextField
        label={t('common.name')}
        value={settings.name}
        error={errors.get('definition.name')}
        onChange={(name) => props.onChange({ ...settings, name })}
      />
      <Field label={t('builder.trigger.type')}>
        {(control) => (
          <select
            {...control}
            value={trigger.type}
            onChange={(event) => {
              const type = event.target.value as Trigger['type'];
              if (type === 'event') setTrigger({ type, event: '', conditions: [] });
              else if (type === 'segment') setTrigger({ type, segment: '', on: 'entered' });
              else if (type === 'trait_changed') setTrigger({ type, trait: '' });
              else setTrigger({ type: 'manual' });
            }}
          >
            {(['event', 'segment', 'trait_changed', 'manual'] as const).map((type) => (
              <option key={type} value={type}>
                {t(`builder.trigger.${type}`)}
              </option>
            ))}
          </select>
        )}
      </Field>
      {trigger.type === 'event' && (
        <>
          <TextField
            label={t('builder.trigger.eventName')}
            value={trigger.event}
            suggestions={eventNames}
            error={errors.get('definition.entry.trigger.event')}
            onChange={(event) => setTrigger({ ...trigger, event })}
          />
          <ConditionsEditor
            conditions={trigger.conditions}
            sources={['event', 'trait']}
            errors={errors}
            errorPath="definition.entry.trigger.conditions"
            onChange={(conditions) => setTrigger({ ...trigger, conditions: conditions as ValueCondition[] })}
          />
        </>
      )}
      {trigger.type === 'segment' && (
        <>
          <ChoiceField
            label={t('builder.trigger.segmentId')}
            value={trigger.segment}
            error={errors.get('definition.entry.trigger.segment')}
            options={segments.map((segment) => [segment.id, segment.name] as const)}
            onChange={(segment) => setTrigger({ ...trigger, segment })}
          />
          <Field label={t('builder.trigger.on')}>
            {(control) => (
              <select
                {...control}
                value={trigger.on}
                onChange={(event) => {
                  // Ending on leaving, and taking current members, only go with entering on entering.
                  const { exitOnSegmentExit: _dropped, currentMembers: _members, ...rest } = trigger;
                  setTrigger({ ...rest, on: event.target.value as 'entered' | 'exited' });
                }}
              >
                <option value="entered">{t('builder.trigger.entered')}</option>
                <option value="exited">{t('builder.trigger.exited')}</option>
              </select>
            )}
          </Field>
          {trigger.on === 'entered' && (
            <label className="checkbox">
              <input
                type="checkbox"
                checked={trigger.exitOnSegmentExit === true}
                onChange={(event) => {
                  const { exitOnSegmentExit: _dropped, ...rest } = trigger;
                  setTrigger(event.target.checked ? { ...rest, exitOnSegmentExit: true } : rest);
                }}
              />
              {t('builder.trigger.exitOnSegmentExit')}
            </label>
          )}
          {trigger.on === 'entered' && (
            <label className="checkbox">
              <input
                type="checkbox"
                checked={trigger.currentMembers === true}
                onChange={(event) => {
                  const { currentMembers: _dropped, ...rest } = trigger;
                  setTrigger(event.target.checked ? { ...rest, currentMembers: true } : rest);
                }}
              />
              {t('builder.trigger.currentMembers')}
            </label>
          )}
        </>
      )}
      {trigger.type === 'trait_changed' && (
        <TextField
          label={t('builder.trigger.trait')}
          value={trigger.trait}
          error={errors.get('definition.entry.trigger.trait')}
          onChange={(trait) => setTrigger({ ...trigger, trait })}
        />
      )}
      <Field label={t('builder.trigger.reentry')}>
        {(control) => (
          <select
            {...control}
            value={settings.entry.reentry.policy}
            onChange={(event) =>
              props.onChange({
                ...settings,
                entry: {
                  ...settings.entry,
                  reentry:
                    event.target.value === 'once_per_period'
                      ? { policy: event.target.value, period: settings.entry.reentry.period ?? '30d' }
                      : { policy: event.target.value },
                },
              })
            }
          >
            <option value="once">{t('builder.trigger.once')}</option>
            <option value="once_per_period">{t('builder.trigger.once_per_period')}</option>
            <option value="every_time">{t('builder.trigger.every_time')}</option>
          </select>
        )}
      </Field>
      {settings.entry.reentry.policy === 'once_per_period' && (
        <TextField
          label={t('builder.trigger.period')}
          value={settings.entry.reentry.period ?? ''}
          error={errors.get('definition.entry.reentry.period')}
          onChange={(period) =>
            props.onChange({
              ...settings,
              entry: { ...settings.entry, reentry: { policy: 'once_per_period', period } },
            })
          }
        />
      )}
      <TextField
        label={t('builder.goalEvent')}
        hint={t('builder.goalHelp')}
        value={settings.goal?.event ?? ''}
        error={errors.get('definition.goal.event')}
        onChange={(event) => {
          const { goal: _dropped, ...rest } = settings;
          props.onChange(
            event
              ? { ...rest, goal: { ...settings.goal, event, conditions: settings.goal?.conditions ?? [] } }
              : rest,
          );
        }}
      />
      {settings.goal && (
        <TextField
          label={t('builder.matchEntry')}
          value={settings.goal.matchEntryProperty ?? ''}
          onChange={(path) => {
            const { matchEntryProperty: _dropped, ...goal } = settings.goal ?? { event: '', conditions: [] };
            props.onChange({ ...settings, goal: path ? { ...goal, matchEntryProperty: path } : goal });
          }}
        />
      )}
      {settings.goal && (
        <TextField
          label={t('builder.goalWithin')}
          hint={t('builder.goalWithinHelp')}
          value={settings.goal.within ?? ''}
          error={errors.get('definition.goal.within')}
          onChange={(within) => {
            const { within: _dropped, ...goal } = settings.goal ?? { event: '', conditions: [] };
            props.onChange({ ...settings, goal: within ? { ...goal, within } : goal });
          }}
        />
      )}
    </div>
  );
}

/** The side panel of a step: the fields its type has. */
export function StepPanel(props: {
  step: StepBody;
  errors: Map<string, string>;
  /** The journey's e-mail and text steps, which a branch can ask about (and those texts tracking links). */
  emailSteps?: string[];
  smsSteps?: string[];
  trackedSmsSteps?: string[];
  onChange: (step: StepBody) => void;
  /** Takes away a branch's arm, with its connection. */
  onRemoveArm: (index: number) => void;
}) {
  const eventNames = useEventNames(useSession().workspace.id);
  const { t } = useTranslation();
  const { step, errors } = props;
  const { workspace } = useSession();
  // The webhook destinations are in the settings document, which only admins may read (and only
  // admins may change a journey): a member asking would be refused.
  const intentSettings = useIntentSettings({ enabled: step.type === 'webhook' && isAdminOf(workspace) });
  // Every member may read these (the settings document is for admins).
  const definitions = useScoringDefinitions(workspace.id);
  const set = (field: string, value: unknown) => props.onChange({ ...step, [field]: value });
  /** A text field; `optional`: cleared, the key goes (the server's default applies, not an empty text). */
  const text = (
    field: string,
    label: string,
    options: { multiline?: boolean; optional?: boolean; suggestions?: readonly string[] | undefined } = {},
  ) => (
    <TextField
      label={label}
      value={step[field]}
      suggestions={options.suggestions}
      error={errors.get(field)}
      onChange={(value) => {
        if (!options.optional || value !== '') return set(field, value);
        const { [field]: _dropped, ...rest } = step;
        props.onChange(rest as StepBody);
      }}
      {...(options.multiline ? { multiline: true } : {})}
    />
  );
  // What e-mail and SMS steps share: the topic (one of the workspace's), and what a cap or quiet hours do.
  const sendingFields = (
    <>
      <ChoiceField
        label={t('builder.fields.topic')}
        value={String(step.topic ?? 'marketing')}
        error={errors.get('topic')}
        options={(definitions.data?.topics ?? []).map((topic) => [topic.id, topic.name] as const)}
        isRequired
        onChange={(topic) => set('topic', topic)}
      />
      <ChoiceField
        label={t('builder.fields.whenNotAllowed')}
        value={String(step.whenNotAllowed ?? 'defer')}
        error={errors.get('whenNotAllowed')}
        options={[
          ['defer', t('builder.fields.defer')],
          ['skip', t('builder.fields.skip')],
        ]}
        isRequired
        onChange={(choice) => set('whenNotAllowed', choice)}
      />
    </>
  );
  switch (step.type) {
    case 'wait':
      return <div className="panel-body">{text('duration', t('builder.fields.duration'))}</div>;
    case 'wait_until':
      return <div className="panel-body">{text('time', t('builder.fields.time'))}</div>;
    case 'wait_for_event':
      return (
        <div className="panel-body">
          {text('event', t('builder.fields.event'), { suggestions: eventNames })}
          {text('timeout', t('builder.fields.timeout'))}
          <TextField
            label={t('builder.matchEntry')}
            value={step.matchEntryProperty ?? ''}
            onChange={(value) => {
              const { matchEntryProperty: _dropped, ...rest } = step;
              props.onChange(value ? { ...rest, matchEntryProperty: value } : (rest as StepBody));
            }}
          />
          <ConditionsEditor
            conditions={(step.conditions as Condition[] | undefined) ?? []}
            sources={['event', 'trait', 'entry_event']}
            errors={errors}
            errorPath="conditions"
            onChange={(conditions) => set('conditions', conditions)}
          />
        </div>
      );
    case 'branch': {
      const branches = (step.branches as Array<{ conditions: Condition[] }> | undefined) ?? [];
      return (
        <div className="panel-body">
          {branches.map((branch, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: branches are known by their place (their port)
            <div key={index}>
              <h4>
                {t('builder.ports.yes')} {index + 1}
                {branches.length > 1 && (
                  <button
                    type="button"
                    className="link"
                    aria-label={t('builder.removeArm', { arm: index + 1 })}
                    onClick={() => props.onRemoveArm(index)}
                  >
                    {t('builder.removeArmShort')}
                  </button>
                )}
              </h4>
              <ConditionsEditor
                conditions={branch.conditions}
                sources={['trait', 'event', 'entry_event', 'segment', 'score', 'lifecycle', 'message']}
                emailSteps={props.emailSteps}
                smsSteps={props.smsSteps}
                trackedSmsSteps={props.trackedSmsSteps}
                errors={errors}
                errorPath={`branches.${index}.conditions`}
                onChange={(conditions) =>
                  set(
                    'branches',
                    branches.map((other, i) => (i === index ? { ...other, conditions } : other)),
                  )
                }
              />
            </div>
          ))}
          <button
            type="button"
            onClick={() =>
              set('branches', [
                ...branches,
                { conditions: [{ source: 'trait', path: '', op: 'eq', value: '' }] },
              ])
            }
          >
            + {t('builder.ports.yes')}
          </button>
        </div>
      );
    }
    case 'split':
      return (
        <div className="panel-body">
          <ArmsEditor
            arms={(step.arms as SplitArm[] | undefined) ?? []}
            errors={errors}
            onChange={(arms) => set('arms', arms)}
            onRemove={props.onRemoveArm}
          />
          <HoldoutField
            weight={(step.holdout as { weight?: number } | undefined)?.weight}
            error={errors.get('holdout.weight') ?? errors.get('holdout')}
            onChange={(weight) => {
              const { holdout: _dropped, ...rest } = step;
              props.onChange(weight === undefined ? (rest as StepBody) : { ...rest, holdout: { weight } });
            }}
          />
        </div>
      );
    case 'send_email':
      return (
        <div className="panel-body">
          <TemplatePicker
            value={String(step.template ?? '')}
            error={errors.get('template')}
            onChange={(template) => set('template', template)}
          />
          {sendingFields}
        </div>
      );
    case 'send_sms':
      return (
        <div className="panel-body">
          {text('body', t('builder.fields.body'), { multiline: true })}
          <label className="checkbox">
            <input
              type="checkbox"
              checked={step.trackLinks === true}
              onChange={(event) => set('trackLinks', event.target.checked ? true : undefined)}
            />
            {t('builder.fields.trackLinks')}
          </label>
          <SmsStepPreview
            body={String(step.body ?? '')}
            trackLinks={step.trackLinks === true}
            canSendTests={isAdminOf(workspace)}
          />
          {sendingFields}
        </div>
      );
    case 'update_traits':
      return (
        <div className="panel-body">
          <JsonField
            label={t('builder.fields.traits')}
            value={step.set ?? {}}
            error={errors.get('set')}
            onChange={(value) => set('set', value)}
          />
        </div>
      );
    case 'webhook': {
      const destinations = intentSettings.data?.webhooks?.destinations ?? [];
      return (
        <div className="panel-body">
          {/* Chosen by id; the URL, too long for a select of the panel's width, is said beneath. */}
          <ChoiceField
            label={t('builder.fields.destination')}
            value={String(step.destination ?? '')}
            error={errors.get('destination')}
            hint={
              destinations.length === 0 && intentSettings.data
                ? t('builder.fields.noDestinations')
                : destinations.find((destination) => destination.id === step.destination)?.url
            }
            options={destinations.map((destination) => [destination.id, destination.id] as const)}
            onChange={(destination) => set('destination', destination)}
          />
          {text('path', t('builder.fields.path'), { optional: true })}
          <ChoiceField
            label={t('builder.fields.method')}
            value={String(step.method ?? 'POST')}
            error={errors.get('method')}
            isRequired
            options={['POST', 'PUT', 'PATCH'].map((method) => [method, method] as const)}
            onChange={(method) => set('method', method)}
          />
          {text('body', t('builder.fields.jsonBody'), { multiline: true, optional: true })}
        </div>
      );
    }
    case 'exit':
      return null;
  }
}
