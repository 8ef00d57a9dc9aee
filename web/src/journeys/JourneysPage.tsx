import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router-dom';
import { ApiError, api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { Field } from '../components/field.js';
import { Pager, usePage } from '../components/pager.js';
import { EmptyState, ErrorState, errorMessage, Loading } from '../components/states.js';
import { LoadDemoButton } from '../demo/LoadDemoButton.js';
import type { JourneyDefinition } from './graph.js';

interface JourneyListItem {
  id: string;
  name: string;
  status: 'draft' | 'published' | 'paused' | 'archived';
  currentVersion: number | null;
  updatedAt: string;
  counts: { entered: number; active: number; converted: number };
  hasGoal: boolean;
}

/** What a new journey starts as: an entry on an event, and one exit to connect it to. */
export function blankJourney(name: string): JourneyDefinition {
  return {
    name,
    entry: { trigger: { type: 'event', event: 'Signed Up', conditions: [] }, reentry: { policy: 'once' } },
    start: 'exit_1',
    steps: [{ id: 'exit_1', type: 'exit' }],
    // The exit well below the entry: room for the steps that will go between them.
    canvas: { entry: { x: 0, y: 0 }, exit_1: { x: 0, y: 450 } },
  };
}

export function JourneysPage() {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState<string>();
  const journeys = useQuery({
    queryKey: ['journeys', workspace.id],
    queryFn: async () =>
      (await api<{ items: JourneyListItem[] }>('GET', workspacePath(workspace.id, '/journeys'))).items,
    refetchInterval: 5000,
  });
  const page = usePage(journeys.data ?? []);
  const create = useMutation({
    mutationFn: (journeyName: string) =>
      api<{ id: string }>('POST', workspacePath(workspace.id, '/journeys'), {
        definition: blankJourney(journeyName),
      }),
    onSuccess: async (created) => {
      await queryClient.invalidateQueries({ queryKey: ['journeys', workspace.id] });
      void navigate(`/journeys/${created.id}`);
    },
    onError: (error) =>
      setNameError(
        error instanceof ApiError && error.field?.endsWith('name') ? error.message : errorMessage(error, t),
      ),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!name.trim()) return setNameError(t('common.required'));
    setNameError(undefined);
    create.mutate(name.trim());
  }

  return (
    <>
      <h1>{t('journeys.title')}</h1>
      <form className="inline-form" onSubmit={submit} noValidate>
        <Field label={t('journeys.newName')} error={nameError}>
          {(control) => <input {...control} value={name} onChange={(event) => setName(event.target.value)} />}
        </Field>
        <button type="submit" className="primary" disabled={create.isPending}>
          {t('journeys.new')}
        </button>
      </form>
      {journeys.isPending && <Loading />}
      {journeys.error && <ErrorState error={journeys.error} onRetry={() => void journeys.refetch()} />}
      {journeys.data?.length === 0 && (
        <EmptyState>
          <p>{t('journeys.empty')}</p>
          <LoadDemoButton />
        </EmptyState>
      )}
      {page.items.length > 0 && (
        <>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t('common.name')}</th>
                <th scope="col">{t('common.status')}</th>
                <th scope="col" className="number">
                  {t('journeys.entered')}
                </th>
                <th scope="col" className="number">
                  {t('journeys.active')}
                </th>
                <th scope="col" className="number">
                  {t('journeys.converted')}
                </th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((journey) => (
                <tr key={journey.id}>
                  <td>
                    <Link to={`/journeys/${journey.id}`}>{journey.name}</Link>
                  </td>
                  <td>
                    <span className={`badge status-${journey.status}`}>
                      {t(`journeys.statuses.${journey.status}`)}
                    </span>
                  </td>
                  <td className="number">{format.number(journey.counts.entered)}</td>
                  <td className="number">{format.number(journey.counts.active)}</td>
                  <td className="number">
                    {journey.hasGoal ? (
                      format.number(journey.counts.converted)
                    ) : (
                      <span title={t('journeys.noGoal')}>
                        <span aria-hidden="true">—</span>
                        <span className="visually-hidden">{t('journeys.noGoal')}</span>
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} />
        </>
      )}
    </>
  );
}
