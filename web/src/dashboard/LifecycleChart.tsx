import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { EmptyState, ErrorState, Loading } from '../components/states.js';
import { ChartFigure } from './ChartFigure.js';
import { rangeQuery, type TimeRange } from './range.js';

interface StageCounts {
  stage: string;
  now: number;
  reached: number;
}

/** The lifecycle funnel: who moved forward into each stage in the range, beside who is at it now. */
export function LifecycleChart(props: { range: TimeRange }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const { range } = props;
  const funnel = useQuery({
    queryKey: ['dashboard', 'lifecycle', workspace.id, range.from.getTime(), range.to.getTime()],
    queryFn: async () =>
      (
        await api<{ stages: StageCounts[] }>(
          'GET',
          workspacePath(workspace.id, `/dashboard/lifecycle${rangeQuery(range)}`),
        )
      ).stages,
  });
  if (funnel.isPending) return <Loading />;
  if (funnel.error) return <ErrorState error={funnel.error} onRetry={() => void funnel.refetch()} />;
  if (funnel.data.length === 0) {
    return (
      <section className="card">
        <h2>{t('dashboard.lifecycle.title')}</h2>
        <EmptyState>
          <p>{t('dashboard.lifecycle.empty')}</p>
          <Link to="/scoring?tab=lifecycle">{t('dashboard.lifecycle.setUp')}</Link>
        </EmptyState>
      </section>
    );
  }
  const stages = funnel.data;
  const total = (key: 'now' | 'reached') => stages.reduce((sum, stage) => sum + stage[key], 0);
  return (
    <ChartFigure
      title={t('dashboard.lifecycle.title')}
      summary={
        total('reached') === 0
          ? t('dashboard.lifecycle.summaryNone', { now: format.number(total('now')) })
          : t('dashboard.lifecycle.summary', {
              reached: format.number(total('reached')),
              stages: stages
                .filter((stage) => stage.reached > 0)
                .map((stage) => `${stage.stage} ${format.number(stage.reached)}`)
                .join(', '),
              now: format.number(total('now')),
            })
      }
      testId="lifecycle-chart"
      rows={stages}
      rowKey={(row) => row.stage}
      columns={[
        { label: t('dashboard.lifecycle.stage'), cell: (row) => row.stage },
        {
          label: t('dashboard.lifecycle.reached'),
          isNumber: true,
          cell: (row) => format.number(row.reached),
        },
        { label: t('dashboard.lifecycle.now'), isNumber: true, cell: (row) => format.number(row.now) },
      ]}
    >
      {/* A funnel reads down its stages: bars across, each stage's name whole beside its bars at any width. */}
      <ResponsiveContainer width="100%" height={Math.max(200, 56 + stages.length * 44)}>
        <BarChart data={stages} layout="vertical" margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" horizontal={false} />
          <XAxis
            type="number"
            allowDecimals={false}
            tickFormatter={(value: number) => format.number(value)}
          />
          <YAxis type="category" dataKey="stage" interval={0} width={stageLabelWidth(stages)} />
          <Tooltip formatter={(value) => format.number(Number(value))} />
          {/* In the bars' order (reached, then now), not by name. */}
          <Legend itemSorter={(item) => (item.dataKey === 'reached' ? 0 : 1)} />
          <Bar
            dataKey="reached"
            name={t('dashboard.lifecycle.reached')}
            fill="#0b57d0"
            isAnimationActive={false}
          />
          <Bar dataKey="now" name={t('dashboard.lifecycle.now')} fill="#8a94a6" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </ChartFigure>
  );
}

/** Room for the longest stage name beside the bars (up to 9 px a character at the axis' size). */
function stageLabelWidth(stages: readonly StageCounts[]): number {
  const longest = Math.max(...stages.map((stage) => stage.stage.length));
  return Math.min(180, Math.max(48, longest * 9 + 16));
}
