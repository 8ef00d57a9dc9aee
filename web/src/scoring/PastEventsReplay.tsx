import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { ErrorState } from '../components/states.js';
import './messages.js';
import type { ScoreModelJson } from './model-form.js';

/** A score model applied to past events, as `GET …/scoring/models/{model}/replays` lists them. */
export interface ScoreReplayJson {
  id: string;
  status: 'running' | 'done' | 'cancelled' | 'failed';
  profilesTotal: number;
  profilesDone: number;
  profilesScored: number;
  awards: number;
  points: number;
  finishedAt: string | null;
  reason: string | null;
}

const SINCE_OPTIONS = ['all', '30d', '90d', '365d'] as const;
/** How often a running replay is asked for its progress. */
const RUNNING_POLL_MS = 2000;

/** Applying a model to past events: the last run's outcome (or progress), and for admins the button. */
export function PastEventsReplay(props: { model: ScoreModelJson; canStart: boolean }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const queryClient = useQueryClient();
  const sinceId = useId();
  const [since, setSince] = useState<(typeof SINCE_OPTIONS)[number]>('all');
  const path = workspacePath(workspace.id, `/scoring/models/${encodeURIComponent(props.model.id)}/replays`);
  const queryKey = ['score-replays', workspace.id, props.model.id];
  const replays = useQuery({
    queryKey,
    queryFn: () => api<{ items: ScoreReplayJson[] }>('GET', path),
    refetchInterval: (query) => (query.state.data?.items[0]?.status === 'running' ? RUNNING_POLL_MS : false),
  });
  const start = useMutation({
    mutationFn: () => api<ScoreReplayJson>('POST', path, since === 'all' ? {} : { since }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey });
    },
  });
  const stop = useMutation({
    mutationFn: (id: string) =>
      api<ScoreReplayJson>(
        'POST',
        workspacePath(workspace.id, `/scoring/replays/${encodeURIComponent(id)}/cancel`),
      ),
    onSettled: async () => {
      await queryClient.invalidateQueries({ queryKey });
    },
  });
  const latest = replays.data?.items[0];
  const isRunning = latest?.status === 'running';
  // A replay that ended stored scores: the chart above counts them now, not at its next poll.
  useEffect(() => {
    if (latest && latest.status !== 'running')
      void queryClient.invalidateQueries({ queryKey: ['score-distribution', workspace.id, props.model.id] });
  }, [latest, queryClient, workspace.id, props.model.id]);

  return (
    <section className="past-events" aria-labelledby={`${sinceId}-title`}>
      <h3 id={`${sinceId}-title`}>{t('scoring.replay.title')}</h3>
      <p className="hint">{t('scoring.replay.help')}</p>
      {latest && <ReplayOutcome replay={latest} format={format} />}
      {props.canStart && isRunning && (
        <button type="button" onClick={() => stop.mutate(latest.id)} disabled={stop.isPending}>
          {t('scoring.replay.stop')}
        </button>
      )}
      {props.canStart && (
        <div className="inline-field">
          <label htmlFor={sinceId}>{t('scoring.replay.since')}</label>
          <select
            id={sinceId}
            value={since}
            onChange={(event) => setSince(event.target.value as (typeof SINCE_OPTIONS)[number])}
          >
            {SINCE_OPTIONS.map((option) => (
              <option key={option} value={option}>
                {t(`scoring.replay.sinceOptions.${option}`)}
              </option>
            ))}
          </select>
          <button
            type="button"
            onClick={() => start.mutate()}
            disabled={isRunning || start.isPending}
            aria-label={`${t('scoring.replay.start')}: ${props.model.name}`}
          >
            {t('scoring.replay.start')}
          </button>
        </div>
      )}
      {(start.error ?? stop.error ?? replays.error) && (
        <ErrorState error={start.error ?? stop.error ?? replays.error} />
      )}
    </section>
  );
}

function ReplayOutcome(props: { replay: ScoreReplayJson; format: ReturnType<typeof useFormat> }) {
  const { t } = useTranslation();
  const { replay, format } = props;
  if (replay.status === 'running') {
    const progress = t('scoring.replay.running', {
      done: format.number(replay.profilesDone),
      total: format.number(Math.max(replay.profilesTotal, replay.profilesDone)),
    });
    return (
      <div className="segment-status" role="status">
        <progress
          max={Math.max(replay.profilesTotal, replay.profilesDone, 1)}
          value={replay.profilesDone}
          aria-label={progress}
        />
        <span>{progress}</span>
      </div>
    );
  }
  if (replay.status === 'done')
    return (
      <p className="notice" role="status">
        {t('scoring.replay.done', {
          at: format.dateTime(replay.finishedAt),
          scored: format.number(replay.profilesScored),
          points: format.number(replay.points),
          awards: format.number(replay.awards),
        })}
      </p>
    );
  return (
    // Not an alert: an outcome from before is read on every visit, not news.
    <p className="field-error">{t(`scoring.replay.${replay.status}`, { reason: replay.reason ?? '' })}</p>
  );
}
