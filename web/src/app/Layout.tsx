import { useEffect, useId, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { NavLink, Outlet, useLocation } from 'react-router-dom';
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

/**
 * The window's title follows the page's heading (`Segments · Mops`), for tabs, history and screen
 * readers; pages load theirs as their data comes, so the heading is watched rather than read once.
 */
function useTitleFromHeading(main: React.RefObject<HTMLElement | null>, appName: string): void {
  useEffect(() => {
    const element = main.current;
    if (!element) return;
    const follow = () => {
      const heading = element.querySelector('h1')?.textContent?.trim();
      const title = heading ? `${heading} · ${appName}` : appName;
      if (document.title !== title) document.title = title;
    };
    follow();
    const observer = new MutationObserver(follow);
    observer.observe(element, { childList: true, subtree: true, characterData: true });
    return () => observer.disconnect();
  }, [main, appName]);
}

/** A move to another page puts focus at its start, as a page load would, not on the link left behind. */
function useFocusOnNavigation(main: React.RefObject<HTMLElement | null>): void {
  const { pathname } = useLocation();
  const isFirst = useRef(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on each move to another path.
  useEffect(() => {
    if (isFirst.current) {
      isFirst.current = false;
      return;
    }
    main.current?.focus({ preventScroll: false });
  }, [pathname, main]);
}

export function Layout() {
  const { t } = useTranslation();
  const { user, logOut } = useSession();
  const main = useRef<HTMLElement>(null);
  useTitleFromHeading(main, t('app.name'));
  useFocusOnNavigation(main);
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
      <main id="main" className="content" tabIndex={-1} ref={main}>
        <Outlet />
      </main>
    </div>
  );
}
