import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../app/api.js';
import { useFormat } from '../app/format.js';

export interface MemberEntryJson {
  segmentId: string;
  status: 'running' | 'done' | 'cancelled' | 'failed';
  membersTotal: number;
  membersDone: number;
  entered: number;
  reason: string | null;
  waitingFor: 'journey_paused' | 'segment_backfilling' | 'journeys_catching_up' | null;
}

/** How often a running entry's progress is read again. */
const PROGRESS_REFRESH_MS = 2000;

/**
 * How far the segment's current members have got into the journey (a journey published to take them):
 * refreshed while it runs, then how it ended. Nothing for a journey that never took them.
 */
export function MemberEntryProgress(props: { journeyPath: string; publishedVersion: number | null }) {
  const { t } = useTranslation();
  const format = useFormat();
  const progress = useQuery({
    // A new version may start (or stop) one: read again after each publish.
    queryKey: ['journey-member-entry', props.journeyPath, props.publishedVersion],
    queryFn: async () =>
      (await api<{ memberEntry: MemberEntryJson | null }>('GET', props.journeyPath)).memberEntry,
    enabled: props.publishedVersion !== null,
    refetchInterval: (query) => (query.state.data?.status === 'running' ? PROGRESS_REFRESH_MS : false),
  });
  const entry = progress.data;
  if (!entry) return null;
  const counts = {
    done: format.number(entry.membersDone),
    total: format.number(Math.max(entry.membersTotal, entry.membersDone)),
    entered: format.number(entry.entered),
  };
  return (
    <p className="notice" data-testid="member-entry">
      {entry.status === 'running' && (
        <>
          <progress
            max={Math.max(entry.membersTotal, entry.membersDone, 1)}
            value={entry.membersDone}
            aria-label={t('builder.memberEntry.label')}
          />{' '}
        </>
      )}
      {t(
        `builder.memberEntry.${entry.status === 'done' && entry.entered === entry.membersDone ? 'doneAll' : entry.status}`,
        counts,
      )}
      {entry.waitingFor && ` — ${t(`builder.memberEntry.waitingFor.${entry.waitingFor}`)}`}
      {entry.reason && ` — ${entry.reason}`}
    </p>
  );
}
