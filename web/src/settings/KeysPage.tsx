import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { Field } from '../components/field.js';
import { Pager, usePage } from '../components/pager.js';
import { EmptyState, ErrorState, errorMessage, Loading } from '../components/states.js';

/** Who created or revoked a key: a user logged in or a secret key; null for the command line. */
interface KeyActor {
  kind: 'user' | 'key';
  name: string | null;
  email: string | null;
}

interface ApiKey {
  id: string;
  kind: 'write' | 'secret';
  name: string;
  hint: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdBy: KeyActor | null;
  revokedBy: KeyActor | null;
}

export function KeysPage() {
  const { t } = useTranslation();
  const format = useFormat();
  const actorName = (actor: KeyActor | null) => {
    if (actor === null) return t('keys.byCommandLine');
    if (actor.kind === 'key') return t('keys.byKey', { name: actor.name });
    if (actor.name && actor.email) return `${actor.name} (${actor.email})`;
    return actor.name ?? actor.email ?? t('keys.byRemovedUser');
  };
  const { workspace } = useSession();
  const queryClient = useQueryClient();
  const kindId = useId();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'write' | 'secret'>('write');
  const [nameError, setNameError] = useState<string>();
  const [shown, setShown] = useState<{ name: string; key: string }>();
  const keysPath = workspacePath(workspace.id, '/keys');
  const keys = useQuery({
    queryKey: ['keys', workspace.id],
    queryFn: async () => (await api<{ items: ApiKey[] }>('GET', keysPath)).items,
  });
  const page = usePage(keys.data ?? []);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['keys', workspace.id] });
  const create = useMutation({
    mutationFn: () => api<ApiKey & { key: string }>('POST', keysPath, { kind, name: name.trim() }),
    onSuccess: async (created) => {
      setShown({ name: created.name, key: created.key });
      setName('');
      await refresh();
    },
    onError: (error) =>
      setNameError(
        // Beside the name's box, the message need not repeat the field the server prefixed it with.
        error instanceof ApiError && error.field === 'name'
          ? error.message.replace(/^name: /, '')
          : errorMessage(error, t),
      ),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api('DELETE', `${keysPath}/${id}`),
    onSuccess: refresh,
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!name.trim()) return setNameError(t('common.required'));
    setNameError(undefined);
    create.mutate();
  }

  return (
    <>
      <h1>{t('keys.title')}</h1>
      <p className="hint">{t('keys.help')}</p>
      <form className="inline-form" onSubmit={submit} noValidate>
        <Field label={t('common.name')} error={nameError}>
          {(control) => <input {...control} value={name} onChange={(event) => setName(event.target.value)} />}
        </Field>
        <div className="field">
          <label htmlFor={kindId}>{t('keys.kind')}</label>
          <select
            id={kindId}
            value={kind}
            onChange={(event) => setKind(event.target.value as 'write' | 'secret')}
          >
            <option value="write">{t('keys.write')}</option>
            <option value="secret">{t('keys.secret')}</option>
          </select>
        </div>
        <button type="submit" className="primary" disabled={create.isPending}>
          {t('common.create')}
        </button>
      </form>
      {shown && (
        <div className="card key-once" role="status">
          <p>{t('keys.createdOnce')}</p>
          <p>
            <strong>{shown.name}</strong>: <code data-testid="new-key">{shown.key}</code>
          </p>
          <button type="button" onClick={() => setShown(undefined)}>
            {t('common.close')}
          </button>
        </div>
      )}
      {keys.isPending && <Loading />}
      {keys.error && <ErrorState error={keys.error} onRetry={() => void keys.refetch()} />}
      {revoke.error && <ErrorState error={revoke.error} />}
      {keys.data?.length === 0 && <EmptyState>{t('keys.empty')}</EmptyState>}
      {page.items.length > 0 && (
        <>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t('common.name')}</th>
                <th scope="col">{t('keys.kind')}</th>
                <th scope="col">{t('keys.hint')}</th>
                <th scope="col">{t('common.created')}</th>
                <th scope="col">{t('keys.createdBy')}</th>
                <th scope="col">{t('keys.lastUsed')}</th>
                <th scope="col">
                  <span className="visually-hidden">{t('keys.revoke')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((key) => (
                <tr key={key.id}>
                  <td className="breaks-anywhere">{key.name}</td>
                  <td>{key.kind === 'write' ? t('keys.write') : t('keys.secret')}</td>
                  <td className="breaks-anywhere">
                    <code>{key.hint}</code>
                  </td>
                  <td>{format.dateTime(key.createdAt)}</td>
                  <td className="breaks-anywhere">{actorName(key.createdBy)}</td>
                  <td>{key.lastUsedAt ? format.dateTime(key.lastUsedAt) : t('common.never')}</td>
                  <td>
                    {key.revokedAt ? (
                      key.revokedBy ? (
                        t('keys.revokedBy', { who: actorName(key.revokedBy) })
                      ) : (
                        t('keys.revoked')
                      )
                    ) : (
                      <button type="button" className="danger" onClick={() => revoke.mutate(key.id)}>
                        {t('keys.revoke')}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} />
        </>
      )}
    </>
  );
}
