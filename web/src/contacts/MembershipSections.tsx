import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { useFormat } from '../app/format.js';
import { Pager, usePage } from '../components/pager.js';
import { EmptyState, ErrorState, Loading } from '../components/states.js';
import { useJourneyNames, useJourneysOf, useSegmentsOf } from './contact-api.js';

/** The segments the contact is in now, and since when. */
export function SegmentsSection(props: { workspaceId: string; profileId: string }) {
  const { t } = useTranslation();
  const format = useFormat();
  const segments = useSegmentsOf(props.workspaceId, props.profileId);
  const page = usePage(segments.data?.items ?? []);
  return (
    <div className="contact-section">
      <h2>{t('contacts.tabs.segments')}</h2>
      {segments.isPending && <Loading />}
      {segments.error && <ErrorState error={segments.error} onRetry={() => void segments.refetch()} />}
      {segments.data?.items.length === 0 && <EmptyState>{t('contacts.noSegments')}</EmptyState>}
      {page.items.length > 0 && (
        <>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t('contacts.segmentName')}</th>
                <th scope="col">{t('contacts.enteredAt')}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((membership) => (
                <tr key={membership.segmentId}>
                  <td>
                    <Link to={`/segments/${encodeURIComponent(membership.segmentId)}`}>
                      {membership.name}
                    </Link>
                  </td>
                  <td>{format.dateTime(membership.enteredAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} />
        </>
      )}
    </div>
  );
}

/** The engine's fixed end reasons (see journeys/executor.ts), in words; any other is shown as it came. */
const END_REASONS: Record<string, string> = {
  'reached an exit step': 'exitStep',
  'goal reached': 'goal',
  holdout: 'holdout',
  'left the entry segment': 'leftEntrySegment',
  'journey archived': 'journeyArchived',
  'merged into a profile already in this journey': 'mergedIntoInstance',
};

function endReasonText(reason: string, t: (key: string) => string): string {
  const key = END_REASONS[reason];
  return key ? t(`contacts.endReasons.${key}`) : reason;
}

/** Every journey the contact entered, and where each instance is now (its step, or how it ended). */
export function JourneysSection(props: { workspaceId: string; profileId: string }) {
  const { t } = useTranslation();
  const format = useFormat();
  const instances = useJourneysOf(props.workspaceId, props.profileId);
  const names = useJourneyNames(props.workspaceId);
  const page = usePage(instances.data?.items ?? []);
  // Each cell carries its column's heading too: on a phone an instance reads as a card of label and value.
  const heading = {
    journey: t('contacts.journey'),
    status: t('common.status'),
    whereNow: t('contacts.whereNow'),
    enteredAt: t('contacts.enteredAt'),
  };
  return (
    <div className="contact-section">
      <h2>{t('contacts.tabs.journeys')}</h2>
      {instances.isPending && <Loading />}
      {instances.error && <ErrorState error={instances.error} onRetry={() => void instances.refetch()} />}
      {instances.data?.items.length === 0 && <EmptyState>{t('contacts.noJourneys')}</EmptyState>}
      {page.items.length > 0 && (
        <>
          <table className="table cards-on-phone">
            <thead>
              <tr>
                <th scope="col">{heading.journey}</th>
                <th scope="col">{heading.status}</th>
                <th scope="col">{heading.whereNow}</th>
                <th scope="col">{heading.enteredAt}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((instance) => (
                <tr key={instance.id}>
                  <td data-label={heading.journey}>
                    <Link to={`/journeys/${encodeURIComponent(instance.journeyId)}`}>
                      {names.data?.get(instance.journeyId) ?? instance.journeyId}
                    </Link>
                    {instance.splits.map((split) => (
                      <div className="hint" key={split.stepId} data-testid="instance-split">
                        {split.arm === null
                          ? t('contacts.heldOut', { step: split.stepId })
                          : t('contacts.splitArm', { step: split.stepId, arm: split.arm })}
                      </div>
                    ))}
                  </td>
                  <td data-label={heading.status}>
                    <span className={`badge instance-${instance.status}`}>
                      {t(`contacts.instanceStatuses.${instance.status}`)}
                    </span>
                  </td>
                  <td data-label={heading.whereNow}>
                    {instance.status === 'active' && instance.stepId ? (
                      t('contacts.atStep', { step: instance.stepId })
                    ) : (
                      <>
                        {t('contacts.ended', { time: format.dateTime(instance.endedAt) })}
                        {instance.endReason && (
                          <div className="hint">{endReasonText(instance.endReason, t)}</div>
                        )}
                      </>
                    )}
                  </td>
                  <td data-label={heading.enteredAt}>{format.dateTime(instance.enteredAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} />
        </>
      )}
    </div>
  );
}
