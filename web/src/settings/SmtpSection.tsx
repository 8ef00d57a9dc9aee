import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Field } from '../components/field.js';
import { SaveBar, TextField, useErrorAt } from './form-parts.js';
import { useSectionSave } from './section-save.js';
import {
  type SettingsView,
  SMTP_SECURITY,
  type SmtpForm,
  type SmtpSecurity,
  smtpForm,
  smtpSettings,
  validateSmtp,
  withPart,
} from './settings-model.js';

const SHOWN = new Set([
  'smtp.host',
  'smtp.port',
  'smtp.tls',
  'smtp.user',
  'smtp.password',
  'smtp.from',
  'smtp.replyTo',
]);

export function SmtpSection(props: { settings: SettingsView }) {
  const { t } = useTranslation();
  const verifyId = useId();
  const [form, setForm] = useState(() => smtpForm(props.settings.smtp));
  const { errors, submit, bar } = useSectionSave({ prefixes: ['smtp'], isShown: (path) => SHOWN.has(path) });
  const errorAt = useErrorAt(errors);
  const set = <K extends keyof SmtpForm>(key: K, value: SmtpForm[K]) => setForm({ ...form, [key]: value });
  const hasPassword = props.settings.smtp?.hasPassword ?? false;

  function save(event: FormEvent) {
    event.preventDefault();
    submit(
      validateSmtp(form),
      (current) => withPart(current, 'smtp', smtpSettings(form, current.smtp)),
      (saved) => setForm(smtpForm(saved.smtp)),
    );
  }

  return (
    <form className="settings-form" onSubmit={save} noValidate aria-labelledby="settings-smtp-title">
      <h2 id="settings-smtp-title">{t('settings.tabs.email')}</h2>
      <p className="hint">{t('settings.smtp.help')}</p>
      {!props.settings.smtp && <p className="settings-missing">{t('settings.smtp.none')}</p>}
      <div className="settings-grid">
        <TextField
          label={t('settings.smtp.host')}
          value={form.host}
          onChange={(value) => set('host', value)}
          error={errorAt('smtp.host')}
          placeholder="smtp.example.com"
        />
        <TextField
          label={t('settings.smtp.port')}
          value={form.port}
          onChange={(value) => set('port', value)}
          error={errorAt('smtp.port')}
          inputMode="numeric"
        />
        <Field label={t('settings.smtp.security')} error={errorAt('smtp.tls')}>
          {(control) => (
            <select
              {...control}
              value={form.tls}
              onChange={(event) => set('tls', event.target.value as SmtpSecurity)}
            >
              {SMTP_SECURITY.map((security) => (
                <option key={security} value={security}>
                  {t(`settings.smtp.securities.${security}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <div className="field settings-check">
          <input
            id={verifyId}
            type="checkbox"
            checked={form.verifyCertificate}
            onChange={(event) => set('verifyCertificate', event.target.checked)}
          />
          <label htmlFor={verifyId}>{t('settings.smtp.verifyCertificate')}</label>
        </div>
        <TextField
          label={t('settings.smtp.user')}
          value={form.user}
          onChange={(value) => set('user', value)}
          error={errorAt('smtp.user')}
          autoComplete="off"
        />
        <TextField
          label={t('settings.smtp.password')}
          type="password"
          value={form.password}
          onChange={(value) => set('password', value)}
          error={errorAt('smtp.password')}
          hint={hasPassword ? t('settings.smtp.passwordSet') : t('settings.smtp.passwordNone')}
          autoComplete="new-password"
        />
        <TextField
          label={t('settings.smtp.from')}
          value={form.from}
          onChange={(value) => set('from', value)}
          error={errorAt('smtp.from')}
          hint={t('settings.smtp.fromHint')}
          inputMode="email"
        />
        <TextField
          label={t('settings.smtp.replyTo')}
          value={form.replyTo}
          onChange={(value) => set('replyTo', value)}
          error={errorAt('smtp.replyTo')}
          inputMode="email"
        />
      </div>
      <SaveBar {...bar} />
    </form>
  );
}
