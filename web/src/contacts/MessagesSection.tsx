import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import {
  CONSENT_CHANNELS,
  type ConsentChannel,
  isHeldBySuppression,
} from '../../../src/core/topic-consent.js';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { wordMessageReason } from '../app/message-reasons.js';
import { useScoringDefinitions } from '../app/workspace-queries.js';
import { EmptyState, ErrorState, Loading } from '../components/states.js';
import { CursorPager } from './CursorPager.js';
import { useJourneyNames, useMessagesOf, useSubscriptions } from './contact-api.js';
import { useCursorPages } from './cursor-paging.js';

/** What Mops sent the contact, newest first, with what became of each message. */
export function MessagesSection(props: { workspaceId: string; profileId: string }) {
  const { t } = useTranslation();
  const format = useFormat();
  const pages = useCursorPages(props.profileId);
  const messages = useMessagesOf(props.workspaceId, props.profileId, pages.cursor);
  const journeyNames = useJourneyNames(props.workspaceId);
  const items = messages.data?.items ?? [];
  const when = (iso: string | null) => (iso ? format.dateTime(iso) : t('contacts.notYet'));
  // Each cell carries its column's heading too: on a phone a message reads as a card of label and value.
  const heading = {
    subject: t('contacts.subject'),
    channel: t('contacts.channel'),
    status: t('common.status'),
    sent: t('contacts.sent'),
    opened: t('contacts.opened'),
    clicked: t('contacts.clicked'),
  };
  return (
    <div className="contact-section">
      <h2>{t('contacts.tabs.messages')}</h2>
      {messages.isPending && <Loading />}
      {messages.error && <ErrorState error={messages.error} onRetry={() => void messages.refetch()} />}
      {messages.data && items.length === 0 && !pages.hasPrevious && (
        <EmptyState>{t('contacts.noMessages')}</EmptyState>
      )}
      {items.length > 0 && (
        <table className="table cards-on-phone" aria-busy={messages.isFetching}>
          <thead>
            <tr>
              <th scope="col">{heading.subject}</th>
              <th scope="col">{heading.channel}</th>
              <th scope="col">{heading.status}</th>
              <th scope="col">{heading.sent}</th>
              <th scope="col">{heading.opened}</th>
              <th scope="col">{heading.clicked}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((message) => (
              <tr key={message.id}>
                <td data-label={heading.subject}>
                  {message.subject ?? message.toAddress ?? t('contacts.notYet')}
                  {message.journeyId && (
                    <div className="hint">
                      <Link to={`/journeys/${encodeURIComponent(message.journeyId)}`}>
                        {journeyNames.data?.get(message.journeyId) ?? t('contacts.journey')}
                      </Link>
                    </div>
                  )}
                </td>
                <td data-label={heading.channel}>
                  {t(`contacts.channels.${message.channel}`, { defaultValue: message.channel })}
                </td>
                <td data-label={heading.status}>
                  <span className={`badge message-${message.status}`}>
                    {t(`contacts.messageStatuses.${message.status}`)}
                  </span>
                  {message.reason && <div className="hint">{wordMessageReason(message.reason, t)}</div>}
                  {message.deliveredAt && (
                    <div className="hint">
                      {t('contacts.deliveredAt', { time: format.dateTime(message.deliveredAt) })}
                    </div>
                  )}
                  {message.bouncedAt && (
                    <div className="hint">
                      {t('contacts.bouncedAt', { time: format.dateTime(message.bouncedAt) })}
                    </div>
                  )}
                </td>
                <td data-label={heading.sent}>{when(message.sentAt)}</td>
                <td data-label={heading.opened}>{when(message.openedAt)}</td>
                <td data-label={heading.clicked}>{when(message.clickedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CursorPager pages={pages} nextCursor={messages.data?.nextCursor} list={t('contacts.tabs.messages')} />
    </div>
  );
}

/**
 * The contact's subscription to each topic of the workspace; for admins (`canChangeSuppressions`), a
 * way to put its address on the suppression list by hand, or to take a suppressed one off.
 */
export function SubscriptionsSection(props: {
  workspaceId: string;
  profileId: string;
  canChangeSuppressions?: boolean;
}) {
  const { t } = useTranslation();
  const subscriptions = useSubscriptions(props.workspaceId, props.profileId);
  const definitions = useScoringDefinitions(props.workspaceId);
  const topicName = (id: string) => definitions.data?.topics.find((topic) => topic.id === id)?.name ?? id;
  const topics = Object.keys(subscriptions.data?.topics ?? {});
  const channels = subscriptions.data?.channels;
  const suppressed = subscriptions.data?.suppressed;
  // A suppressed address outranks the topics it holds (an unsubscribed e-mail address still gets
  // receipts): their messages are shown held, whatever was chosen.
  const subscriptionOn = (channel: ConsentChannel, topic: string) => {
    const reason = suppressed?.[channel];
    if (reason && isHeldBySuppression({ channel, reason, topic }))
      return <span className="badge message-suppressed">{t('contacts.addressSuppressed')}</span>;
    return channels?.[channel][topic] ? t('contacts.yes') : t('contacts.no');
  };
  return (
    <div className="contact-section">
      <h2>{t('contacts.tabs.subscriptions')}</h2>
      {subscriptions.isPending && <Loading />}
      {subscriptions.error && (
        <ErrorState error={subscriptions.error} onRetry={() => void subscriptions.refetch()} />
      )}
      {subscriptions.data && topics.length === 0 && <EmptyState>{t('contacts.noTopics')}</EmptyState>}
      {topics.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">{t('contacts.topic')}</th>
              <th scope="col">{t('contacts.subscribedByEmail')}</th>
              <th scope="col">{t('contacts.subscribedBySms')}</th>
            </tr>
          </thead>
          <tbody>
            {topics.map((topic) => (
              <tr key={topic}>
                <td>{topicName(topic)}</td>
                <td>{subscriptionOn('email', topic)}</td>
                <td>{subscriptionOn('sms', topic)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {topics.length > 0 &&
        CONSENT_CHANNELS.map((channel) => {
          const reason = suppressed?.[channel];
          const address = subscriptions.data?.addresses?.[channel];
          // A number's STOP is lifted by the contact's START alone, as carriers require.
          const isLiftable =
            props.canChangeSuppressions && address && !(channel === 'sms' && reason === 'unsubscribed');
          const scope = { workspaceId: props.workspaceId, profileId: props.profileId, channel };
          if (!reason)
            return (
              props.canChangeSuppressions &&
              address && <SuppressByHand key={channel} {...scope} address={address} />
            );
          // Unsubscribed from every e-mail, receipts still go: by hand holds them too.
          const canHoldMore =
            props.canChangeSuppressions && address && channel === 'email' && reason === 'unsubscribed';
          return (
            <div key={channel}>
              <p className="hint">{t(`contacts.suppressedNote.${channel}.${reason}`)}</p>
              {isLiftable && <ChangeSuppression {...scope} address={address} change="lift" />}
              {canHoldMore && <SuppressByHand {...scope} address={address} />}
            </div>
          );
        })}
    </div>
  );
}

/** Puts the contact's address on the suppression list: a contact who asked, an address that must get nothing. */
function SuppressByHand(props: {
  workspaceId: string;
  profileId: string;
  channel: ConsentChannel;
  address: string;
}) {
  const { t } = useTranslation();
  return (
    <div>
      <ChangeSuppression {...props} change="add" />
      <p className="hint">{t('contacts.suppressByHandHint')}</p>
    </div>
  );
}

/**
 * Puts the contact's address on the suppression list (`add`) or takes it off (`lift`: a bounce
 * reported in error, a contact who asked).
 */
function ChangeSuppression(props: {
  workspaceId: string;
  profileId: string;
  channel: ConsentChannel;
  address: string;
  change: 'add' | 'lift';
}) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const change = useMutation({
    mutationFn: () =>
      props.change === 'add'
        ? api('POST', workspacePath(props.workspaceId, '/suppressions'), {
            channel: props.channel,
            address: props.address,
          })
        : api(
            'DELETE',
            workspacePath(
              props.workspaceId,
              `/suppressions/${props.channel}/${encodeURIComponent(props.address)}`,
            ),
          ),
    onSuccess: () =>
      queryClient.invalidateQueries({
        queryKey: ['profile', props.workspaceId, props.profileId, '/subscriptions'],
      }),
  });
  return (
    <div className="actions">
      <button type="button" onClick={() => change.mutate()} disabled={change.isPending}>
        {t(props.change === 'add' ? 'contacts.suppressByHand' : 'contacts.liftSuppression', {
          address: props.address,
        })}
      </button>
      {change.error && <ErrorState error={change.error} />}
    </div>
  );
}
