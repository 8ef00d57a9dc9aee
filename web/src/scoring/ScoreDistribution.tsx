import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { EmptyState, ErrorState, Loading } from '../components/states.js';
import { fullestBin, histogram, holdsCapAlone } from './distribution.js';
import type { ScoreModelJson } from './model-form.js';

const BUCKET_SIZES = [1, 5, 10, 25, 50, 100];

/** How contacts spread over a model's scores: a bar chart, with a summary and a table for those who cannot see it. */
export function ScoreDistribution(props: { model: ScoreModelJson }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const bucketId = useId();
  const [bucket, setBucket] = useState(10);
  const { model } = props;
  const distribution = useQuery({
    queryKey: ['score-distribution', workspace.id, model.id, bucket],
    queryFn: () =>
      api<{ buckets: Array<{ from: number; count: number }> }>(
        'GET',
        workspacePath(
          workspace.id,
          `/scoring/models/${encodeURIComponent(model.id)}/distribution?bucket=${bucket}`,
        ),
      ),
    // Scores change as events arrive.
    refetchInterval: 5000,
  });
  const bins = histogram(distribution.data?.buckets ?? [], bucket);
  const total = bins.reduce((sum, bin) => sum + bin.count, 0);
  const fullest = fullestBin(bins);
  // A bar holds scores from its start up to, not including, its end.
  const rangeOf = (bin: { from: number; to: number }) =>
    holdsCapAlone(bin, model.cap)
      ? t('scoring.distribution.atCap', { cap: format.number(bin.from) })
      : t('scoring.distribution.range', { from: format.number(bin.from), to: format.number(bin.to) });
  const data = bins.map((bin) => ({ range: rangeOf(bin), count: bin.count }));
  const summary = fullest
    ? t('scoring.distribution.summary', {
        total: format.number(total),
        count: format.number(fullest.count),
        range: rangeOf(fullest),
      })
    : '';

  return (
    <section className="distribution" aria-labelledby={`${bucketId}-title`}>
      <div className="distribution-head">
        <h3 id={`${bucketId}-title`}>{t('scoring.distribution.title')}</h3>
        <div className="inline-field">
          <label htmlFor={bucketId}>{t('scoring.distribution.bucket')}</label>
          <select id={bucketId} value={bucket} onChange={(event) => setBucket(Number(event.target.value))}>
            {BUCKET_SIZES.map((size) => (
              <option key={size} value={size}>
                {format.number(size)}
              </option>
            ))}
          </select>
        </div>
      </div>
      {distribution.isPending && <Loading />}
      {distribution.error && (
        <ErrorState error={distribution.error} onRetry={() => void distribution.refetch()} />
      )}
      {distribution.data && bins.length === 0 && (
        <EmptyState>{t('scoring.distribution.empty', { model: model.name })}</EmptyState>
      )}
      {bins.length > 0 && (
        <figure className="distribution-figure" data-testid={`distribution-${model.id}`}>
          <div
            className="distribution-chart"
            role="img"
            aria-label={`${t('scoring.distribution.chart', { model: model.name })}. ${summary}`}
          >
            <ResponsiveContainer width="100%" height={220}>
              <BarChart data={data} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="range" tick={{ fontSize: 12 }} />
                <YAxis
                  allowDecimals={false}
                  tick={{ fontSize: 12 }}
                  width="auto"
                  tickFormatter={(value: number) => format.number(value)}
                />
                <Tooltip
                  formatter={(value) => [format.number(Number(value)), t('scoring.distribution.profiles')]}
                />
                <Bar dataKey="count" fill="var(--accent, #2458d6)" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
          <figcaption data-testid={`distribution-summary-${model.id}`}>{summary}</figcaption>
          <details>
            <summary>{t('scoring.distribution.asTable')}</summary>
            <table className="table">
              <caption className="visually-hidden">
                {t('scoring.distribution.chart', { model: model.name })}
              </caption>
              <thead>
                <tr>
                  <th scope="col">{t('scoring.distribution.score')}</th>
                  <th scope="col" className="number">
                    {t('scoring.distribution.profiles')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {bins.map((bin) => (
                  <tr key={bin.from}>
                    <td>{rangeOf(bin)}</td>
                    <td className="number">{format.number(bin.count)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </figure>
      )}
    </section>
  );
}
