import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import { HAND_OFF_STATUSES } from '../core/hand-off.js';
import { MESSAGE_CHANNELS } from '../core/journey.js';
import { TIMER_KINDS, type TimerKind } from '../core/timers.js';
import type { Storage } from '../storage/storage.js';
import { LOG_CURSORS } from './log-cursors.js';

/** Every metric Mops exports, on a registry of its own (no process-global state, one per app). */
export function createMetrics(storage: Storage, clock: Clock) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mops_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'mops_http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    ingestRequests: new Counter({
      name: 'mops_ingest_requests_total',
      help: 'Ingest API requests by endpoint and status',
      labelNames: ['endpoint', 'status'] as const,
      registers: [registry],
    }),
    ingestEvents: new Counter({
      name: 'mops_ingest_events_total',
      help: 'Events received, by outcome: stored, duplicate (messageId seen before) or rejected (invalid)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    ingestDuration: new Histogram({
      name: 'mops_ingest_duration_seconds',
      help: 'Time from request body received to events committed',
      labelNames: ['endpoint'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    pipelineLag: new Gauge({
      name: 'mops_pipeline_lag_events',
      help: 'Events stored but not yet handled, by consumer of the event log (profiles, journeys)',
      labelNames: ['consumer'] as const,
      registers: [registry],
      async collect() {
        for (const consumer of LOG_CURSORS) this.set({ consumer }, await storage.pipelineLag(consumer));
      },
    }),
    pipelineSetAside: new Gauge({
      name: 'mops_pipeline_set_aside_events',
      help: 'Events a consumer of the event log failed on at every attempt and went on past, not yet retried or dismissed, by consumer (listed per workspace at GET /api/workspaces/{id}/set-aside-events)',
      labelNames: ['consumer'] as const,
      registers: [registry],
      async collect() {
        const counts = await storage.setAsideEvents.countByConsumer();
        for (const consumer of LOG_CURSORS) this.set({ consumer }, counts.get(consumer) ?? 0);
      },
    }),
    failedMessages: new Gauge({
      name: 'mops_failed_messages',
      help: 'Messages that failed for good, by channel: webhook calls in the dead-letter list (GET /api/workspaces/{id}/webhooks/dead-letters), texts at …/sms/failed, e-mails; a re-drive takes them off',
      labelNames: ['channel'] as const,
      registers: [registry],
      async collect() {
        const counts = await storage.messages.countFailedByChannel();
        for (const channel of MESSAGE_CHANNELS) this.set({ channel }, counts.get(channel) ?? 0);
      },
    }),
    handOffs: new Gauge({
      name: 'mops_hand_offs',
      help: 'Sales hand-offs by where each stands now, each counted once: awaiting_identity (owed until sales can tell who the contact is), pending, accepted, passed, breached (SLA missed, the lead still with sales), recycled (sent back on a missed SLA or by hand, whatever it stood at before) or dropped (owed no longer)',
      labelNames: ['status'] as const,
      registers: [registry],
      async collect() {
        const counts = await storage.scoring.countHandOffsByStatus();
        for (const status of HAND_OFF_STATUSES) this.set({ status }, counts.get(status) ?? 0);
      },
    }),
    timersOverdue: new Gauge({
      name: 'mops_timers_overdue_seconds',
      help: 'How late the earliest due timer of each kind is, in seconds (0 while none is past due): journey waits, segment windows (which also wait for the segments consumer to have read the events before them), hand-off SLA checks, scores crossing a stage threshold by time alone. Growing, the timers are stuck or behind',
      labelNames: ['kind'] as const,
      registers: [registry],
      async collect() {
        const now = clock.now();
        const earliest: Record<TimerKind, number | undefined> = {
          journey: await storage.journeys.nextTimerDue(),
          segment: await storage.segments.nextTimerDue(),
          'hand-off': await storage.scoring.nextHandOffDue(),
          stage: await storage.scoring.nextStageTimerDue(),
        };
        for (const kind of TIMER_KINDS) this.set({ kind }, secondsLate(earliest[kind], now));
      },
    }),
    messagesOverdue: new Gauge({
      name: 'mops_messages_overdue_seconds',
      help: 'How late the earliest message due to be sent is (queued, or deferred by quiet hours or a retry), in seconds; 0 while none is past due. Growing, sending is stuck or behind',
      registers: [registry],
      async collect() {
        this.set(secondsLate(await storage.messages.nextDue(), clock.now()));
      },
    }),
    setAsideTimers: new Gauge({
      name: 'mops_set_aside_timers',
      help: 'Due timers that failed at every attempt and were set aside, not yet retried or dismissed, by kind: journey, segment, hand-off (listed per workspace under /set-aside-timers)',
      labelNames: ['kind'] as const,
      registers: [registry],
      async collect() {
        const counts = await storage.setAsideTimers.countByKind();
        for (const kind of TIMER_KINDS) this.set({ kind }, counts.get(kind) ?? 0);
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

function secondsLate(dueAt: number | undefined, now: number): number {
  return dueAt === undefined ? 0 : Math.max(0, (now - dueAt) / 1000);
}
