import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
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
}

/**
 * Stored events a step of processing failed on at every attempt and went past. Rare, and each one a
 * bug to report: the card shows only when there is one, whatever the range, so it cannot be missed.
 */
export function SetAsideEvents() {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const setAside = useQuery({
    queryKey: ['dashboard', 'set-aside', workspace.id],
    queryFn: () =>
      api<{ items: SetAsideEvent[]; nextCursor: string | null }>(
        'GET',
        workspacePath(workspace.id, `/set-aside-events?limit=${SHOWN}`),
      ),
  });
  if (setAside.error)
    return (
      <section className="card" aria-labelledby="dash-set-aside-title">
        <h2 id="dash-set-aside-title">{t('dashboard.setAside.title')}</h2>
        <ErrorState error={setAside.error} onRetry={() => void setAside.refetch()} />
      </section>
    );
  const items = setAside.data?.items ?? [];
  if (items.length === 0) return null;
  return (
    <section className="card dash-set-aside" aria-labelledby="dash-set-aside-title">
      <h2 id="dash-set-aside-title">{t('dashboard.setAside.title')}</h2>
      <p className="hint">{t('dashboard.setAside.help')}</p>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">{t('dashboard.setAside.setAsideAt')}</th>
            <th scope="col">{t('dashboard.setAside.consumer')}</th>
            <th scope="col">{t('dashboard.setAside.event')}</th>
            <th scope="col">{t('dashboard.setAside.messageId')}</th>
            <th scope="col">{t('dashboard.setAside.reason')}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((event) => (
            <tr key={event.id}>
              <td>{format.dateTime(event.setAsideAt)}</td>
              <td>{t(`dashboard.setAside.consumers.${event.consumer}`, { defaultValue: event.consumer })}</td>
              <td>{event.name ?? event.type}</td>
              <td>
                <code>{event.messageId}</code>
              </td>
              <td>{event.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {setAside.data?.nextCursor && <p className="hint">{t('dashboard.setAside.more', { count: SHOWN })}</p>}
    </section>
  );
}
