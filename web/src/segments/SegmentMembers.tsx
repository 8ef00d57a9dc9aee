import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { isAdminOf, useSession } from '../app/session.js';
import { EmptyState, ErrorState, Loading } from '../components/states.js';
import { contactLabel, type MembersPage, type SegmentJson } from './segment-api.js';

const MEMBERS_PER_PAGE = 25;

/** The segment's members, a page at a time (the API pages with a cursor). */
export function SegmentMembers(props: { segment: SegmentJson }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const { segment } = props;
  // The cursors of the pages seen so far: the last one is the current page's.
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const cursor = cursors.at(-1);
  const members = useQuery({
    // A change in count or status means other members: ask again.
    queryKey: ['segment-members', workspace.id, segment.id, segment.version, segment.members, cursor],
    queryFn: () =>
      api<MembersPage>(
        'GET',
        workspacePath(
          workspace.id,
          `/segments/${encodeURIComponent(segment.id)}/members?limit=${MEMBERS_PER_PAGE}${
            cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''
          }`,
        ),
      ),
    placeholderData: keepPreviousData,
  });
  const page = cursors.length;
  return (
    <section className="segment-members" aria-labelledby="segment-members-title">
      <div className="segment-members-head">
        <h2 id="segment-members-title">
          {t('segments.membersList.title')} ({format.number(segment.members)})
        </h2>
        {/* Every member's personal data at once: for admins, as the API has it. */}
        {isAdminOf(workspace) && segment.members > 0 && segment.status === 'ready' && (
          <a
            className="download"
            href={workspacePath(workspace.id, `/segments/${encodeURIComponent(segment.id)}/export`)}
            download
          >
            {t('segments.membersList.download')}
          </a>
        )}
      </div>
      {members.isPending && <Loading />}
      {members.error && <ErrorState error={members.error} onRetry={() => void members.refetch()} />}
      {members.data?.items.length === 0 && page === 1 && (
        <EmptyState>
          {segment.status === 'backfilling'
            ? t('segments.membersList.waiting')
            : segment.kind === 'static'
              ? t('segments.membersList.emptyStatic')
              : t('segments.membersList.emptyLive')}
        </EmptyState>
      )}
      {members.data && members.data.items.length > 0 && (
        <table className="table" data-testid="segment-members">
          <thead>
            <tr>
              <th scope="col">{t('segments.membersList.contact')}</th>
              <th scope="col">{t('segments.membersList.entered')}</th>
            </tr>
          </thead>
          <tbody>
            {members.data.items.map((member) => (
              <tr key={member.profileId}>
                <td>
                  <Link to={`/contacts/${encodeURIComponent(member.profileId)}`}>
                    {contactLabel(member.profileId, member.traits)}
                  </Link>
                </td>
                <td>{format.dateTime(member.enteredAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(page > 1 || members.data?.nextCursor) && (
        <nav className="pager" aria-label={t('segments.membersList.title')}>
          <button type="button" disabled={page <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
            {t('common.previous')}
          </button>
          <span>{format.number(page)}</span>
          <button
            type="button"
            disabled={!members.data?.nextCursor}
            onClick={() => {
              const next = members.data?.nextCursor;
              if (next) setCursors([...cursors, next]);
            }}
          >
            {t('common.next')}
          </button>
        </nav>
      )}
    </section>
  );
}
