import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { EmptyState, ErrorState, errorMessage, Loading } from '../components/states.js';
import { useJourneyNames, useProfile } from '../contacts/contact-api.js';
import { contactLabel } from '../segments/segment-api.js';

interface DeadLetter {
  id: string;
  profileId: string;
  journeyId: string | null;
  stepId: string | null;
  toAddress: string | null;
  webhookDestination: string | null;
  attempts: number;
  reason: string | null;
  createdAt: string;
}

/** How often the list is read again while it is open. */
const REFRESH_MS = 5000;

/**
 * Messages of one channel that failed for good (webhook calls, texts), with the last error, and a
 * way to send them again, one or all. `messages` names the console messages that say it for the
 * channel (`settings.webhooks`: calls; `settings.sms.failed`: texts). Webhook calls go to one of
 * several `destinations` (their ids): the list and the re-drive of all then take one of them, as a
 * receiver is mended on its own.
 */
export function FailedMessages(props: {
  path: '/webhooks/dead-letters' | '/sms/failed';
  messages: string;
  destinations?: string[];
}) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const queryClient = useQueryClient();
  const path = workspacePath(workspace.id, props.path);
  const titleId = useId();
  const filterId = useId();
  /** The destination whose calls are listed; '' for all. */
  const [destination, setDestination] = useState('');
  const say = (key: string, values?: Record<string, unknown>) => t(`${props.messages}.${key}`, values);
  const journeyNames = useJourneyNames(workspace.id);
  const deadLetters = useQuery({
    queryKey: ['dead-letters', workspace.id, props.path, destination],
    queryFn: () =>
      api<{ items: DeadLetter[]; nextCursor: string | null }>(
        'GET',
        `${path}?limit=50${destination === '' ? '' : `&destination=${encodeURIComponent(destination)}`}`,
      ),
    // Calls fail, and re-driven ones fail again, while the list is open.
    refetchInterval: REFRESH_MS,
  });
  // All of them (of the destination listed), or the ids given: a call mended at its receiver is
  // tried again on its own.
  const redrive = useMutation({
    mutationFn: (ids?: string[]) =>
      api<{ requeued: string[]; ofArchivedJourneys: string[] }>(
        'POST',
        `${path}/redrive`,
        ids ? { ids } : destination === '' ? {} : { destination },
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['dead-letters', workspace.id, props.path] }),
  });
  const stepOf = (item: DeadLetter) =>
    item.journeyId === null
      ? say('handOff')
      : say('journeyStep', {
          journey: journeyNames.data?.get(item.journeyId) ?? item.journeyId,
          step: item.stepId ?? '—',
        });
  const items = deadLetters.data?.items ?? [];
  // Those of the settings, and those of calls listed that a destination removed since had made.
  const destinations = props.destinations && [
    ...new Set([
      ...props.destinations,
      ...items.flatMap((item) => (item.webhookDestination === null ? [] : [item.webhookDestination])),
      ...(destination === '' ? [] : [destination]),
    ]),
  ];
  return (
    <section className="settings-form" aria-labelledby={titleId}>
      <h2 id={titleId}>{say('deadLetters')}</h2>
      <p className="hint">{say('deadLettersHelp')}</p>
      {deadLetters.isPending && <Loading />}
      {deadLetters.error && (
        <ErrorState error={deadLetters.error} onRetry={() => void deadLetters.refetch()} />
      )}
      {destinations && (items.length > 0 || destination !== '') && (
        <div className="field settings-narrow">
          <label htmlFor={filterId}>{say('filterDestination')}</label>
          <select id={filterId} value={destination} onChange={(event) => setDestination(event.target.value)}>
            <option value="">{say('allDestinations')}</option>
            {destinations.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </div>
      )}
      {deadLetters.data && items.length === 0 && (
        <EmptyState>
          {destination === '' ? say('noDeadLetters') : say('noDeadLettersTo', { destination })}
        </EmptyState>
      )}
      {items.length > 0 && (
        <>
          {deadLetters.data?.nextCursor && <p className="hint">{say('moreDeadLetters')}</p>}
          <div className="table-scroll">
            <table className="table" data-testid="dead-letters">
              <thead>
                <tr>
                  <th scope="col">{say('when')}</th>
                  <th scope="col">{say('step')}</th>
                  <th scope="col">{say('contact')}</th>
                  {destinations && <th scope="col">{say('filterDestination')}</th>}
                  <th scope="col">{say('url')}</th>
                  <th scope="col" className="number">
                    {say('attempts')}
                  </th>
                  <th scope="col">{say('error')}</th>
                  <th scope="col">
                    <span className="visually-hidden">{say('redriveOne')}</span>
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
                    {destinations && <td>{item.webhookDestination ?? '—'}</td>}
                    <td className="breaks-anywhere">{item.toAddress ?? '—'}</td>
                    <td className="number">{item.attempts}</td>
                    <td className="breaks-anywhere">{item.reason ?? '—'}</td>
                    <td>
                      <button
                        type="button"
                        disabled={redrive.isPending}
                        aria-label={say('redriveOneLabel', {
                          step: stepOf(item),
                          when: format.dateTime(item.createdAt),
                        })}
                        onClick={() => redrive.mutate([item.id])}
                      >
                        {say('redriveOne')}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <button type="button" disabled={redrive.isPending} onClick={() => redrive.mutate(undefined)}>
            {destination === '' ? say('redrive') : say('redriveTo', { destination })}
          </button>
        </>
      )}
      {redrive.isSuccess && (
        <p role="status">
          {say('redriven', { count: redrive.data.requeued.length })}
          {redrive.data.ofArchivedJourneys.length > 0 &&
            ` ${say('leftArchived', { count: redrive.data.ofArchivedJourneys.length })}`}
        </p>
      )}
      {redrive.error && <p role="alert">{errorMessage(redrive.error, t)}</p>}
    </section>
  );
}

/** A failed message's contact, by who they are (their e-mail or name), linked to their messages. */
function ContactLink(props: { profileId: string }) {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const profile = useProfile(workspace.id, props.profileId);
  const label = profile.data
    ? contactLabel(profile.data.id, profile.data.traits)
    : t('settings.webhooks.openContact');
  return <Link to={`/contacts/${encodeURIComponent(props.profileId)}?tab=messages`}>{label}</Link>;
}
