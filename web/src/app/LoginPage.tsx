import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { Field } from '../components/field.js';
import { errorMessage } from '../components/states.js';
import { ApiError, api } from './api.js';
import { LanguageSwitcher } from './Layout.js';
import type { User } from './session.js';

export function LoginPage() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [failure, setFailure] = useState<{ field?: string; message: string }>();
  const [isBusy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!email.trim()) return setFailure({ field: 'email', message: t('common.required') });
    if (!password) return setFailure({ field: 'password', message: t('common.required') });
    setBusy(true);
    setFailure(undefined);
    try {
      const { user } = await api<{ user: User }>('POST', '/api/auth/login', { email, password });
      queryClient.setQueryData(['me'], user);
    } catch (error) {
      const field = error instanceof ApiError ? error.field : undefined;
      setFailure({ ...(field ? { field } : {}), message: errorMessage(error, t) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login" id="main">
      <form className="card login-card" onSubmit={submit} noValidate aria-labelledby="login-title">
        <h1 id="login-title">{t('login.title')}</h1>
        <p className="hint">
          <Trans i18nKey="login.firstRun" components={[<code key="command" />]} />
        </p>
        <Field label={t('login.email')} error={failure?.field === 'email' ? failure.message : undefined}>
          {(control) => (
            <input
              {...control}
              type="email"
              autoComplete="username"
              value={email}
              onChange={(event) => setEmail(event.target.value)}
            />
          )}
        </Field>
        <Field
          label={t('login.password')}
          error={failure?.field === 'password' ? failure.message : undefined}
        >
          {(control) => (
            <input
              {...control}
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(event) => setPassword(event.target.value)}
            />
          )}
        </Field>
        {failure && !['email', 'password'].includes(failure.field ?? '') && (
          <p className="field-error" role="alert">
            {t('login.failed')}: {failure.message}
          </p>
        )}
        <button type="submit" className="primary" disabled={isBusy}>
          {t('login.submit')}
        </button>
        <LanguageSwitcher />
      </form>
    </main>
  );
}
