import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../app/api.js';

export function Loading() {
  const { t } = useTranslation();
  return (
    <p className="state" role="status" aria-live="polite">
      {t('common.loading')}
    </p>
  );
}

/**
 * What went wrong, in the user's language where we know the code, with a way to try again — or,
 * for something not there (deleted, or a wrong link), where trying again cannot help, a way back.
 */
export function ErrorState(props: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  const isMissing = props.error instanceof ApiError && props.error.status === 404;
  const title = isMissing
    ? 'common.notFoundTitle'
    : isRefusal(props.error)
      ? 'common.refusedTitle'
      : 'common.errorTitle';
  return (
    <div className="state state-error" role="alert">
      <strong>{t(title)}</strong>
      <p>{errorMessage(props.error, t)}</p>
      {isMissing ? (
        <button type="button" onClick={goBack}>
          {t('common.goBack')}
        </button>
      ) : (
        props.onRetry && (
          <button type="button" onClick={props.onRetry}>
            {t('common.retry')}
          </button>
        )
      )}
    </div>
  );
}

/**
 * A request Mops answered by refusing it, saying why (a field at fault, a segment still in use): the
 * user's to change, not a failure to report.
 */
function isRefusal(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 400 || error.status === 409 || error.status === 422);
}

/** Back where the user came from; opened from a link elsewhere, to the console's start. */
function goBack(): void {
  if (window.history.length > 1) window.history.back();
  else window.location.assign('/');
}

export function EmptyState(props: { children: ReactNode }) {
  return <div className="state state-empty">{props.children}</div>;
}

export function errorMessage(error: unknown, t: (key: string) => string): string {
  if (error instanceof ApiError) {
    if (error.isWorded) return error.message;
    if (['unauthorized', 'forbidden', 'network'].includes(error.code)) return t(`errors.${error.code}`);
    // A page's own subject missing; a form's field naming something missing says which.
    if (error.code === 'not_found' && error.field === undefined) return t('errors.not_found');
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
