import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { Field } from '../components/field.js';
import { errorMessage } from '../components/states.js';
import { FailedMessages } from './FailedMessages.js';
import { PrivateNetworksField, SaveBar, TextField, useErrorAt, usePrivateWarning } from './form-parts.js';
import { useSectionSave } from './section-save.js';
import {
  type DestinationForm,
  newDestination,
  type SettingsView,
  validateWebhooks,
  webhooksForm,
  webhooksSettings,
  withPart,
} from './settings-model.js';

const SHOWN = /^webhooks\.(destinations\.\d+\.(id|url|secret|headers)(\..+)?|timeoutMs|maxAttempts)$/;

/** A destination removed from the form since the last save, with its row's identity and number then. */
interface RemovedDestination {
  destination: DestinationForm;
  key: number;
  number: number;
}

/** The webhook destinations journeys and the hand-off may call (secrets write-only), and the calls that failed. */
export function WebhooksSection(props: { settings: SettingsView }) {
  const { t } = useTranslation();
  const [form, setForm] = useState(() => webhooksForm(props.settings.webhooks));
  // Each row's identity, rising in the order rows are shown (added ones go last): a row put back
  // goes where it stood among the others, and keeps its own test result.
  const lastKey = useRef(0);
  const newKeys = (count: number) => Array.from({ length: count }, () => ++lastKey.current);
  const [keys, setKeys] = useState(() => newKeys(form.destinations.length));
  // Destinations removed since the last save: put back in a click, secret and headers kept, rather
  // than by reloading (and losing the other changes).
  const [removed, setRemoved] = useState<RemovedDestination[]>([]);
  // Where focus goes once the rows change (a selector): the put-back button of a row removed, the Id
  // of one put back.
  const [focusNext, setFocusNext] = useState<string | null>(null);
  useEffect(() => {
    if (focusNext === null) return;
    document.querySelector<HTMLElement>(focusNext)?.focus();
    setFocusNext(null);
  }, [focusNext]);
  const { errors, submit, bar } = useSectionSave({
    prefixes: ['webhooks'],
    isShown: (path) => SHOWN.test(path),
  });
  const errorAt = useErrorAt(errors);
  const privateWarning = usePrivateWarning();
  // Only a saved destination can be tested: the server calls it as saved.
  const savedIds = new Set(
    (props.settings.webhooks?.destinations ?? []).map((destination) => destination.id),
  );
  // A header the server refuses is named by its own path (`…headers.X-Api-Key`): shown on the box.
  const headersErrorAt = (index: number) => {
    const prefix = `webhooks.destinations.${index}.headers`;
    const path = Object.keys(errors).find((key) => key === prefix || key.startsWith(`${prefix}.`));
    return path ? errorAt(path) : undefined;
  };
  const setDestination = (index: number, change: Partial<DestinationForm>) =>
    setForm({
      ...form,
      destinations: form.destinations.map((destination, i) =>
        i === index ? { ...destination, ...change } : destination,
      ),
    });

  function save(event: FormEvent) {
    event.preventDefault();
    submit(
      validateWebhooks(form),
      (current) => withPart(current, 'webhooks', webhooksSettings(form)),
      (saved) => {
        const destinations = webhooksForm(saved.webhooks);
        setForm(destinations);
        setKeys(newKeys(destinations.destinations.length));
        setRemoved([]);
      },
    );
  }
  function add() {
    setForm({ ...form, destinations: [...form.destinations, newDestination()] });
    setKeys([...keys, ...newKeys(1)]);
  }
  function remove(index: number) {
    const destination = form.destinations[index];
    const key = keys[index];
    if (!destination || key === undefined) return;
    setRemoved([...removed, { destination, key, number: index + 1 }]);
    setForm({ ...form, destinations: form.destinations.filter((_, i) => i !== index) });
    setKeys(keys.filter((_, i) => i !== index));
    setFocusNext(`#put-back-${key}`);
  }
  function putBack(entry: RemovedDestination) {
    const at = keys.filter((key) => key < entry.key).length;
    setForm({ ...form, destinations: form.destinations.toSpliced(at, 0, entry.destination) });
    setKeys(keys.toSpliced(at, 0, entry.key));
    setRemoved(removed.filter((other) => other !== entry));
    setFocusNext(`#destination-${entry.key} input`);
  }

  return (
    <>
      <form className="settings-form" onSubmit={save} noValidate aria-labelledby="settings-webhooks-title">
        <h2 id="settings-webhooks-title">{t('settings.tabs.webhooks')}</h2>
        <p className="hint">{t('settings.webhooks.help')}</p>
        {form.destinations.length === 0 && <p className="settings-missing">{t('settings.webhooks.none')}</p>}
        {form.destinations.map((destination, index) => {
          const number = index + 1;
          const key = keys[index];
          return (
            <fieldset className="settings-fieldset settings-grid" key={key} id={`destination-${key}`}>
              <legend>{t('settings.webhooks.destination', { number })}</legend>
              <TextField
                label={t('settings.webhooks.id')}
                value={destination.id}
                onChange={(id) => setDestination(index, { id })}
                error={errorAt(`webhooks.destinations.${index}.id`)}
                autoComplete="off"
              />
              <TextField
                label={t('settings.webhooks.url')}
                value={destination.url}
                onChange={(url) => setDestination(index, { url })}
                error={errorAt(`webhooks.destinations.${index}.url`)}
                hint={privateWarning(destination.url, form.allowPrivateNetworks)}
                inputMode="url"
              />
              {!destination.removeSecret && (
                <TextField
                  label={t('settings.webhooks.secret')}
                  type="password"
                  value={destination.secret}
                  onChange={(secret) => setDestination(index, { secret })}
                  error={errorAt(`webhooks.destinations.${index}.secret`)}
                  hint={
                    destination.hasSecret
                      ? t('settings.webhooks.secretSet')
                      : t('settings.webhooks.secretNone')
                  }
                  autoComplete="new-password"
                />
              )}
              {destination.hasSecret && (
                <RemoveStored
                  label={t('settings.webhooks.removeSecret')}
                  checked={destination.removeSecret}
                  onChange={(removeSecret) => setDestination(index, { removeSecret, secret: '' })}
                />
              )}
              {!destination.removeHeaders && (
                <Field
                  label={t('settings.webhooks.headers')}
                  error={headersErrorAt(index)}
                  {...(destination.headerNames.length > 0
                    ? {
                        hint: t('settings.webhooks.headersSet', {
                          names: destination.headerNames.join(', '),
                        }),
                      }
                    : {})}
                >
                  {(control) => (
                    <textarea
                      {...control}
                      rows={2}
                      value={destination.headers}
                      autoComplete="off"
                      onChange={(event) => setDestination(index, { headers: event.target.value })}
                    />
                  )}
                </Field>
              )}
              {destination.headerNames.length > 0 && (
                <RemoveStored
                  label={t('settings.webhooks.removeHeaders')}
                  checked={destination.removeHeaders}
                  onChange={(removeHeaders) => setDestination(index, { removeHeaders, headers: '' })}
                />
              )}
              <div className="destination-actions">
                {savedIds.has(destination.id) && <DestinationTest id={destination.id} />}
                <button type="button" onClick={() => remove(index)}>
                  {t('settings.webhooks.remove', { number })}
                </button>
              </div>
            </fieldset>
          );
        })}
        {removed.length > 0 && (
          <fieldset className="destination-actions put-back">
            <legend className="visually-hidden">{t('settings.webhooks.removedGroup')}</legend>
            {removed.map((entry) => (
              <button
                type="button"
                key={entry.key}
                id={`put-back-${entry.key}`}
                onClick={() => putBack(entry)}
              >
                {t('settings.webhooks.putBack', {
                  id: entry.destination.id || t('settings.webhooks.destination', { number: entry.number }),
                })}
              </button>
            ))}
          </fieldset>
        )}
        <button type="button" onClick={add}>
          {t('settings.webhooks.add')}
        </button>
        <div className="settings-grid">
          <TextField
            label={t('settings.webhooks.timeoutMs')}
            value={form.timeoutMs}
            onChange={(timeoutMs) => setForm({ ...form, timeoutMs })}
            error={errorAt('webhooks.timeoutMs')}
            inputMode="numeric"
          />
          <TextField
            label={t('settings.webhooks.maxAttempts')}
            value={form.maxAttempts}
            onChange={(maxAttempts) => setForm({ ...form, maxAttempts })}
            error={errorAt('webhooks.maxAttempts')}
            inputMode="numeric"
          />
          <PrivateNetworksField
            label={t('settings.webhooks.allowPrivate')}
            checked={form.allowPrivateNetworks}
            onChange={(allowPrivateNetworks) => setForm({ ...form, allowPrivateNetworks })}
            serverAllows={props.settings.serverAllowsPrivateNetworks}
          />
        </div>
        <SaveBar {...bar} />
      </form>
      <FailedMessages
        path="/webhooks/dead-letters"
        messages="settings.webhooks"
        destinations={(props.settings.webhooks?.destinations ?? []).map((destination) => destination.id)}
      />
    </>
  );
}

