import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { useBlocker } from 'react-router-dom';

/**
 * Holds back leaving a page whose work is not saved: a link in the console asks first (stay, or leave
 * and lose it), and closing or reloading the tab gets the browser's own question.
 *
 * @example <UnsavedChangesGuard isDirty={draft !== saved} />
 */
export function UnsavedChangesGuard(props: { isDirty: boolean }) {
  const { t } = useTranslation();
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) =>
      props.isDirty && currentLocation.pathname !== nextLocation.pathname,
  );
  const stayRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!props.isDirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [props.isDirty]);

  const isAsking = blocker.state === 'blocked';
  useEffect(() => {
    if (isAsking) stayRef.current?.focus();
  }, [isAsking]);

  if (!isAsking) return null;
  return (
    <div className="unsaved-backdrop">
      <div
        className="unsaved-dialog"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby="unsaved-title"
        aria-describedby="unsaved-message"
        onKeyDown={(event) => {
          if (event.key === 'Escape') blocker.reset();
        }}
      >
        <h2 id="unsaved-title">{t('unsaved.title')}</h2>
        <p id="unsaved-message">{t('unsaved.message')}</p>
        <div className="unsaved-actions">
          <button ref={stayRef} type="button" className="primary" onClick={() => blocker.reset()}>
            {t('unsaved.stay')}
          </button>
          <button type="button" className="danger" onClick={() => blocker.proceed()}>
            {t('unsaved.leave')}
          </button>
        </div>
      </div>
    </div>
  );
}
