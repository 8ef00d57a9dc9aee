import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { Pager, usePage } from '../components/pager.js';
import { EmptyState, ErrorState, Loading } from '../components/states.js';
import { LoadDemoButton } from '../demo/LoadDemoButton.js';
import { ChartFigure } from './ChartFigure.js';
import { bestConverting, conversionRows, funnelRows, type JourneyStats } from './series.js';

const JOURNEYS_PER_CHART = 10;

function usePercent() {
  const { i18n } = useTranslation();
  const format = new Intl.NumberFormat(i18n.language, { style: 'percent', maximumFractionDigits: 1 });
  return (share: number | null) => (share === null ? '—' : format.format(share));
}

/** Conversion of every journey and the funnel of one; counts since each journey began. */
export function JourneyCharts() {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const journeys = useQuery({
    queryKey: ['dashboard', 'journeys', workspace.id],
    queryFn: async () =>
      (await api<{ items: JourneyStats[] }>('GET', workspacePath(workspace.id, '/dashboard/journeys'))).items,
  });
  if (journeys.isPending) return <Loading />;
  if (journeys.error) return <ErrorState error={journeys.error} onRetry={() => void journeys.refetch()} />;
  if (journeys.data.length === 0) {
    return (
      <section className="card">
        <h2>{t('dashboard.journeys.conversionTitle')}</h2>
        <EmptyState>
          <p>{t('dashboard.journeys.empty')}</p>
          <Link to="/journeys">{t('dashboard.journeys.createJourney')}</Link>
          <LoadDemoButton />
        </EmptyState>
      </section>
    );
  }
  return (
    <>
      <p className="hint">
        {t('dashboard.journeys.allTime')}
        {journeys.data.some((journey) => journey.heldOut > 0) && ` ${t('dashboard.journeys.heldOut')}`}
      </p>
      <div className="dash-grid">
        <ConversionChart journeys={journeys.data} />
        <FunnelChart journeys={journeys.data} />
      </div>
    </>
  );
}

function ConversionChart(props: { journeys: JourneyStats[] }) {
  const { t } = useTranslation();
  const format = useFormat();
  const percent = usePercent();
  const rows = conversionRows(props.journeys);
  const page = usePage(rows, JOURNEYS_PER_CHART);
  const leader = bestConverting(rows);
  const withoutGoal = props.journeys.filter((journey) => !journey.hasGoal && journey.entered > 0).length;
  const goalNote = withoutGoal > 0 && (
    <p className="hint">{t('dashboard.journeys.withoutGoal', { count: withoutGoal })}</p>
  );
  if (rows.length === 0) {
    return (
      <section className="card">
        <h2>{t('dashboard.journeys.conversionTitle')}</h2>
        <EmptyState>
          {t(withoutGoal > 0 ? 'dashboard.journeys.noGoals' : 'dashboard.journeys.noEntries')}
        </EmptyState>
      </section>
    );
  }
  return (
    <div>
      <ChartFigure
        title={t('dashboard.journeys.conversionTitle')}
        summary={
          leader
            ? t('dashboard.journeys.conversionSummary', {
                journeys: format.number(rows.length),
                name: leader.name,
                rate: percent(leader.percent / 100),
              })
            : t('dashboard.journeys.conversionSummaryNone', { journeys: format.number(rows.length) })
        }
        testId="conversion-chart"
        rows={page.items}
        rowKey={(row) => row.id}
        columns={[
          { label: t('dashboard.journeys.journey'), cell: (row) => row.name },
          {
            label: t('dashboard.journeys.entered'),
            isNumber: true,
            cell: (row) => format.number(row.entered),
          },
          {
            label: t('dashboard.journeys.converted'),
            isNumber: true,
            cell: (row) => format.number(row.converted),
          },
          { label: t('dashboard.journeys.rate'), isNumber: true, cell: (row) => percent(row.percent / 100) },
        ]}
      >
        <ResponsiveContainer width="100%" height={Math.max(140, page.items.length * 36 + 50)}>
          <BarChart data={page.items} layout="vertical" margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis type="number" domain={[0, 100]} tickFormatter={(value: number) => percent(value / 100)} />
            <YAxis type="category" dataKey="name" width={140} />
            <Tooltip formatter={(value) => percent(Number(value) / 100)} />
            <Bar
              dataKey="percent"
              name={t('dashboard.journeys.rate')}
              fill="#146c2e"
              isAnimationActive={false}
            />
          </BarChart>
        </ResponsiveContainer>
      </ChartFigure>
      <Pager page={page} />
      {goalNote}
    </div>
  );
}