interface TestOutcome {
  delivered: boolean;
  status: number | null;
  reason: string | null;
  address: string;
  ms: number;
}

/** Calls a saved destination once with a test body, and says what its receiver answered. */
function DestinationTest(props: { id: string }) {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const format = useFormat();
  const test = useMutation({
    mutationFn: () =>
      api<TestOutcome>(
        'POST',
        workspacePath(workspace.id, `/webhooks/destinations/${encodeURIComponent(props.id)}/test`),
      ),
  });
  const outcome = test.data;
  const outcomeText = (answered: TestOutcome) =>
    answered.delivered
      ? t('settings.webhooks.testDelivered', {
          address: answered.address,
          status: answered.status,
          ms: format.number(answered.ms),
        })
      : t('settings.webhooks.testFailed', { address: answered.address, reason: answered.reason });
  return (
    <div className="destination-test">
      <button
        type="button"
        disabled={test.isPending}
        onClick={() => test.mutate()}
        title={t('settings.webhooks.testHint')}
      >
        {t('settings.webhooks.test', { id: props.id })}
      </button>
      <p role="status" className={outcome && !outcome.delivered ? 'field-error' : 'hint'}>
        {test.error ? errorMessage(test.error, t) : outcome ? outcomeText(outcome) : ''}
      </p>
    </div>
  );
}

/** Ticked, the save clears what is stored (a secret, the headers), which the form never shows. */
function RemoveStored(props: { label: string; checked: boolean; onChange: (checked: boolean) => void }) {
  return (
    <label className="checkbox">
      <input
        type="checkbox"
        checked={props.checked}
        onChange={(event) => props.onChange(event.target.checked)}
      />
      {props.label}
    </label>
  );
}
