import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import { useSession } from '../app/session.js';
import { ErrorState, Loading } from '../components/states.js';
import { Tabs } from '../components/tabs.js';
import { LimitsSection } from './LimitsSection.js';
import { PasswordSection } from './PasswordSection.js';
import { SmsSection } from './SmsSection.js';
import { SmtpSection } from './SmtpSection.js';
import { useSettings } from './settings-api.js';
import type { SettingsView } from './settings-model.js';
import { TopicsSection } from './TopicsSection.js';
import { UsersSection } from './UsersSection.js';
import { WebhooksSection } from './WebhooksSection.js';
import './messages.js';
import './settings.css';

const TABS = ['email', 'sms', 'webhooks', 'topics', 'limits', 'users', 'password'] as const;
type TabId = (typeof TABS)[number];
const isTab = (value: string | null): value is TabId => TABS.some((tab) => tab === value);

/** Workspace settings by section, the workspace's users, and one's own password; the tab is in the URL. */
export function SettingsPage() {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const [params, setParams] = useSearchParams();
  const requested = params.get('tab');
  const selected: TabId = isTab(requested) ? requested : 'email';
  const tabs = TABS.map((id) => ({ id, label: t(`settings.tabs.${id}`) }));

  return (
    <>
      <h1>{t('settings.title')}</h1>
      <p className="hint">
        <Link to="/settings/keys">{t('nav.apiKeys')}</Link>
      </p>
      <Tabs
        orientation="vertical"
        label={t('settings.sections')}
        tabs={tabs}
        selected={selected}
        onSelect={(tab) => setParams({ tab }, { replace: true })}
      >
        {/* Keyed by workspace: another workspace's settings start from a fresh form. */}
        <div key={`${workspace.id}-${selected}`}>{panel(selected)}</div>
      </Tabs>
    </>
  );
}

function panel(tab: TabId): ReactNode {
  switch (tab) {
    case 'email':
      return <WithSettings>{(settings) => <SmtpSection settings={settings} />}</WithSettings>;
    case 'sms':
      return <WithSettings>{(settings) => <SmsSection settings={settings} />}</WithSettings>;
    case 'webhooks':
      return <WithSettings>{(settings) => <WebhooksSection settings={settings} />}</WithSettings>;
    case 'topics':
      return <WithSettings>{(settings) => <TopicsSection settings={settings} />}</WithSettings>;
    case 'limits':
      return <WithSettings>{(settings) => <LimitsSection settings={settings} />}</WithSettings>;
    case 'users':
      return <UsersSection />;
    case 'password':
      return <PasswordSection />;
  }
}

function WithSettings(props: { children: (settings: SettingsView) => ReactNode }) {
  const settings = useSettings();
  if (settings.isPending) return <Loading />;
  if (settings.error) return <ErrorState error={settings.error} onRetry={() => void settings.refetch()} />;
  return props.children(settings.data);
}
