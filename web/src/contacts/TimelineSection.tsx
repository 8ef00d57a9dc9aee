import { useTranslation } from 'react-i18next';
import { useFormat } from '../app/format.js';
import { EmptyState, ErrorState, Loading } from '../components/states.js';
import { CursorPager } from './CursorPager.js';
import { useTimeline } from './contact-api.js';
import { eventDetails, eventTitle, type TimelineEvent } from './contact-format.js';
import { useCursorPages } from './cursor-paging.js';
import { KeyValueTable } from './ProfileSection.js';

const KNOWN_TYPES = new Set(['track', 'identify', 'page', 'screen', 'group', 'alias']);

/** The timeline's column headings, which its cells carry too: on a phone an event reads as a card. */
interface TimelineHeadings {
  type: string;
  time: string;
}

function EventRow(props: { event: TimelineEvent; heading: TimelineHeadings }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { event, heading } = props;
  const title = eventTitle(event);
  const details = eventDetails(event);
  return (
    <tr>
      <td>
        <details className="event-details">
          <summary>{'text' in title ? title.text : t(title.key, title.values)}</summary>
          {Object.keys(details).length === 0 ? (
            <p className="hint">{t('contacts.noProperties')}</p>
          ) : (
            <KeyValueTable
              values={details}
              caption={t('contacts.showProperties')}
              keyLabel={t('contacts.property')}
            />
          )}
        </details>
      </td>
      <td data-label={heading.type}>
        <span className="badge">
          {KNOWN_TYPES.has(event.type) ? t(`contacts.eventTypes.${event.type}`) : event.type}
        </span>
      </td>
      <td data-label={heading.time}>
        <time dateTime={event.timestamp}>{format.dateTime(event.timestamp)}</time>
      </td>
    </tr>
  );
}

/** Everything the contact did, newest first, a page at a time; each event opens to its properties. */
export function TimelineSection(props: { workspaceId: string; profileId: string }) {
  const { t } = useTranslation();
  const pages = useCursorPages(props.profileId);
  const timeline = useTimeline(props.workspaceId, props.profileId, pages.cursor);
  const items = timeline.data?.items ?? [];
  // The event's own cell has no label: its title names the card, and its properties take the card's width.
  const heading: TimelineHeadings = { type: t('contacts.type'), time: t('contacts.time') };
  return (
    <div className="contact-section">
      <h2>{t('contacts.tabs.timeline')}</h2>
      {timeline.isPending && <Loading />}
      {timeline.error && <ErrorState error={timeline.error} onRetry={() => void timeline.refetch()} />}
      {timeline.data && items.length === 0 && !pages.hasPrevious && (
        <EmptyState>{t('contacts.noEvents')}</EmptyState>
      )}
      {items.length > 0 && (
        <table className="table timeline cards-on-phone" aria-busy={timeline.isFetching}>
          <thead>
            <tr>
              <th scope="col">{t('contacts.event')}</th>
              <th scope="col">{heading.type}</th>
              <th scope="col">{heading.time}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((event) => (
              <EventRow key={event.id} event={event} heading={heading} />
            ))}
          </tbody>
        </table>
      )}
      <CursorPager pages={pages} nextCursor={timeline.data?.nextCursor} list={t('contacts.tabs.timeline')} />
    </div>
  );
}
