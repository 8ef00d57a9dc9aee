import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { isAdminOf, useSession } from '../app/session.js';
import { ErrorState } from '../components/states.js';

const SHOWN = 20;

interface SetAsideEvent {
  id: string;
  consumer: string;
  eventId: string;
  messageId: string;
  type: string;
  name: string | null;
  reason: string;
  setAsideAt: string;
  isRetriable: boolean;
}

interface SetAsideTimer {
  id: string;
  kind: string;
  subject: string;
  token: string | null;
  dueAt: string;
  reason: string;
  setAsideAt: string;
}

type Action = 'retry' | 'dismiss';

/**
 * What processing failed on at every attempt and went past: rare, and each one a bug to report. A card
 * shows only when there is one, whatever the range, so it cannot be missed. Admins retry one (where
 * its work can be redone) or dismiss it once handled; the card says how that went.
 */
function SetAsideCard<T extends { id: string; reason: string; setAsideAt: string }>(props: {
  /** `events` or `timers`: the API path (`/set-aside-…`) and the messages' key. */
  what: 'events' | 'timers';
  /** The columns between "Set aside" and "Error". */
  headings: string[];
  cells: (item: T) => ReactNode[];
  isRetriable: (item: T) => boolean;
}) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const queryClient = useQueryClient();
  const isAdmin = isAdminOf(workspace);
  const [outcome, setOutcome] = useState<{ isDone: boolean; text: string } | undefined>();
  const resolve = useMutation({
    mutationFn: ({ item, action }: { item: T; action: Action }) =>
      api<T>('POST', workspacePath(workspace.id, `/set-aside-${props.what}/${item.id}/${action}`)),
    onSuccess: (_resolved, { action }) =>
      setOutcome({ isDone: true, text: t(`dashboard.setAside.${props.what}.${action}Done`) }),
    onError: (error) =>
      setOutcome({
        isDone: false,
        text: t('dashboard.setAside.failed', {
          message: error instanceof Error ? error.message : String(error),
        }),
      }),
    onSettled: () =>
      queryClient.invalidateQueries({ queryKey: ['dashboard', `set-aside-${props.what}`, workspace.id] }),
  });
  const setAside = useQuery({
    queryKey: ['dashboard', `set-aside-${props.what}`, workspace.id],
    queryFn: () =>
      api<{ items: T[]; nextCursor: string | null }>(
        'GET',
        workspacePath(workspace.id, `/set-aside-${props.what}?limit=${SHOWN}`),
      ),
  });
  const titleId = `dash-set-aside-${props.what}-title`;
  const title = <h2 id={titleId}>{t(`dashboard.setAside.${props.what}.title`)}</h2>;
  if (setAside.error)
    return (
      <section className="card" aria-labelledby={titleId}>
        {title}
        <ErrorState error={setAside.error} onRetry={() => void setAside.refetch()} />
      </section>
    );
  const items = setAside.data?.items ?? [];
  // The outcome stays in view after the last one is resolved.
  if (items.length === 0 && !outcome) return null;
  const act = (item: T, action: Action) => {
    setOutcome(undefined);
    resolve.mutate({ item, action });
  };
  return (
    <section className="card dash-set-aside" aria-labelledby={titleId}>
      {title}
      <p className="hint">{t(`dashboard.setAside.${props.what}.help`)}</p>
      {outcome && (
        <p role={outcome.isDone ? 'status' : 'alert'} className={outcome.isDone ? 'notice' : 'field-error'}>
          {outcome.text}
        </p>
      )}
      {items.length > 0 && (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t('dashboard.setAside.setAsideAt')}</th>
                {props.headings.map((heading) => (
                  <th key={heading} scope="col">
                    {heading}
                  </th>
                ))}
                <th scope="col">{t('dashboard.setAside.reason')}</th>
                {isAdmin && <th scope="col">{t('dashboard.setAside.actions')}</th>}
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={item.id}>
                  <td>{format.dateTime(item.setAsideAt)}</td>
                  {props.cells(item).map((cell, index) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: the columns are fixed, in order
                    <td key={index}>{cell}</td>
                  ))}
                  <td className="dash-set-aside-reason">{item.reason}</td>
                  {isAdmin && (
                    <td className="dash-set-aside-actions">
                      {props.isRetriable(item) && (
                        <button
                          type="button"
                          className="button"
                          disabled={resolve.isPending}
                          onClick={() => act(item, 'retry')}
                        >
                          {t('dashboard.setAside.retry')}
                        </button>
                      )}
                      <button
                        type="button"
                        className="button secondary"
                        disabled={resolve.isPending}
                        onClick={() => act(item, 'dismiss')}
                      >
                        {t('dashboard.setAside.dismiss')}
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {setAside.data?.nextCursor && (
        <p className="hint">
          {t('dashboard.setAside.more', { count: SHOWN, path: `/set-aside-${props.what}` })}
        </p>
      )}
    </section>
  );
}

/** Stored events a consumer of the log (contact resolution, scoring, segments, journeys) went past. */
export function SetAsideEvents() {
  const { t } = useTranslation();
  return (
    <SetAsideCard<SetAsideEvent>
      what="events"
      headings={[
        t('dashboard.setAside.consumer'),
        t('dashboard.setAside.event'),
        t('dashboard.setAside.messageId'),
      ]}
      cells={(event) => [
        t(`dashboard.setAside.consumers.${event.consumer}`, { defaultValue: event.consumer }),
        event.name ?? event.type,
        <code key="message">{event.messageId}</code>,
      ]}
      isRetriable={(event) => event.isRetriable}
    />
  );
}

/** Due timers (journey waits, segment windows, hand-off SLAs, stage checks) that no longer fall due. */
export function SetAsideTimers() {
  const { t } = useTranslation();
  const format = useFormat();
  return (
    <SetAsideCard<SetAsideTimer>
      what="timers"
      headings={[
        t('dashboard.setAside.kind'),
        t('dashboard.setAside.subject'),
        t('dashboard.setAside.dueAt'),
      ]}
      cells={(timer) => [
        t(`dashboard.setAside.kinds.${timer.kind}`, { defaultValue: timer.kind }),
        <code key="subject">{timer.token ? `${timer.subject} (${timer.token})` : timer.subject}</code>,
        format.dateTime(timer.dueAt),
      ]}
      isRetriable={() => true}
    />
  );
}
