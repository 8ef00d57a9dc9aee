import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { useFormat } from '../app/format.js';
import { isAdminOf, useSession } from '../app/session.js';
import { useScoringDefinitions } from '../app/workspace-queries.js';
import { ErrorState, Loading } from '../components/states.js';
import { type Tab, Tabs } from '../components/tabs.js';
import { type Intent, type ProfileDetails, useIntent, useProfile } from './contact-api.js';
import type { ScoreModelView } from './contact-format.js';
import { contactEmail, contactName } from './contact-format.js';
import { JourneysSection, SegmentsSection } from './MembershipSections.js';
import { MessagesSection, SubscriptionsSection } from './MessagesSection.js';
import { ProfileSection } from './ProfileSection.js';
import { HandOffsOfContact, ScoresSection, StageHistorySection } from './ScoreSections.js';
import { TimelineSection } from './TimelineSection.js';
import './contacts.css';
import './messages.js';

const TAB_IDS = [
  'profile',
  'timeline',
  'segments',
  'journeys',
  'messages',
  'scores',
  'stages',
  'subscriptions',
] as const;
type TabId = (typeof TAB_IDS)[number];
const isTabId = (value: string | null): value is TabId => TAB_IDS.some((id) => id === value);

function ContactHeader(props: { profile: ProfileDetails; intent: Intent | undefined }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { profile, intent } = props;
  const name = contactName(profile.traits);
  const email = contactEmail(profile.traits);
  return (
    <header className="contact-header">
      <p>
        <Link to="/contacts">{t('contacts.back')}</Link>
      </p>
      <h1>{name ?? email ?? t('contacts.anonymous')}</h1>
      <dl className="contact-facts">
        {name && email && (
          <div>
            <dt>{t('contacts.email')}</dt>
            <dd>{email}</dd>
          </div>
        )}
        <div>
          <dt>{t('contacts.stage')}</dt>
          <dd>
            <span className="badge stage" data-testid="contact-stage">
              {intent?.stage ?? t('contacts.noStage')}
            </span>
          </dd>
        </div>
        {profile.userId && (
          <div>
            <dt>{t('contacts.userId')}</dt>
            <dd>
              <code>{profile.userId}</code>
            </dd>
          </div>
        )}
        <div>
          <dt>{t('contacts.firstSeen')}</dt>
          <dd>{format.dateTime(profile.firstSeenAt)}</dd>
        </div>
        <div>
          <dt>{t('contacts.lastSeen')}</dt>
          <dd>{format.dateTime(profile.lastSeenAt)}</dd>
        </div>
      </dl>
    </header>
  );
}

export function ContactPage() {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const { profileId = '' } = useParams();
  const [searchParams, setSearchParams] = useSearchParams();
  const requested = searchParams.get('tab');
  const tab: TabId = isTabId(requested) ? requested : 'profile';
  const profile = useProfile(workspace.id, profileId);
  // A merged profile's old id answers with the survivor: everything else is asked by the survivor's id.
  const survivorId = profile.data?.id ?? profileId;
  const intent = useIntent(workspace.id, survivorId);
  const definitions = useScoringDefinitions<ScoreModelView>(workspace.id);

  if (profile.isPending) return <Loading />;
  if (profile.error) return <ErrorState error={profile.error} onRetry={() => void profile.refetch()} />;

  const tabs: Tab<TabId>[] = TAB_IDS.map((id) => ({ id, label: t(`contacts.tabs.${id}`) }));
  const scope = { workspaceId: workspace.id, profileId: survivorId };
  const intentSection = (render: (loaded: Intent) => ReactNode) =>
    intent.isPending ? (
      <Loading />
    ) : intent.error ? (
      <ErrorState error={intent.error} onRetry={() => void intent.refetch()} />
    ) : (
      render(intent.data)
    );

  return (
    <>
      <ContactHeader profile={profile.data} intent={intent.data} />
      <Tabs
        label={t('contacts.sections')}
        tabs={tabs}
        selected={tab}
        onSelect={(id) => setSearchParams({ tab: id }, { replace: true })}
      >
        {tab === 'profile' && <ProfileSection profile={profile.data} />}
        {tab === 'timeline' && <TimelineSection {...scope} />}
        {tab === 'segments' && <SegmentsSection {...scope} />}
        {tab === 'journeys' && <JourneysSection {...scope} />}
        {tab === 'messages' && <MessagesSection {...scope} />}
        {tab === 'scores' &&
          intentSection((loaded) => <ScoresSection intent={loaded} models={definitions.data?.models} />)}
        {tab === 'stages' &&
          intentSection((loaded) => (
            <>
              <StageHistorySection intent={loaded} />
              <HandOffsOfContact intent={loaded} profileId={survivorId} />
            </>
          ))}
        {tab === 'subscriptions' && (
          <SubscriptionsSection {...scope} canChangeSuppressions={isAdminOf(workspace)} />
        )}
      </Tabs>
    </>
  );
}
