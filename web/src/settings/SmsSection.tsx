import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Field } from '../components/field.js';
import { FailedMessages } from './FailedMessages.js';
import { PrivateNetworksField, SaveBar, TextField, useErrorAt, usePrivateWarning } from './form-parts.js';
import { isOutOfInternetReach } from './private-target.js';
import { useSectionSave } from './section-save.js';
import {
  type SettingsView,
  type SmsForm,
  smsForm,
  smsSettings,
  validateSms,
  withPart,
} from './settings-model.js';

const SHOWN = new Set(['sms.baseUrl', 'sms.accountSid', 'sms.authToken', 'sms.from', 'sms.helpText']);

export function SmsSection(props: { settings: SettingsView }) {
  const { t } = useTranslation();
  const [form, setForm] = useState(() => smsForm(props.settings.sms));
  const { errors, submit, bar } = useSectionSave({ prefixes: ['sms'], isShown: (path) => SHOWN.has(path) });
  const errorAt = useErrorAt(errors);
  const privateWarning = usePrivateWarning();
  const smartEncodingId = useId();
  const providerAnswersId = useId();
  const set = (
    key: Exclude<keyof SmsForm, 'allowPrivateNetworks' | 'smartEncoding' | 'providerAnswersKeywords'>,
    value: string,
  ) => setForm({ ...form, [key]: value });
  const hasToken = props.settings.sms?.hasAuthToken ?? false;

  function save(event: FormEvent) {
    event.preventDefault();
    submit(
      validateSms(form),
      (current) => withPart(current, 'sms', smsSettings(form)),
      (saved) => setForm(smsForm(saved.sms)),
    );
  }

  return (
    <>
      <form className="settings-form" onSubmit={save} noValidate aria-labelledby="settings-sms-title">
        <h2 id="settings-sms-title">{t('settings.tabs.sms')}</h2>
        <p className="hint">{t('settings.sms.help')}</p>
        {!props.settings.sms && <p className="settings-missing">{t('settings.sms.none')}</p>}
        <div className="settings-grid">
          <TextField
            label={t('settings.sms.baseUrl')}
            value={form.baseUrl}
            onChange={(value) => set('baseUrl', value)}
            error={errorAt('sms.baseUrl')}
            hint={privateWarning(form.baseUrl, form.allowPrivateNetworks)}
            inputMode="url"
          />
          <TextField
            label={t('settings.sms.accountSid')}
            value={form.accountSid}
            onChange={(value) => set('accountSid', value)}
            error={errorAt('sms.accountSid')}
            autoComplete="off"
          />
          <TextField
            label={t('settings.sms.authToken')}
            type="password"
            value={form.authToken}
            onChange={(value) => set('authToken', value)}
            error={errorAt('sms.authToken')}
            hint={hasToken ? t('settings.sms.tokenSet') : t('settings.sms.tokenNone')}
            autoComplete="new-password"
          />
          <TextField
            label={t('settings.sms.from')}
            value={form.from}
            onChange={(value) => set('from', value)}
            error={errorAt('sms.from')}
            hint={t('settings.sms.fromHint')}
          />
          <TextField
            label={t('settings.sms.helpText')}
            value={form.helpText}
            onChange={(value) => set('helpText', value)}
            error={errorAt('sms.helpText')}
          />
          <div className="field settings-check">
            <input
              id={smartEncodingId}
              type="checkbox"
              checked={form.smartEncoding}
              onChange={(event) => setForm({ ...form, smartEncoding: event.target.checked })}
              aria-describedby={`${smartEncodingId}-hint`}
            />
            <label htmlFor={smartEncodingId}>{t('settings.sms.smartEncoding')}</label>
            <p className="hint" id={`${smartEncodingId}-hint`}>
              {t('settings.sms.smartEncodingHint')}
            </p>
          </div>
          <div className="field settings-check">
            <input
              id={providerAnswersId}
              type="checkbox"
              checked={form.providerAnswersKeywords}
              onChange={(event) => setForm({ ...form, providerAnswersKeywords: event.target.checked })}
              aria-describedby={`${providerAnswersId}-hint`}
            />
            <label htmlFor={providerAnswersId}>{t('settings.sms.providerAnswersKeywords')}</label>
            <p className="hint" id={`${providerAnswersId}-hint`}>
              {t('settings.sms.providerAnswersKeywordsHint')}
            </p>
          </div>
          <PrivateNetworksField
            label={t('settings.sms.allowPrivate')}
            checked={form.allowPrivateNetworks}
            onChange={(allowPrivateNetworks) => setForm({ ...form, allowPrivateNetworks })}
            serverAllows={props.settings.serverAllowsPrivateNetworks}
          />
          {props.settings.sms?.inboundUrl && (
            <Field
              label={t('settings.sms.inboundUrl')}
              hint={[
                t('settings.sms.inboundUrlHint'),
                ...(isOutOfInternetReach(props.settings.sms.inboundUrl)
                  ? [t('settings.sms.inboundUrlLocal')]
                  : []),
              ].join(' ')}
            >
              {(control) => <input {...control} value={props.settings.sms?.inboundUrl} readOnly />}
            </Field>
          )}
        </div>
        <SaveBar {...bar} />
      </form>
      {/* Texts refused or out of attempts, to send again once what failed is mended. */}
      {props.settings.sms && <FailedMessages path="/sms/failed" messages="settings.sms.failed" />}
    </>
  );
}