/** The funnel's height: its axis and legend, and a row per step. */
const FUNNEL_AXES_HEIGHT = 90;
const FUNNEL_ROW_HEIGHT = 44;

function FunnelChart(props: { journeys: JourneyStats[] }) {
  const { t } = useTranslation();
  const format = useFormat();
  const percent = usePercent();
  const pickId = useId();
  const [chosenId, setChosenId] = useState<string>();
  const journey =
    props.journeys.find((item) => item.id === chosenId) ??
    props.journeys.find((item) => item.entered > 0) ??
    props.journeys[0];
  if (!journey) return null;
  // A step's kind by the name the journey builder gives it.
  const stepName = (step: { id: string; type: string | null }) =>
    `${step.id} (${t(step.type ? `builder.steps.${step.type}` : 'dashboard.journeys.earlierStep')})`;
  const rows = funnelRows(journey.steps).map((step) => ({ ...step, name: stepName(step) }));
  const first = rows[0];
  const last = rows.at(-1);
  const picker = (
    <div className="inline-field">
      <label htmlFor={pickId}>{t('dashboard.journeys.pick')}</label>
      <select id={pickId} value={journey.id} onChange={(event) => setChosenId(event.target.value)}>
        {props.journeys.map((item) => (
          <option key={item.id} value={item.id}>
            {item.name}
          </option>
        ))}
      </select>
    </div>
  );
  const summary =
    first && last && first.entered > 0
      ? t('dashboard.journeys.funnelSummary', {
          journey: journey.name,
          first: format.number(first.entered),
          last: format.number(last.entered),
          share: percent(last.share),
        })
      : t('dashboard.journeys.funnelEmpty');
  return (
    <ChartFigure
      title={t('dashboard.journeys.funnelTitle')}
      summary={summary}
      testId="funnel-chart"
      controls={picker}
      rows={rows}
      rowKey={(row) => row.id}
      columns={[
        { label: t('dashboard.journeys.step'), cell: (row) => row.name },
        { label: t('dashboard.journeys.entered'), isNumber: true, cell: (row) => format.number(row.entered) },
        {
          label: t('dashboard.journeys.completed'),
          isNumber: true,
          cell: (row) => format.number(row.completed),
        },
        { label: t('dashboard.journeys.share'), isNumber: true, cell: (row) => percent(row.share) },
      ]}
    >
      {/* Steps down the side, a row each: under one another their names never run into each other. */}
      <ResponsiveContainer width="100%" height={FUNNEL_AXES_HEIGHT + rows.length * FUNNEL_ROW_HEIGHT}>
        <BarChart data={rows} layout="vertical" margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis
            type="number"
            allowDecimals={false}
            tickFormatter={(value: number) => format.number(value)}
          />
          <YAxis type="category" dataKey="name" interval={0} width={160} tick={{ fontSize: 12 }} />
          <Tooltip formatter={(value) => format.number(Number(value))} />
          <Legend />
          <Bar
            dataKey="entered"
            name={t('dashboard.journeys.entered')}
            fill="#0b57d0"
            isAnimationActive={false}
          />
          <Bar
            dataKey="completed"
            name={t('dashboard.journeys.completed')}
            fill="#8fb3ef"
            isAnimationActive={false}
          />
        </BarChart>
      </ResponsiveContainer>
    </ChartFigure>
  );
}
