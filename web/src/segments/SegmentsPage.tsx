import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { useSegmentList } from '../app/workspace-queries.js';
import { Pager, usePage } from '../components/pager.js';
import { EmptyState, ErrorState, Loading } from '../components/states.js';
import './messages.js';
import type { SegmentJson } from './segment-api.js';
import './segments.css';

/** How often the list is refreshed while a segment is still backfilling. */
const BACKFILL_POLL_MS = 2000;
const LIVE_POLL_MS = 10_000;

export function SegmentsPage() {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const segments = useSegmentList<SegmentJson>(workspace.id, {
    // Live segments' counts move as events arrive: read again now and then, often while one fills.
    refetchInterval: (items) =>
      items?.some((segment) => segment.status === 'backfilling' && segment.backfill.failure === null)
        ? BACKFILL_POLL_MS
        : items?.some((segment) => segment.kind === 'live')
          ? LIVE_POLL_MS
          : false,
  });
  const page = usePage(segments.data ?? []);

  return (
    <>
      <div className="segment-head">
        <h1>{t('segments.title')}</h1>
        <div className="spacer" />
        <Link className="button-link primary" to="/segments/new?kind=live">
          {t('segments.newLive')}
        </Link>
        <Link className="button-link" to="/segments/new?kind=static">
          {t('segments.newStatic')}
        </Link>
      </div>
      <p className="hint">{t('segments.help')}</p>
      {segments.isPending && <Loading />}
      {segments.error && <ErrorState error={segments.error} onRetry={() => void segments.refetch()} />}
      {segments.data?.length === 0 && <EmptyState>{t('segments.empty')}</EmptyState>}
      {page.items.length > 0 && (
        <>
          <table className="table" data-testid="segments">
            <thead>
              <tr>
                <th scope="col">{t('common.name')}</th>
                <th scope="col">{t('segments.kind')}</th>
                <th scope="col" className="number">
                  {t('segments.members')}
                </th>
                <th scope="col">{t('common.status')}</th>
                <th scope="col">{t('segments.updated')}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((segment) => (
                <tr key={segment.id}>
                  <td>
                    <Link to={`/segments/${encodeURIComponent(segment.id)}`}>{segment.name}</Link>
                  </td>
                  <td>
                    <span className={`badge kind-${segment.kind}`}>
                      {t(`segments.kinds.${segment.kind}`)}
                    </span>
                  </td>
                  <td className="number">{format.number(segment.members)}</td>
                  <td>
                    <span className={`badge segment-${segment.status}`}>
                      {segment.status === 'ready'
                        ? t('segments.statuses.ready')
                        : segment.backfill.failure !== null
                          ? t('segments.statuses.stopped')
                          : segment.backfill.total === 0
                            ? t('segments.statuses.preparing')
                            : t('segments.statuses.backfilling', {
                                done: format.number(segment.backfill.done),
                                total: format.number(segment.backfill.total),
                              })}
                    </span>
                  </td>
                  <td>{format.dateTime(segment.updatedAt)}</td>
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
