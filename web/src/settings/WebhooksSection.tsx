import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { Field } from '../components/field.js';
import { EmptyState, ErrorState, errorMessage, Loading } from '../components/states.js';
import { useJourneyNames, useProfile } from '../contacts/contact-api.js';
import { contactLabel } from '../segments/segment-api.js';
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

/** The webhook destinations journeys and the hand-off may call (secrets write-only), and the calls that failed. */
export function WebhooksSection(props: { settings: SettingsView }) {
  const { t } = useTranslation();
  const [form, setForm] = useState(() => webhooksForm(props.settings.webhooks));
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
      (saved) => setForm(webhooksForm(saved.webhooks)),
    );
  }

  return (
    <>
      <form className="settings-form" onSubmit={save} noValidate aria-labelledby="settings-webhooks-title">
        <h2 id="settings-webhooks-title">{t('settings.tabs.webhooks')}</h2>
        <p className="hint">{t('settings.webhooks.help')}</p>
        {form.destinations.length === 0 && <p className="settings-missing">{t('settings.webhooks.none')}</p>}
        {form.destinations.map((destination, index) => {
          const number = index + 1;
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity but their place
            <fieldset className="settings-fieldset settings-grid" key={index}>
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
                <label className="checkbox">
                  <input
                    type="checkbox"
                    checked={destination.removeSecret}
                    onChange={(event) =>
                      setDestination(index, { removeSecret: event.target.checked, secret: '' })
                    }
                  />
                  {t('settings.webhooks.removeSecret')}
                </label>
              )}
              <Field
                label={t('settings.webhooks.headers')}
                error={headersErrorAt(index)}
                {...(destination.headerNames.length > 0
                  ? { hint: t('settings.webhooks.headersSet', { names: destination.headerNames.join(', ') }) }
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
              <div className="destination-actions">
                {savedIds.has(destination.id) && <DestinationTest id={destination.id} />}
                <button
                  type="button"
                  onClick={() =>
                    setForm({ ...form, destinations: form.destinations.filter((_, i) => i !== index) })
                  }
                >
                  {t('settings.webhooks.remove', { number })}
                </button>
              </div>
            </fieldset>
          );
        })}
        <button
          type="button"
          onClick={() => setForm({ ...form, destinations: [...form.destinations, newDestination()] })}
        >
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
      <DeadLetters />
    </>
  );
}

interface DeadLetter {
  id: string;
  profileId: string;
  journeyId: string | null;
  stepId: string | null;
  toAddress: string | null;
  attempts: number;
  reason: string | null;
  createdAt: string;
}

/** How often the dead-letter list is read again while it is open. */
const DEAD_LETTERS_REFRESH_MS = 5000;

/** Calls that failed for good, with the last error, and a way to call them all again. */
function DeadLetters() {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const queryClient = useQueryClient();
  const path = workspacePath(workspace.id, '/webhooks/dead-letters');
  const journeyNames = useJourneyNames(workspace.id);
  const deadLetters = useQuery({
    queryKey: ['dead-letters', workspace.id],
    queryFn: () => api<{ items: DeadLetter[]; nextCursor: string | null }>('GET', `${path}?limit=50`),
    // Calls fail, and re-driven ones fail again, while the list is open.
    refetchInterval: DEAD_LETTERS_REFRESH_MS,
  });
  // All of them, or the ids given: a call mended at its receiver is tried again on its own.
  const redrive = useMutation({
    mutationFn: (ids?: string[]) =>
      api<{ requeued: string[]; ofArchivedJourneys: string[] }>(
        'POST',
        `${path}/redrive`,
        ids ? { ids } : {},
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['dead-letters', workspace.id] }),
  });
  const stepOf = (item: DeadLetter) =>
    item.journeyId === null
      ? t('settings.webhooks.handOff')
      : t('settings.webhooks.journeyStep', {
          journey: journeyNames.data?.get(item.journeyId) ?? item.journeyId,
          step: item.stepId ?? '—',
        });
  const items = deadLetters.data?.items ?? [];
  return (
    <section className="settings-form" aria-labelledby="settings-dead-letters-title">
      <h2 id="settings-dead-letters-title">{t('settings.webhooks.deadLetters')}</h2>
      <p className="hint">{t('settings.webhooks.deadLettersHelp')}</p>
      {deadLetters.isPending && <Loading />}
      {deadLetters.error && (
        <ErrorState error={deadLetters.error} onRetry={() => void deadLetters.refetch()} />
      )}
      {deadLetters.data && items.length === 0 && (
        <EmptyState>{t('settings.webhooks.noDeadLetters')}</EmptyState>
      )}
      {items.length > 0 && (
        <>
          {deadLetters.data?.nextCursor && <p className="hint">{t('settings.webhooks.moreDeadLetters')}</p>}
          <table className="table" data-testid="dead-letters">
            <thead>
              <tr>
                <th scope="col">{t('settings.webhooks.when')}</th>
                <th scope="col">{t('settings.webhooks.step')}</th>
                <th scope="col">{t('settings.webhooks.contact')}</th>
                <th scope="col">{t('settings.webhooks.url')}</th>
                <th scope="col" className="number">
                  {t('settings.webhooks.attempts')}
                </th>
                <th scope="col">{t('settings.webhooks.error')}</th>
                <th scope="col">
                  <span className="visually-hidden">{t('settings.webhooks.redriveOne')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={item.id}>
                  <td>
                    <time dateTime={item.createdAt}>{format.dateTime(item.createdAt)}</time>
                  </td>
                  <td>{stepOf(item)}</td>
                  <td>
                    <ContactLink profileId={item.profileId} />
                  </td>
                  <td className="breaks-anywhere">{item.toAddress ?? '—'}</td>
                  <td className="number">{item.attempts}</td>
                  <td className="breaks-anywhere">{item.reason ?? '—'}</td>
                  <td>
                    <button
                      type="button"
                      disabled={redrive.isPending}
                      aria-label={t('settings.webhooks.redriveOneLabel', {
                        step: stepOf(item),
                        when: format.dateTime(item.createdAt),
                      })}
                      onClick={() => redrive.mutate([item.id])}
                    >
                      {t('settings.webhooks.redriveOne')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" disabled={redrive.isPending} onClick={() => redrive.mutate(undefined)}>
            {t('settings.webhooks.redrive')}
          </button>
        </>
      )}
      {redrive.isSuccess && (
        <p role="status">
          {t('settings.webhooks.redriven', { count: redrive.data.requeued.length })}
          {redrive.data.ofArchivedJourneys.length > 0 &&
            ` ${t('settings.webhooks.leftArchived', { count: redrive.data.ofArchivedJourneys.length })}`}
        </p>
      )}
      {redrive.error && <p role="alert">{errorMessage(redrive.error, t)}</p>}
    </section>
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

/** A failed call's contact, by who they are (their e-mail or name), linked to their messages. */
function ContactLink(props: { profileId: string }) {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const profile = useProfile(workspace.id, props.profileId);
  const label = profile.data
    ? contactLabel(profile.data.id, profile.data.traits)
    : t('settings.webhooks.openContact');
  return <Link to={`/contacts/${encodeURIComponent(props.profileId)}?tab=messages`}>{label}</Link>;
}
