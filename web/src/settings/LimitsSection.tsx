import { type FormEvent, useId, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Field } from '../components/field.js';
import { SaveBar, TextField, useErrorAt } from './form-parts.js';
import { useSectionSave } from './section-save.js';
import {
  type CapForm,
  CHANNELS,
  type Channel,
  isKnownTimeZone,
  type LimitsForm,
  limitsForm,
  limitsSettings,
  MAX_CAPS_PER_CHANNEL,
  PERIOD_UNITS,
  type PeriodUnit,
  type SettingsView,
  validateLimits,
} from './settings-model.js';

const LIMIT_FIELD = /^(timezone|quietHours(\.(start|end))?|frequencyCaps\.(email|sms)\.\d+\.(max|period))$/;

/** The workspace time zone, quiet hours and per-channel frequency caps: everything that holds messages back. */
export function LimitsSection(props: { settings: SettingsView }) {
  const { t } = useTranslation();
  const quietId = useId();
  const zonesId = useId();
  const [form, setForm] = useState(() => limitsForm(props.settings));
  const { errors, submit, bar } = useSectionSave({
    prefixes: ['timezone', 'quietHours', 'frequencyCaps'],
    isShown: (path) => LIMIT_FIELD.test(path),
  });
  const errorAt = useErrorAt(errors);
  const zones = useMemo(() => Intl.supportedValuesOf('timeZone'), []);
  const set = <K extends keyof LimitsForm>(key: K, value: LimitsForm[K]) =>
    setForm({ ...form, [key]: value });
  const setCaps = (channel: Channel, caps: CapForm[]) => set('caps', { ...form.caps, [channel]: caps });

  function save(event: FormEvent) {
    event.preventDefault();
    const settings = limitsSettings(form);
    submit(
      validateLimits(form, isKnownTimeZone),
      (current) => ({ ...current, ...settings }),
      (saved) => setForm(limitsForm(saved)),
    );
  }

  return (
    <form className="settings-form" onSubmit={save} noValidate aria-labelledby="settings-limits-title">
      <h2 id="settings-limits-title">{t('settings.tabs.limits')}</h2>
      <TextField
        label={t('settings.limits.timezone')}
        value={form.timezone}
        onChange={(value) => set('timezone', value)}
        error={errorAt('timezone')}
        hint={t('settings.limits.timezoneHint')}
        list={zonesId}
      />
      <datalist id={zonesId}>
        {zones.map((zone) => (
          <option key={zone} value={zone} />
        ))}
      </datalist>

      <fieldset className="settings-fieldset">
        <legend>{t('settings.limits.quietHours')}</legend>
        <p className="hint">{t('settings.limits.quietHelp')}</p>
        <div className="field settings-check">
          <input
            id={quietId}
            type="checkbox"
            checked={form.hasQuietHours}
            onChange={(event) => set('hasQuietHours', event.target.checked)}
          />
          <label htmlFor={quietId}>{t('settings.limits.hasQuietHours')}</label>
        </div>
        {form.hasQuietHours && (
          <div className="inline-form">
            <TextField
              label={t('settings.limits.start')}
              type="time"
              value={form.quietStart}
              onChange={(value) => set('quietStart', value)}
              error={errorAt('quietHours.start') ?? errorAt('quietHours')}
            />
            <TextField
              label={t('settings.limits.end')}
              type="time"
              value={form.quietEnd}
              onChange={(value) => set('quietEnd', value)}
              error={errorAt('quietHours.end')}
            />
          </div>
        )}
      </fieldset>

      <fieldset className="settings-fieldset">
        <legend>{t('settings.limits.caps')}</legend>
        <p className="hint">{t('settings.limits.capsHelp')}</p>
        {CHANNELS.map((channel) => (
          <CapList
            key={channel}
            channel={channel}
            caps={form.caps[channel]}
            onChange={(caps) => setCaps(channel, caps)}
            errorAt={errorAt}
          />
        ))}
      </fieldset>
      <SaveBar {...bar} />
    </form>
  );
}

function CapList(props: {
  channel: Channel;
  caps: CapForm[];
  onChange: (caps: CapForm[]) => void;
  errorAt: (path: string) => string | undefined;
}) {
  const { t } = useTranslation();
  const channelName = t(`settings.limits.channels.${props.channel}`);
  const update = (index: number, change: Partial<CapForm>) =>
    props.onChange(props.caps.map((cap, at) => (at === index ? { ...cap, ...change } : cap)));
  return (
    <div className="settings-caps">
      <h3>{channelName}</h3>
      {props.caps.length === 0 && <p className="hint">{t('settings.limits.noCaps')}</p>}
      {props.caps.map((cap, index) => {
        const number = index + 1;
        const at = `frequencyCaps.${props.channel}.${index}`;
        const labels = { number, channel: channelName };
        return (
          // Caps have no identity but their place in the list.
          // biome-ignore lint/suspicious/noArrayIndexKey: see above
          <div className="settings-cap" key={index}>
            <span className="settings-cap-words">{t('settings.limits.max')}</span>
            <TextField
              label={t('settings.limits.maxOf', labels)}
              value={cap.max}
              onChange={(value) => update(index, { max: value })}
              error={props.errorAt(`${at}.max`)}
              inputMode="numeric"
            />
            <span className="settings-cap-words">{t('settings.limits.messagesPer')}</span>
            <TextField
              label={t('settings.limits.amountOf', labels)}
              value={cap.amount}
              onChange={(value) => update(index, { amount: value })}
              error={props.errorAt(`${at}.period`)}
              inputMode="numeric"
            />
            <Field label={t('settings.limits.unitOf', labels)}>
              {(control) => (
                <select
                  {...control}
                  value={cap.unit}
                  onChange={(event) => update(index, { unit: event.target.value as PeriodUnit })}
                >
                  {/* A unit the server holds that this list lacks (seconds) still shows. */}
                  {(PERIOD_UNITS.includes(cap.unit) ? PERIOD_UNITS : [cap.unit, ...PERIOD_UNITS]).map(
                    (unit) => (
                      <option key={unit} value={unit}>
                        {t(`settings.limits.units.${unit}`)}
                      </option>
                    ),
                  )}
                </select>
              )}
            </Field>
            <button
              type="button"
              className="danger"
              aria-label={t('settings.limits.removeCap', labels)}
              onClick={() => props.onChange(props.caps.filter((_, other) => other !== index))}
            >
              {t('settings.limits.remove')}
            </button>
          </div>
        );
      })}
      <button
        type="button"
        disabled={props.caps.length >= MAX_CAPS_PER_CHANNEL}
        onClick={() => props.onChange([...props.caps, { max: '1', amount: '1', unit: 'd' }])}
      >
        {t('settings.limits.addCap')} ({channelName})
      </button>
    </div>
  );
}
