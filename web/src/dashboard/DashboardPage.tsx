import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useFormat } from '../app/format.js';
import { Field } from '../components/field.js';
import { JourneyCharts } from './JourneyCharts.js';
import { LifecycleChart } from './LifecycleChart.js';
import './dashboard.css';
import './messages.js';
import { RejectedEvents } from './RejectedEvents.js';
import {
  customRange,
  PRESETS,
  type Preset,
  presetRange,
  type RangeProblem,
  type TimeRange,
  toLocalInput,
} from './range.js';
import { SetAsideEvents, SetAsideTimers } from './SetAside.js';
import { EventsChart, MessagesChart } from './TimeCharts.js';

type Choice = Preset | 'custom';
const DEFAULT_PRESET: Preset = '24h';

export function DashboardPage() {
  const { t } = useTranslation();
  const [range, setRange] = useState(() => presetRange(DEFAULT_PRESET, new Date()));
  return (
    <div className="dashboard">
      <h1>{t('dashboard.title')}</h1>
      <SetAsideEvents />
      <SetAsideTimers />
      <RangePicker range={range} onChange={setRange} />
      <div className="dash-grid">
        <EventsChart range={range} />
        <MessagesChart range={range} />
        <LifecycleChart range={range} />
      </div>
      <JourneyCharts />
      {/* A new range starts the list again at its first page. */}
      <RejectedEvents key={`${range.from.toISOString()}/${range.to.toISOString()}`} range={range} />
    </div>
  );
}

/** Presets apply at once; a custom range is checked, then applied. Refresh asks again, a preset up to now. */
function RangePicker(props: { range: TimeRange; onChange(range: TimeRange): void }) {
  const { t } = useTranslation();
  const format = useFormat();
  const queryClient = useQueryClient();
  const choiceId = useId();
  const [choice, setChoice] = useState<Choice>(DEFAULT_PRESET);
  const [fromText, setFromText] = useState('');
  const [toText, setToText] = useState('');
  const [errors, setErrors] = useState<{ from?: RangeProblem; to?: RangeProblem }>({});
  const errorText = (error: RangeProblem | undefined) =>
    error ? t(`dashboard.range.errors.${error}`) : undefined;

  function choose(next: Choice) {
    setChoice(next);
    setErrors({});
    if (next === 'custom') {
      setFromText(toLocalInput(props.range.from));
      setToText(toLocalInput(props.range.to));
    } else {
      props.onChange(presetRange(next, new Date()));
    }
  }

  function apply(event: FormEvent) {
    event.preventDefault();
    const checked = customRange(fromText, toText);
    if ('errors' in checked) return setErrors(checked.errors);
    setErrors({});
    props.onChange(checked.range);
  }

  function refresh() {
    void queryClient.invalidateQueries({ queryKey: ['dashboard'] });
    if (choice !== 'custom') props.onChange(presetRange(choice, new Date()));
  }

  return (
    <form className="dash-range card" onSubmit={apply} noValidate>
      <fieldset>
        <legend>{t('dashboard.range.legend')}</legend>
        <div className="dash-range-controls">
          <div className="field">
            <label htmlFor={choiceId}>{t('dashboard.range.show')}</label>
            <select id={choiceId} value={choice} onChange={(event) => choose(event.target.value as Choice)}>
              {PRESETS.map((preset) => (
                <option key={preset} value={preset}>
                  {t(`dashboard.range.presets.${preset}`)}
                </option>
              ))}
              <option value="custom">{t('dashboard.range.presets.custom')}</option>
            </select>
          </div>
          {choice === 'custom' && (
            <>
              <Field label={t('dashboard.range.from')} error={errorText(errors.from)}>
                {(control) => (
                  <input
                    {...control}
                    type="datetime-local"
                    value={fromText}
                    onChange={(event) => setFromText(event.target.value)}
                  />
                )}
              </Field>
              <Field label={t('dashboard.range.to')} error={errorText(errors.to)}>
                {(control) => (
                  <input
                    {...control}
                    type="datetime-local"
                    value={toText}
                    onChange={(event) => setToText(event.target.value)}
                  />
                )}
              </Field>
              <button type="submit" className="primary">
                {t('dashboard.range.apply')}
              </button>
            </>
          )}
          <button type="button" onClick={refresh}>
            {t('dashboard.range.refresh')}
          </button>
        </div>
        <p className="hint" data-testid="dashboard-range">
          {t('dashboard.range.showing', {
            from: format.dateTime(props.range.from.toISOString()),
            to: format.dateTime(props.range.to.toISOString()),
            bucket: t(`dashboard.range.buckets.${props.range.bucket}`),
          })}
        </p>
      </fieldset>
    </form>
  );
}
