import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { useScoringDefinitions } from '../app/workspace-queries.js';
import { EmptyState, ErrorState, Loading } from '../components/states.js';
import { contactLabel } from '../segments/segment-api.js';

const STATUSES = [
  'awaiting_identity',
  'pending',
  'accepted',
  'passed',
  'breached',
  'recycled',
  'dropped',
] as const;
type HandOffStatus = (typeof STATUSES)[number];
/**
 * What the list can be narrowed to: a status, or every hand-off whose SLA ran out — breached, or
 * recycled when the workspace sends missed leads back (a status alone would hide those among recycles).
 */
type HandOffFilter = HandOffStatus | 'missed' | '';
const PAGE_SIZE = 25;

interface HandOff {
  id: string;
  profileId: string;
  /** null while owed (`awaiting_identity`): the owner is assigned when the hand-off is made. */
  owner: string | null;
  status: HandOffStatus;
  createdAt: string;
  acceptBy: string | null;
  acceptedAt: string | null;
  breachedAt: string | null;
  traits: Record<string, unknown>;
}

/** Sales hand-offs, newest first, filtered by status and paged with the server's cursor. */
export function HandOffsSection() {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const statusId = useId();
  const [filter, setFilter] = useState<HandOffFilter>('');
  // The cursors of the pages before the current one, and the current one's (undefined: the first page).
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const cursor = cursors.at(-1);
  const handOffs = useQuery({
    queryKey: ['hand-offs', workspace.id, filter, cursor],
    queryFn: () => {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (filter === 'missed') query.set('missed', 'true');
      else if (filter) query.set('status', filter);
      if (cursor) query.set('cursor', cursor);
      return api<{ items: HandOff[]; nextCursor: string | null }>(
        'GET',
        workspacePath(workspace.id, `/hand-offs?${query}`),
      );
    },
    // SLAs run out while the list is open.
    refetchInterval: 5000,
  });
  // Owners by id, to show names; an owner since removed from the settings shows as its id.
  // From what every member may read: members see hand-offs too.
  const definitions = useScoringDefinitions(workspace.id);
  const owners = new Map((definitions.data?.owners ?? []).map((owner) => [owner.id, owner]));
  const items = handOffs.data?.items ?? [];
  const nextCursor = handOffs.data?.nextCursor ?? null;

  return (
    <>
      <div className="inline-form">
        <div className="field">
          <label htmlFor={statusId}>{t('scoring.handOffs.status')}</label>
          <select
            id={statusId}
            value={filter}
            onChange={(event) => {
              setFilter(event.target.value as HandOffFilter);
              setCursors([undefined]);
            }}
          >
            <option value="">{t('scoring.handOffs.all')}</option>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {t(`scoring.handOffs.statuses.${value}`)}
              </option>
            ))}
            <option value="missed">{t('scoring.handOffs.missed')}</option>
          </select>
        </div>
      </div>
      {handOffs.isPending && <Loading />}
      {handOffs.error && <ErrorState error={handOffs.error} onRetry={() => void handOffs.refetch()} />}
      {handOffs.data && items.length === 0 && (
        <EmptyState>{filter ? t('scoring.handOffs.emptyStatus') : t('scoring.handOffs.empty')}</EmptyState>
      )}
      {items.length > 0 && (
        <table className="table" data-testid="hand-offs">
          <thead>
            <tr>
              <th scope="col">{t('scoring.handOffs.contact')}</th>
              <th scope="col">{t('scoring.handOffs.owner')}</th>
              <th scope="col">{t('common.status')}</th>
              <th scope="col">{t('scoring.handOffs.created')}</th>
              <th scope="col">{t('scoring.handOffs.acceptBy')}</th>
              <th scope="col">{t('scoring.handOffs.missedAt')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((handOff) => (
              <tr key={handOff.id}>
                <td className="breaks-anywhere">
                  <Link to={`/contacts/${encodeURIComponent(handOff.profileId)}`}>
                    {contactLabel(handOff.profileId, handOff.traits)}
                  </Link>
                </td>
                <td>
                  {handOff.owner === null ? (
                    t('scoring.handOffs.noOwnerYet')
                  ) : (
                    <>
                      {owners.get(handOff.owner)?.name ?? handOff.owner} <code>{handOff.owner}</code>
                    </>
                  )}
                </td>
                <td>
                  <span
                    className={`badge hand-off-${handOff.status}`}
                    title={
                      handOff.status === 'awaiting_identity'
                        ? t('scoring.handOffs.awaitingIdentityHint')
                        : undefined
                    }
                  >
                    {t(`scoring.handOffs.statuses.${handOff.status}`)}
                  </span>
                </td>
                <td>{format.dateTime(handOff.createdAt)}</td>
                <td>{handOff.acceptBy ? format.dateTime(handOff.acceptBy) : '—'}</td>
                <td>{handOff.breachedAt ? format.dateTime(handOff.breachedAt) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(cursors.length > 1 || nextCursor) && (
        <nav className="pager" aria-label={t('scoring.tabs.handOffs')}>
          <button
            type="button"
            disabled={cursors.length <= 1}
            onClick={() => setCursors(cursors.slice(0, -1))}
          >
            {t('common.previous')}
          </button>
          <button
            type="button"
            disabled={!nextCursor}
            onClick={() => nextCursor && setCursors([...cursors, nextCursor])}
          >
            {t('common.next')}
          </button>
        </nav>
      )}
    </>
  );
}
