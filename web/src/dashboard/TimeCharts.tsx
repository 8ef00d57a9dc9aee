import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { wordMessageReason } from '../app/message-reasons.js';
import { isAdminOf, useSession } from '../app/session.js';
import { EmptyState, ErrorState, Loading } from '../components/states.js';
import { ChartFigure, type Column } from './ChartFigure.js';
import { rangeQuery, type TimeRange } from './range.js';
import { chartRows, type EventCounts, isAllZero, type MessageCounts, type Series } from './series.js';

/** One line per series, told apart by dash pattern as well as colour. */
interface SeriesLine<K extends string> {
  key: K;
  label: string;
  colour: string;
  dash?: string;
}

function useSeries<T>(path: 'events' | 'messages', range: TimeRange, channel?: MessageChannel) {
  const { workspace } = useSession();
  return useQuery({
    queryKey: ['dashboard', path, workspace.id, range.from.getTime(), range.to.getTime(), channel ?? ''],
    queryFn: () =>
      api<Series<T>>(
        'GET',
        workspacePath(
          workspace.id,
          `/dashboard/${path}${rangeQuery(range)}${channel ? `&channel=${channel}` : ''}`,
        ),
      ),
  });
}

const MESSAGE_CHANNELS = ['email', 'sms', 'webhook'] as const;
type MessageChannel = (typeof MESSAGE_CHANNELS)[number];

/** Which channel's messages the chart counts: all of them, or one (opens and clicks are e-mail's alone). */
function ChannelSelect(props: { value: MessageChannel | ''; onChange(value: MessageChannel | ''): void }) {
  const { t } = useTranslation();
  const id = useId();
  return (
    <div className="inline-field">
      <label htmlFor={id}>{t('dashboard.messages.channel')}</label>
      <select
        id={id}
        value={props.value}
        onChange={(event) => props.onChange(event.target.value as MessageChannel | '')}
      >
        <option value="">{t('dashboard.messages.channels.all')}</option>
        {MESSAGE_CHANNELS.map((channel) => (
          <option key={channel} value={channel}>
            {t(`dashboard.messages.channels.${channel}`)}
          </option>
        ))}
      </select>
    </div>
  );
}

