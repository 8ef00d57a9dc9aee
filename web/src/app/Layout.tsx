import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { NavLink, Outlet } from 'react-router-dom';
import { LANGUAGES } from '../i18n.js';
import { useSession } from './session.js';

export function LanguageSwitcher() {
  const { t, i18n } = useTranslation();
  const id = useId();
  return (
    <div className="inline-field">
      <label htmlFor={id}>{t('nav.language')}</label>
      <select
        id={id}
        value={i18n.language}
        onChange={(event) => void i18n.changeLanguage(event.target.value)}
      >
        {LANGUAGES.map((language) => (
          <option key={language.code} value={language.code} lang={language.code}>
            {language.label}
          </option>
        ))}
      </select>
    </div>
  );
}

function WorkspaceSwitcher() {
  const { t } = useTranslation();
  const { workspaces, workspace, chooseWorkspace } = useSession();
  const id = useId();
  return (
    <div className="inline-field">
      <label htmlFor={id}>{t('nav.workspace')}</label>
      <select id={id} value={workspace.id} onChange={(event) => chooseWorkspace(event.target.value)}>
        {workspaces.map((item) => (
          <option key={item.id} value={item.id}>
            {item.name}
          </option>
        ))}
      </select>
    </div>
  );
}

export function Layout() {
  const { t } = useTranslation();
  const { user, logOut } = useSession();
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        {t('app.skipToContent')}
      </a>
      <header className="topbar">
        <span className="brand">{t('app.name')}</span>
        <WorkspaceSwitcher />
        <div className="spacer" />
        <LanguageSwitcher />
        <span className="user">{user.email}</span>
        <button type="button" onClick={() => void logOut()}>
          {t('nav.logOut')}
        </button>
      </header>
      <nav className="sidebar" aria-label={t('nav.main')}>
        <NavLink to="/dashboard">{t('nav.dashboard')}</NavLink>
        <NavLink to="/journeys">{t('nav.journeys')}</NavLink>
        <NavLink to="/templates">{t('nav.templates')}</NavLink>
        <NavLink to="/contacts">{t('nav.contacts')}</NavLink>
        <NavLink to="/segments">{t('nav.segments')}</NavLink>
        <NavLink to="/scoring">{t('nav.scoring')}</NavLink>
        <NavLink to="/settings" end>
          {t('nav.settings')}
        </NavLink>
        <NavLink to="/settings/keys">{t('nav.apiKeys')}</NavLink>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
