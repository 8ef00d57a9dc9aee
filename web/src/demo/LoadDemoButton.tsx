import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, workspacePath } from '../app/api.js';
import { useSession } from '../app/session.js';
import { errorMessage } from '../components/states.js';
import './messages.js';

/**
 * Fills an empty workspace with the demo shop (`POST …/demo`, what `mops demo` does). It lives in empty
 * states, so the filled screens that replace it once loaded are its answer.
 */
export function LoadDemoButton() {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const queryClient = useQueryClient();
  const load = useMutation({
    mutationFn: () => api('POST', workspacePath(workspace.id, '/demo'), {}),
    onSuccess: () => queryClient.invalidateQueries(),
  });
  return (
    <div className="demo-offer">
      <p>{t('demo.help')}</p>
      <button type="button" className="primary" disabled={load.isPending} onClick={() => load.mutate()}>
        {t('demo.load')}
      </button>
      <div aria-live="polite">
        {load.isPending && <p>{t('demo.loading')}</p>}
        {load.error && (
          <p className="field-error" role="alert">
            {errorMessage(load.error, t)}
          </p>
        )}
      </div>
    </div>
  );
}
