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

/** What went wrong, in the user's language where we know the code, with a way to try again. */
export function ErrorState(props: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  return (
    <div className="state state-error" role="alert">
      <strong>{t(isRefusal(props.error) ? 'common.refusedTitle' : 'common.errorTitle')}</strong>
      <p>{errorMessage(props.error, t)}</p>
      {props.onRetry && (
        <button type="button" onClick={props.onRetry}>
          {t('common.retry')}
        </button>
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

export function EmptyState(props: { children: ReactNode }) {
  return <div className="state state-empty">{props.children}</div>;
}

export function errorMessage(error: unknown, t: (key: string) => string): string {
  if (error instanceof ApiError) {
    if (['unauthorized', 'forbidden', 'network'].includes(error.code)) return t(`errors.${error.code}`);
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
