import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { EmptyState, ErrorState, Loading } from '../components/states.js';
import type { TimeRange } from './range.js';

const PAGE_SIZE = 10;

interface RejectedEvent {
  id: string;
  receivedAt: string;
  messageId: string | null;
  reason: string;
  field: string | null;
  payload: string;
}

/** Calls that failed validation in the range, newest first, a page at a time (the API pages with a cursor). */
export function RejectedEvents(props: { range: TimeRange }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  // The cursors of the pages passed, so Previous goes back without the API paging backwards.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const rejected = useQuery({
    queryKey: [
      'dashboard',
      'rejected',
      workspace.id,
      props.range.from.toISOString(),
      props.range.to.toISOString(),
      cursor,
    ],
    queryFn: () =>
      api<{ items: RejectedEvent[]; nextCursor: string | null }>(
        'GET',
        workspacePath(
          workspace.id,
          `/rejected-events?limit=${PAGE_SIZE}&from=${encodeURIComponent(props.range.from.toISOString())}&to=${encodeURIComponent(props.range.to.toISOString())}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        ),
      ),
  });
  const pageNumber = cursors.length + 1;
  const nextCursor = rejected.data?.nextCursor;

  return (
    <section className="card dash-rejected" aria-labelledby="dash-rejected-title">
      <h2 id="dash-rejected-title">{t('dashboard.rejected.title')}</h2>
      <p className="hint">{t('dashboard.rejected.help')}</p>
      {rejected.isPending && <Loading />}
      {rejected.error && <ErrorState error={rejected.error} onRetry={() => void rejected.refetch()} />}
      {rejected.data?.items.length === 0 && <EmptyState>{t('dashboard.rejected.empty')}</EmptyState>}
      {rejected.data && rejected.data.items.length > 0 && (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t('dashboard.rejected.receivedAt')}</th>
                <th scope="col">{t('dashboard.rejected.reason')}</th>
                <th scope="col">{t('dashboard.rejected.field')}</th>
                <th scope="col">{t('dashboard.rejected.messageId')}</th>
                <th scope="col">{t('dashboard.rejected.payload')}</th>
              </tr>
            </thead>
            <tbody>
              {rejected.data.items.map((event) => (
                <tr key={event.id}>
                  <td>{format.dateTime(event.receivedAt)}</td>
                  <td>{event.reason}</td>
                  <td>{event.field ? <code>{event.field}</code> : t('dashboard.rejected.none')}</td>
                  <td>{event.messageId ? <code>{event.messageId}</code> : t('dashboard.rejected.none')}</td>
                  <td>
                    <details>
                      <summary>{t('dashboard.rejected.show')}</summary>
                      <pre className="dash-payload">{event.payload}</pre>
                    </details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {(cursors.length > 0 || nextCursor) && (
        <nav className="pager" aria-label={t('dashboard.rejected.title')}>
          <button
            type="button"
            disabled={cursors.length === 0}
            onClick={() => setCursors(cursors.slice(0, -1))}
          >
            {t('common.previous')}
          </button>
          <span>{format.number(pageNumber)}</span>
          <button
            type="button"
            disabled={!nextCursor}
            onClick={() => nextCursor && setCursors([...cursors, nextCursor])}
          >
            {t('common.next')}
          </button>
        </nav>
      )}
    </section>
  );
}
