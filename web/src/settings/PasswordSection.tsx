import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../app/api.js';
import { useSession } from '../app/session.js';
import { SaveBar, TextField, useErrorAt } from './form-parts.js';
import {
  type FieldErrors,
  type PasswordForm,
  serverFieldErrors,
  validatePassword,
} from './settings-model.js';

const BLANK: PasswordForm = { currentPassword: '', newPassword: '', repeatPassword: '' };

/** The logged-in user's own password: the first admin replaces the generated one here. */
export function PasswordSection() {
  const { t } = useTranslation();
  const { user } = useSession();
  const [form, setForm] = useState(BLANK);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<unknown>();
  const errorAt = useErrorAt(errors);
  const set = (key: keyof PasswordForm, value: string) => setForm({ ...form, [key]: value });
  const change = useMutation({
    mutationFn: () =>
      api('POST', '/api/auth/password', {
        currentPassword: form.currentPassword,
        newPassword: form.newPassword,
      }),
    onSuccess: () => setForm(BLANK),
    onError: (error) => {
      const fieldErrors = serverFieldErrors(error, ['currentPassword', 'newPassword']);
      if (fieldErrors) setErrors(fieldErrors);
      else setFailure(error);
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    change.reset();
    setFailure(undefined);
    const problems = validatePassword(form);
    setErrors(problems);
    if (Object.keys(problems).length === 0) change.mutate();
  }

  return (
    <form
      className="settings-form settings-narrow"
      onSubmit={submit}
      noValidate
      aria-labelledby="settings-password-title"
    >
      <h2 id="settings-password-title">{t('settings.tabs.password')}</h2>
      <p className="hint">{t('settings.password.help')}</p>
      {/* Lets password managers tie the new password to the account. */}
      <input type="text" name="username" autoComplete="username" value={user.email} readOnly hidden />
      <TextField
        label={t('settings.password.current')}
        type="password"
        value={form.currentPassword}
        onChange={(value) => set('currentPassword', value)}
        error={errorAt('currentPassword')}
        autoComplete="current-password"
      />
      <TextField
        label={t('settings.password.new')}
        type="password"
        value={form.newPassword}
        onChange={(value) => set('newPassword', value)}
        error={errorAt('newPassword')}
        hint={t('settings.password.newHint')}
        autoComplete="new-password"
      />
      <TextField
        label={t('settings.password.repeat')}
        type="password"
        value={form.repeatPassword}
        onChange={(value) => set('repeatPassword', value)}
        error={errorAt('repeatPassword')}
        autoComplete="new-password"
      />
      <SaveBar
        label={t('settings.password.submit')}
        isSaving={change.isPending}
        isSaved={false}
        hasFieldErrors={Object.keys(errors).length > 0}
        error={failure}
      />
      {change.isSuccess && (
        <p className="notice" role="status">
          {t('settings.password.changed')}
        </p>
      )}
    </form>
  );
}