function TimeSeriesFigure<K extends string>(props: {
  title: string;
  summary: string;
  testId: string;
  series: Series<Record<K, number>>;
  lines: Array<SeriesLine<K>>;
  controls?: ReactNode;
  footer?: ReactNode;
}) {
  const { t, i18n } = useTranslation();
  const format = useFormat();
  const rows = chartRows(props.series, i18n.language);
  const columns: Array<Column<(typeof rows)[number]>> = [
    { label: t('dashboard.chart.time'), cell: (row) => format.dateTime(row.start) },
    ...props.lines.map((line) => ({
      label: line.label,
      isNumber: true,
      cell: (row: (typeof rows)[number]) => format.number(row[line.key]),
    })),
  ];
  return (
    <ChartFigure
      title={props.title}
      summary={props.summary}
      testId={props.testId}
      rows={rows}
      rowKey={(row) => row.start}
      columns={columns}
      controls={props.controls}
      footer={props.footer}
    >
      <ResponsiveContainer width="100%" height={260}>
        <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="label" minTickGap={24} />
          <YAxis allowDecimals={false} width="auto" tickFormatter={(value: number) => format.number(value)} />
          <Tooltip formatter={(value) => format.number(Number(value))} />
          <Legend />
          {props.lines.map((line) => (
            <Line
              key={line.key}
              type="monotone"
              dataKey={line.key}
              name={line.label}
              stroke={line.colour}
              strokeWidth={2}
              dot={false}
              isAnimationActive={false}
              {...(line.dash ? { strokeDasharray: line.dash } : {})}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </ChartFigure>
  );
}

export function EventsChart(props: { range: TimeRange }) {
  const { t } = useTranslation();
  const format = useFormat();
  const events = useSeries<EventCounts>('events', props.range);
  if (events.isPending) return <Loading />;
  if (events.error) return <ErrorState error={events.error} onRetry={() => void events.refetch()} />;
  const { totals } = events.data;
  if (isAllZero(totals)) {
    return (
      <section className="card" aria-label={t('dashboard.events.title')}>
        <h2>{t('dashboard.events.title')}</h2>
        <EmptyState>
          <p>{t('dashboard.events.empty')}</p>
          <Link to="/settings/keys">{t('dashboard.events.createKey')}</Link>
        </EmptyState>
      </section>
    );
  }
  return (
    <TimeSeriesFigure
      title={t('dashboard.events.title')}
      summary={t('dashboard.events.summary', {
        received: format.number(totals.received),
        generated: format.number(totals.generated),
        rejected: format.number(totals.rejected),
      })}
      testId="events-chart"
      series={events.data as Series<Record<keyof EventCounts, number>>}
      lines={[
        { key: 'received', label: t('dashboard.events.received'), colour: '#0b57d0' },
        { key: 'generated', label: t('dashboard.events.generated'), colour: '#5f6b7a', dash: '6 3' },
        { key: 'rejected', label: t('dashboard.events.rejected'), colour: '#b3261e', dash: '2 2' },
      ]}
    />
  );
}

export function MessagesChart(props: { range: TimeRange }) {
  const { t } = useTranslation();
  const format = useFormat();
  const [channel, setChannel] = useState<MessageChannel | ''>('');
  const messages = useSeries<MessageCounts>('messages', props.range, channel || undefined);
  const controls = <ChannelSelect value={channel} onChange={setChannel} />;
  if (messages.isPending) return <Loading />;
  if (messages.error) return <ErrorState error={messages.error} onRetry={() => void messages.refetch()} />;
  const { totals } = messages.data;
  if (isAllZero(totals)) {
    return (
      <section className="card" aria-label={t('dashboard.messages.title')}>
        <div className="dash-figure-head">
          <h2>{t('dashboard.messages.title')}</h2>
          {controls}
        </div>
        <EmptyState>{t('dashboard.messages.empty')}</EmptyState>
        <WaitingMessages channel={channel || undefined} />
      </section>
    );
  }
  return (
    <TimeSeriesFigure
      title={t('dashboard.messages.title')}
      summary={t('dashboard.messages.summary', {
        sent: format.number(totals.sent),
        opened: format.number(totals.opened),
        clicked: format.number(totals.clicked),
        bounced: format.number(totals.bounced),
        failed: format.number(totals.failed),
      })}
      testId="messages-chart"
      controls={controls}
      footer={
        <>
          {totals.failed > 0 && <FailureReasons range={props.range} channel={channel || undefined} />}
          <WaitingMessages channel={channel || undefined} />
        </>
      }
      series={messages.data as Series<Record<keyof MessageCounts, number>>}
      lines={[
        { key: 'sent', label: t('dashboard.messages.sent'), colour: '#0b57d0' },
        { key: 'opened', label: t('dashboard.messages.opened'), colour: '#146c2e', dash: '6 3' },
        { key: 'clicked', label: t('dashboard.messages.clicked'), colour: '#7b1fa2', dash: '2 2' },
        { key: 'bounced', label: t('dashboard.messages.bounced'), colour: '#b3261e', dash: '8 2 2 2' },
        { key: 'failed', label: t('dashboard.messages.failed'), colour: '#8a5a00', dash: '1 3' },
      ]}
    />
  );
}

interface FailureReason {
  channel: MessageChannel;
  reason: string | null;
  count: number;
}

/** Why messages failed in the range, the commonest reason first: what to fix (an SMTP server, a CRM). */
function FailureReasons(props: { range: TimeRange; channel: MessageChannel | undefined }) {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const { range, channel } = props;
  const failures = useQuery({
    queryKey: [
      'dashboard',
      'failures',
      workspace.id,
      range.from.getTime(),
      range.to.getTime(),
      channel ?? '',
    ],
    queryFn: () =>
      api<{ items: FailureReason[] }>(
        'GET',
        workspacePath(
          workspace.id,
          `/dashboard/message-failures${rangeQuery(range)}${channel ? `&channel=${channel}` : ''}`,
        ),
      ),
  });
  if (failures.isPending) return <Loading />;
  if (failures.error) return <ErrorState error={failures.error} onRetry={() => void failures.refetch()} />;
  return (
    <Reasons
      title={t('dashboard.messages.failuresTitle')}
      items={failures.data.items}
      testId="message-failures"
    />
  );
}

/**
 * Why messages are waiting to go out now (retried, or held back), whatever the range: the chart counts
 * a message once sent or given up on, so without this a channel failing every attempt read as nothing
 * sent at all. Nothing is shown while none waits.
 */
function WaitingMessages(props: { channel: MessageChannel | undefined }) {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const { channel } = props;
  const waiting = useQuery({
    queryKey: ['dashboard', 'waiting', workspace.id, channel ?? ''],
    queryFn: () =>
      api<{ items: FailureReason[] }>(
        'GET',
        workspacePath(workspace.id, `/dashboard/waiting-messages${channel ? `?channel=${channel}` : ''}`),
      ),
    refetchInterval: 10_000,
  });
  if (waiting.error) return <ErrorState error={waiting.error} onRetry={() => void waiting.refetch()} />;
  if (!waiting.data || waiting.data.items.length === 0) return null;
  return (
    <Reasons
      title={t('dashboard.messages.waitingTitle')}
      hint={t('dashboard.messages.waitingHint')}
      items={waiting.data.items}
      noReason={t('dashboard.messages.queued')}
      testId="messages-waiting"
    />
  );
}

/** Messages counted by channel and reason, the commonest first, with the way to the channels' settings. */
function Reasons(props: {
  title: string;
  hint?: string;
  items: FailureReason[];
  /** What a message without a reason is said to be. */
  noReason?: string;
  testId: string;
}) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  return (
    <div className="dash-failures" data-testid={props.testId}>
      <h3>{props.title}</h3>
      {props.hint && <p className="hint">{props.hint}</p>}
      <ul>
        {props.items.map((item) => (
          <li key={`${item.channel}:${item.reason ?? ''}`}>
            <span className="dash-failure-count">{format.number(item.count)}</span>{' '}
            {t(`dashboard.messages.channels.${item.channel}`)}:{' '}
            {item.reason === null
              ? (props.noReason ?? t('dashboard.messages.noReason'))
              : wordMessageReason(item.reason, t)}
          </li>
        ))}
      </ul>
      {isAdminOf(workspace) && (
        <p className="hint">
          <Link to="/settings">{t('dashboard.messages.toSettings')}</Link>
        </p>
      )}
    </div>
  );
}
