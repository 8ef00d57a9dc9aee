import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import pino from 'pino';
import { ensureFirstRun } from '../src/access/access.js';
import { ManualClock, systemClock } from '../src/core/clock.js';
import { loadConfig } from '../src/core/config.js';
import {
  SEGMENT_ENTERED,
  SEGMENT_EXITED,
  type Segment,
  SegmentInput,
} from '../src/core/segment-definition.js';
import { ingest } from '../src/ingest/ingest.js';
import { JOURNEYS_CURSOR } from '../src/journeys/journeys.js';
import { PROFILES_CURSOR } from '../src/profiles/profiles.js';
import { SCORING_CURSOR } from '../src/scoring/scoring.js';
import { backfillSegment } from '../src/segments/backfill.js';
import { liveRuleSegments, reevaluateProfiles, TOUCHED_ALL } from '../src/segments/live-segments.js';
import { createSegment, SEGMENTS_CURSOR } from '../src/segments/segments.js';
import { createJourneyWork, type JourneyWork } from '../src/server/background.js';
import { openStorage } from '../src/storage/open-storage.js';
import type { Storage } from '../src/storage/storage.js';
import { machine, printResult } from './support.js';

const PROFILES = Number(process.env.BENCH_PROFILES ?? 1_000_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const INGEST_EVENTS = Number(process.env.BENCH_INGEST_EVENTS ?? 100_000);
const HISTORY_DAYS = 90;
const DAY = 86_400_000;
/** Calls per ingest() call, as an SDK flushes them; the pipeline is drained after every chunk. */
const INGEST_BATCH = 500;
const INGEST_CHUNK = 10_000;
/** Share of ingested sessions from users never seen before (they make new profiles). */
const NEW_USER_SHARE = 0.05;
/** Users come in sessions of about this many events, this many sessions open at once (see Traffic). */
const SESSION_EVENTS = 5;
const OPEN_SESSIONS = Math.max(1, Math.min(5000, Math.floor(PROFILES / 10)));
const TARGET_BACKFILL_S = 10;
const TARGET_RATIO = 0.7;
const LOAD_COMMAND = 'load-segments-data';
const REAL_BACKFILLS = process.env.BENCH_SEGMENT_BACKFILLS === '1';
/** Profiles per transaction when settling the 49 segments' membership (a pipeline batch's worth). */
const SETTLE_BATCH = 1000;
const BACKFILL_RULE = { type: 'event', event: 'Order Completed', within: '30d', atLeast: 2, where: [] };

/**
 * 1,000,000 profiles and 10,000,000 events over 90 days in the embedded SQLite database, written
 * straight into the tables the pipeline fills (by a child process, so that its memory is not counted);
 * then, in this process and through the real code: the backfill of a segment "≥ 2 Order Completed in
 * 30 days" (target ≤ 10 s); fresh events through ingest() and every pipeline consumer (profiles,
 * scoring, segments, journeys), first without live segments, then with 50 varied ones whose
 * membership of every profile is settled beforehand (target: events/s with ≥ 0.7 × without); and
 * the peak resident memory of each phase. BENCH_PROFILES, BENCH_EVENTS and BENCH_INGEST_EVENTS scale
 * it down; BENCH_KEEP=1 keeps the database.
 */
export async function runSegmentsBenchmark(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mops-bench-segments-'));
  const memory = new PeakMemory();
  let storage: Storage | undefined;
  let stopWork: (() => Promise<void>) | undefined;
  try {
    process.stdout.write(`segments benchmark on sqlite: ${machine()}\n`);
    // The embedded default, whatever the environment says about PostgreSQL.
    const config = loadConfig({
      ...process.env,
      MOPS_DATABASE_URL: '',
      MOPS_DATA_DIR: dataDir,
      MOPS_LOG_LEVEL: 'silent',
    });
    const file = config.database.kind === 'sqlite' ? config.database.path : '';
    const setup = await openStorage(config);
    await setup.migrate();
    const { workspace } = await ensureFirstRun(setup, systemClock, { withAdmin: false });
    await setup.close();
    const workspaceId = workspace.id;

    process.stdout.write(
      `loading ${PROFILES.toLocaleString('en')} profiles and ${EVENTS.toLocaleString('en')} events over ${HISTORY_DAYS} days (not measured against a target)…\n`,
    );
    const loadStarted = performance.now();
    await runLoader({ file, workspaceId, profiles: PROFILES, events: EVENTS, end: Date.now() });
    const loadS = seconds(loadStarted);
    const databaseMb = directoryMb(dataDir);
    const loaded = querySqlite(file, (db) => ({
      profiles: count(db, 'select count(*) as n from profiles'),
      events: count(db, 'select count(*) as n from events'),
    }));
    process.stdout.write(
      `  loaded in ${loadS.toFixed(1)} s: ${loaded.profiles.toLocaleString('en')} profiles (users with at least one event), ${loaded.events.toLocaleString('en')} events, database ${databaseMb} MB\n`,
    );

    const opened = await memory.phase('open', () => openStorage(config));
    storage = opened;
    // The pipeline as the server runs it, segments on a thread of their own; it is stopped while the
    // benchmark sets up segments (their backfills are its own), and started again afresh to measure.
    const startWork = () => {
      const work = createJourneyWork({
        storage: opened,
        clock: systemClock,
        logger: pino({ level: 'silent' }),
        onMessagesQueued: () => undefined,
        segmentsThread: config,
      });
      stopWork = () => work.stop();
      return work;
    };
    const work = startWork();
    const context: IngestContext = { file, storage, work, workspaceId, nextNewUser: PROFILES };

    // JIT and page cache, so that the first measured run is not the one paying for them.
    await ingestRun(context, { label: 'warm-up', count: Math.min(10_000, INGEST_EVENTS), seed: 1 });
    const without = await memory.phase('ingest without segments', () =>
      ingestRun(context, { label: 'without', count: INGEST_EVENTS, seed: 2 }),
    );
    printRun('ingest without live segments', without);

    await stopWork?.();
    stopWork = undefined;
    const backfill = await memory.phase('backfill', () => timeBackfill(opened, file, workspaceId));
    process.stdout.write(
      `backfill of ${JSON.stringify(BACKFILL_RULE)} over ${backfill.profiles.toLocaleString('en')} profiles: ${backfill.seconds.toFixed(2)} s, ${backfill.members.toLocaleString('en')} members (as SQL counts them); target ≤ ${TARGET_BACKFILL_S} s: ${verdict(backfill.seconds <= TARGET_BACKFILL_S)}\n`,
    );

    const others = await memory.phase('49 more segments settled', () =>
      createLiveSegments(opened, workspaceId, backfill.segmentId),
    );
    const stored = querySqlite(file, (db) => ({
      members: count(db, 'select count(*) as n from segment_members'),
      timers: count(db, 'select count(*) as n from segment_profile_timers'),
    }));
    process.stdout.write(
      `49 more live segments created and their membership settled in ${others.seconds.toFixed(1)} s, ${others.how}; now ${stored.members.toLocaleString('en')} memberships and ${stored.timers.toLocaleString('en')} profile timers stored\n`,
    );

    context.work = startWork();
    // As before the run without: a warm-up of the same size, here also for the segments consumer's
    // digests of the profiles it meets (a server that has been running has them).
    await ingestRun(context, { label: 'warm-up with', count: Math.min(10_000, INGEST_EVENTS), seed: 4 });
    const withSegments = await memory.phase('ingest with 50 segments', () =>
      ingestRun(context, { label: 'with', count: INGEST_EVENTS, seed: 3 }),
    );
    printRun('ingest with 50 live segments', withSegments);

    const ratio = withSegments.eventsPerS / without.eventsPerS;
    const pipelineRatio = withSegments.pipelinePerS / without.pipelinePerS;
    const peakRssMb = Math.max(...Object.values(memory.peaks));
    process.stdout.write(
      [
        `ingest ratio ${ratio.toFixed(3)} end to end (append + all consumers; target ≥ ${TARGET_RATIO}: ${verdict(ratio >= TARGET_RATIO)}); pipeline alone ${pipelineRatio.toFixed(3)}`,
        `peak RSS ${peakRssMb} MB (${memory.isExact ? 'kernel high-water mark, reset per phase' : 'high-water mark since start'}): ${Object.entries(
          memory.peaks,
        )
          .map(([name, mb]) => `${name} ${mb} MB`)
          .join(', ')}; the data load ran in a child process and is not counted`,
        '',
      ].join('\n'),
    );
    printResult({
      bench: 'segments',
      backend: 'sqlite',
      profiles: loaded.profiles,
      events: loaded.events,
      backfill_s: round(backfill.seconds, 2),
      members: backfill.members,
      ingest_ratio: round(ratio, 3),
      events_per_s_without: Math.round(without.eventsPerS),
      events_per_s_with: Math.round(withSegments.eventsPerS),
      pipeline_ratio: round(pipelineRatio, 3),
      pipeline_events_per_s_without: Math.round(without.pipelinePerS),
      pipeline_events_per_s_with: Math.round(withSegments.pipelinePerS),
      segment_events_written: withSegments.segmentEvents,
      ingest_events: INGEST_EVENTS,
      live_segments: 50,
      live_segments_settle_s: round(others.seconds, 1),
      peak_rss_mb: peakRssMb,
      peak_rss_mb_backfill: memory.peaks.backfill,
      peak_rss_mb_ingest_with: memory.peaks['ingest with 50 segments'],
      load_s: round(loadS, 1),
      database_mb: databaseMb,
    });
  } finally {
    await stopWork?.();
    await storage?.close();
    if (process.env.BENCH_KEEP) process.stdout.write(`data kept in ${dataDir}\n`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

interface IngestContext {
  file: string;
  storage: Storage;
  work: JourneyWork;
  workspaceId: string;
  /** The next never-seen user number: new users of every run are distinct. */
  nextNewUser: number;
}

interface IngestRun {
  count: number;
  appendS: number;
  drainS: number;
  eventsPerS: number;
  pipelinePerS: number;
  segmentEvents: number;
}

/**
 * `count` fresh calls (the history's mix and sessions, 5 % of sessions from new users) through
 * ingest() in batches of 500, the pipeline drained after every 10,000: the time to append them, and
 * the time for every consumer to be done with them and with the Segment Entered/Exited they caused.
 */
async function ingestRun(
  context: IngestContext,
  options: { label: string; count: number; seed: number },
): Promise<IngestRun> {
  const { storage, work, workspaceId } = context;
  const random = mulberry32(options.seed);
  const traffic = new Traffic(random, () =>
    random() < NEW_USER_SHARE ? context.nextNewUser++ : activeUser(random, PROFILES),
  );
  let appendMs = 0;
  let drainMs = 0;
  const lastBefore = querySqlite(context.file, (db) => count(db, 'select max(id) as n from events'));
  for (let from = 0; from < options.count; from += INGEST_CHUNK) {
    const calls: Array<Record<string, unknown>> = [];
    for (let i = from; i < Math.min(options.count, from + INGEST_CHUNK); i++) {
      const user = traffic.next();
      calls.push(segmentCall({ random, user, messageId: `${options.label}-${i}`, at: Date.now() }));
    }
    const appendStarted = performance.now();
    let stored = 0;
    for (let i = 0; i < calls.length; i += INGEST_BATCH) {
      const result = await ingest(storage.events, {
        workspaceId,
        endpoint: 'batch',
        body: { batch: calls.slice(i, i + INGEST_BATCH) },
        receivedAt: Date.now(),
      });
      if (result.rejected.length > 0) throw new Error(`rejected: ${JSON.stringify(result.rejected[0])}`);
      stored += result.stored;
    }
    if (stored !== calls.length) throw new Error(`stored ${stored} of ${calls.length} events`);
    const drainStarted = performance.now();
    await work.pipeline.drain(600_000);
    drainMs += performance.now() - drainStarted;
    appendMs += drainStarted - appendStarted;
  }
  const segmentEvents = querySqlite(context.file, (db) =>
    count(
      db,
      'select count(*) as n from events where id > ? and name in (?, ?)',
      lastBefore,
      SEGMENT_ENTERED,
      SEGMENT_EXITED,
    ),
  );
  return {
    count: options.count,
    appendS: appendMs / 1000,
    drainS: drainMs / 1000,
    eventsPerS: options.count / ((appendMs + drainMs) / 1000),
    pipelinePerS: options.count / (drainMs / 1000),
    segmentEvents,
  };
}

function printRun(what: string, run: IngestRun): void {
  process.stdout.write(
    `${what}: ${run.count.toLocaleString('en')} events appended in ${run.appendS.toFixed(2)} s, processed by every consumer in ${run.drainS.toFixed(2)} s: ${Math.round(run.eventsPerS).toLocaleString('en')} events/s end to end (pipeline alone ${Math.round(run.pipelinePerS).toLocaleString('en')}/s; ${run.segmentEvents.toLocaleString('en')} ${SEGMENT_ENTERED}/${SEGMENT_EXITED} events written)\n`,
  );
}

/** Creates the segment of the issue and backfills it, timed; the member count is checked against SQL. */
async function timeBackfill(
  storage: Storage,
  file: string,
  workspaceId: string,
): Promise<{ segmentId: string; seconds: number; members: number; profiles: number }> {
  // A frozen clock, so that the SQL check below counts the same window the backfill did.
  const clock = new ManualClock(Date.now());
  const segment = await createSegment(storage, {
    workspaceId,
    input: SegmentInput.parse({ name: 'Repeat buyers', kind: 'live', rule: BACKFILL_RULE }),
    now: clock.now(),
  });
  const started = performance.now();
  const outcome = await backfillSegment(storage, { segment, clock, logger: pino({ level: 'silent' }) });
  const elapsed = seconds(started);
  if (outcome !== 'finished') throw new Error(`backfill ended ${outcome}`);
  const members = await storage.segments.countMembers(segment.id);
  const expected = querySqlite(file, (db) =>
    count(
      db,
      `select count(*) as n from (
         select user_id from events
         where workspace_id = ? and name = ? and timestamp > ? and timestamp <= ?
         group by user_id having count(*) >= ?)`,
      workspaceId,
      BACKFILL_RULE.event,
      clock.now() - 30 * DAY,
      clock.now(),
      BACKFILL_RULE.atLeast,
    ),
  );
  if (members !== expected) throw new Error(`the backfill found ${members} members, SQL counts ${expected}`);
  const profiles = (await storage.segments.find(workspaceId, segment.id))?.backfill.done ?? 0;
  return { segmentId: segment.id, seconds: elapsed, members, profiles };
}

/**
 * The other 49 live segments: traits, event counts in windows with property filters, first/last
 * event times, nested all/any/not, and segments of segments. The measured run must see membership in
 * its steady state (every profile's members and timer stored), not every profile it touches
 * entering for the first time. Forty-nine backfills of a million profiles one after another take far
 * longer than the rest of the benchmark, so by default every profile is decided once against all live
 * segments together, in batches, by the function the segments consumer decides with (without the
 * Segment Entered/Exited a backfill does not write either), and the segments are marked backfilled.
 * BENCH_SEGMENT_BACKFILLS=1 runs the 49 real backfills instead.
 */
async function createLiveSegments(
  storage: Storage,
  workspaceId: string,
  firstId: string,
): Promise<{ seconds: number; how: string }> {
  const started = performance.now();
  const [first, ...rules] = liveRules(Date.now());
  const ids = new Map([[first?.[0] ?? '', firstId]]);
  const segments: Segment[] = [];
  const times: Array<[string, number]> = [];
  for (const [name, rule] of rules) {
    const clock = new ManualClock(Date.now());
    const segment = await createSegment(storage, {
      workspaceId,
      input: SegmentInput.parse({ name, kind: 'live', rule: withIds(rule, ids) }),
      now: clock.now(),
    });
    ids.set(name, segment.id);
    segments.push(segment);
    if (!REAL_BACKFILLS) continue;
    const backfillStarted = performance.now();
    const outcome = await backfillSegment(storage, { segment, clock, logger: pino({ level: 'silent' }) });
    if (outcome !== 'finished') throw new Error(`backfill of ${name} ended ${outcome}`);
    times.push([name, seconds(backfillStarted)]);
  }
  if (REAL_BACKFILLS) {
    const slowest = times.sort((a, b) => b[1] - a[1]).slice(0, 3);
    return {
      seconds: seconds(started),
      how: `backfilled one after another (slowest: ${slowest.map(([name, s]) => `${name} ${s.toFixed(1)} s`).join(', ')})`,
    };
  }
  const live = await liveRuleSegments(storage, workspaceId);
  const noEvents = { append: async () => undefined };
  let after: string | null = null;
  let done = 0;
  for (;;) {
    const profiles = await storage.segments.listProfilesAfter(workspaceId, after, SETTLE_BATCH);
    const last = profiles.at(-1);
    if (!last) break;
    const write = await reevaluateProfiles(storage, {
      workspaceId,
      touches: new Map(profiles.map((profile) => [profile.id, TOUCHED_ALL])),
      segments: live,
      now: Date.now(),
    });
    await storage.transaction((tx) => write({ ...tx, generatedEvents: noEvents }));
    after = last.id;
    done += profiles.length;
  }
  for (const segment of segments) {
    await storage.segments.saveBackfillProgress({
      id: segment.id,
      version: segment.version,
      after,
      done,
      total: done,
      finishedAt: Date.now(),
    });
  }
  return {
    seconds: seconds(started),
    how: `decided together for ${done.toLocaleString('en')} profiles in batches of ${SETTLE_BATCH.toLocaleString('en')}, as the segments consumer decides (BENCH_SEGMENT_BACKFILLS=1: 49 real backfills instead)`,
  };
}

/** The 50 live segments, the first being the backfilled one; a segment condition names an earlier one. */
function liveRules(at: number): Array<[string, unknown]> {
  const ev = (event: string, within?: string, atLeast = 1, where: unknown[] = []) => ({
    type: 'event',
    event,
    ...(within ? { within } : {}),
    atLeast,
    where,
  });
  const none = (event: string, within: string) => ({ ...ev(event, within, 0), atMost: 0 });
  const prop = (path: string, op: string, value?: unknown) => ({ path, op, value });
  const trait = (path: string, op: string, value?: unknown) => ({ type: 'trait', ...prop(path, op, value) });
  const time = (event: string, which: string, op: string, value: string) => ({
    type: 'event_time',
    event,
    which,
    op,
    value,
  });
  const seg = (name: string, is = 'in') => ({ type: 'segment', segment: name, is });
  const daysAgo = (days: number) => new Date(at - days * DAY).toISOString();
  return [
    ['Repeat buyers', BACKFILL_RULE],
    ['Pro plan', trait('plan', 'eq', 'pro')],
    ['Paid plans', trait('plan', 'in', ['basic', 'pro', 'enterprise'])],
    [
      'Enterprise in DACH',
      { all: [trait('plan', 'eq', 'enterprise'), trait('country', 'in', ['DE', 'AT', 'CH'])] },
    ],
    ['North America', trait('country', 'in', ['US', 'CA'])],
    ['Newsletter', trait('newsletter', 'eq', true)],
    ['Signed up in 90 days', trait('signup_at', 'within_last', '90d')],
    ['Over 40', trait('age', 'gt', 40)],
    ['Companies of 50+', trait('company_size', 'gte', 50)],
    ['High lifetime value', trait('lifetime_value', 'gte', 1000)],
    ['No country', trait('country', 'not_exists')],
    ['Gmail', trait('email', 'contains', 'gmail')],
    ['Active this week', ev('Page Viewed', '7d')],
    ['Heavy browsers', ev('Page Viewed', '30d', 5)],
    ['Product viewers', ev('Product Viewed', '7d', 3)],
    ['Cart abandoners', { all: [ev('Product Added', '7d'), { not: ev('Order Completed', '7d') }] }],
    ['Checkout abandoners', { all: [ev('Checkout Started', '3d'), none('Order Completed', '3d')] }],
    ['Big spenders', ev('Order Completed', '90d', 1, [prop('total', 'gte', 200)])],
    ['EUR buyers', ev('Order Completed', undefined, 1, [prop('currency', 'eq', 'EUR')])],
    ['Coupon users', ev('Order Completed', '60d', 1, [prop('coupon', 'exists')])],
    ['Electronics shoppers', ev('Product Viewed', '30d', 2, [prop('category', 'eq', 'electronics')])],
    ['Email engaged', { any: [ev('Email Opened', '14d'), ev('Email Clicked', '30d')] }],
    ['Campaign 7 clickers', ev('Email Clicked', undefined, 1, [prop('campaign', 'eq', 'c-7')])],
    ['Frequent sign-ins', ev('Signed In', '30d', 3)],
    ['SSO users', ev('Signed In', '90d', 1, [prop('method', 'eq', 'sso')])],
    ['Renewed', ev('Subscription Renewed', '60d')],
    ['Loyal buyers', ev('Order Completed', undefined, 5)],
    ['One-time buyers', { ...ev('Order Completed'), atMost: 1 }],
    ['Big baskets', ev('Order Completed', '30d', 1, [prop('items', 'gte', 3)])],
    ['Pricey product viewers', ev('Product Viewed', '14d', 1, [prop('price', 'gte', 150)])],
    ['First order this month', time('Order Completed', 'first', 'within_last', '30d')],
    [
      'Lapsed buyers',
      { all: [ev('Order Completed'), time('Order Completed', 'last', 'not_within_last', '45d')] },
    ],
    ['Recently signed in', time('Signed In', 'last', 'within_last', '14d')],
    ['Early customers', time('Order Completed', 'first', 'before', daysAgo(60))],
    ['Opened email lately', time('Email Opened', 'last', 'after', daysAgo(10))],
    ['Pro and active', { all: [trait('plan', 'eq', 'pro'), ev('Page Viewed', '7d')] }],
    [
      'Free but engaged',
      {
        all: [
          trait('plan', 'eq', 'free'),
          { any: [ev('Product Added', '14d', 2), ev('Checkout Started', '14d')] },
        ],
      },
    ],
    ['Active, no newsletter', { all: [{ not: trait('newsletter', 'eq', true) }, ev('Signed In', '30d')] }],
    [
      'Upsell targets',
      {
        all: [
          trait('plan', 'in', ['free', 'basic']),
          { any: [ev('Order Completed', '30d', 2), ev('Product Viewed', '7d', 5)] },
          { not: trait('country', 'eq', 'BR') },
        ],
      },
    ],
    ['Win-back', { all: [{ not: ev('Page Viewed', '14d') }, ev('Order Completed', '90d')] }],
    ['Pro repeat buyers', { all: [seg('Repeat buyers'), seg('Pro plan')] }],
    ['Paid, not active', { all: [seg('Paid plans'), seg('Active this week', 'not_in')] }],
    ['Abandoners to rescue', { all: [seg('Cart abandoners'), seg('Win-back', 'not_in')] }],
    ['VIP', { any: [seg('High lifetime value'), { all: [seg('Loyal buyers'), seg('Big spenders')] }] }],
    ['Engaged North Americans', { all: [seg('North America'), seg('Email engaged')] }],
    [
      'Young Europeans',
      { all: [trait('age', 'lt', 30), trait('country', 'in', ['DE', 'FR', 'IT', 'ES', 'NL'])] },
    ],
    ['Pricing page visitors', ev('Page Viewed', '30d', 1, [prop('path', 'eq', '/pricing')])],
    ['From the newsletter', ev('Page Viewed', '14d', 1, [prop('referrer', 'eq', 'newsletter')])],
    ['Big checkouts', ev('Checkout Started', '30d', 1, [prop('value', 'gte', 300)])],
    // "Active in 30 days" asked as the last page view: first/last rules read every page view ever.
    ['Dormant', time('Page Viewed', 'last', 'not_within_last', '30d')],
  ];
}

/** The rule with the segments it names replaced by their ids. */
function withIds(rule: unknown, ids: Map<string, string>): unknown {
  if (Array.isArray(rule)) return rule.map((part) => withIds(part, ids));
  if (rule === null || typeof rule !== 'object') return rule;
  const node = Object.fromEntries(Object.entries(rule).map(([key, value]) => [key, withIds(value, ids)]));
  return node.type === 'segment' ? { ...node, segment: ids.get(String(node.segment)) } : node;
}

type Random = () => number;

/** A small seeded generator, so that every run loads and sends the same data. */
function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Users come in sessions of a few events (about SESSION_EVENTS), OPEN_SESSIONS of them at once, so
 * that one user's events are spread through the log as in real traffic: neither one event per user
 * (every event news for its segments) nor a user's events all in one pipeline batch.
 */
class Traffic {
  readonly #random: Random;
  readonly #userOf: (session: number) => number;
  readonly #users = new Array<number>(OPEN_SESSIONS).fill(0);
  readonly #left = new Array<number>(OPEN_SESSIONS).fill(0);
  #sessions = 0;

  constructor(random: Random, userOf: (session: number) => number) {
    this.#random = random;
    this.#userOf = userOf;
  }

  /** The user of the next event. */
  next(): number {
    const slot = Math.floor(this.#random() * OPEN_SESSIONS);
    if (this.#left[slot] === 0) {
      this.#users[slot] = this.#userOf(this.#sessions++);
      this.#left[slot] = Math.max(1, Math.round(-Math.log(1 - this.#random()) * SESSION_EVENTS));
    }
    this.#left[slot] = (this.#left[slot] ?? 1) - 1;
    return this.#users[slot] ?? 0;
  }
}

/** Some users are much more active than others: the busiest tenth has about a third of the sessions. */
function activeUser(random: Random, users: number): number {
  return Math.floor(random() ** 2 * users);
}

/** A step through 0…n−1 that visits every number once. */
function coprimeStride(n: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  let stride = Math.max(1, Math.floor(n * 0.618));
  while (gcd(stride, n) !== 1) stride++;
  return stride;
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const money = (random: Random, from: number, to: number) =>
  Math.round((from + random() * (to - from)) * 100) / 100;
const CATEGORIES = ['electronics', 'books', 'garden', 'toys', 'fashion', 'sports', 'beauty', 'grocery'];
const PLANS = ['free', 'free', 'basic', 'pro', 'enterprise'];
const COUNTRIES = ['US', 'CA', 'GB', 'DE', 'FR', 'IT', 'ES', 'NL', 'AT', 'CH', 'BR', 'IN'];

/** The event mix, by weight out of 100: browsing dominates, one call in ten is an order. */
const EVENT_MIX: Array<{ name: string | null; weight: number; properties: (random: Random) => unknown }> = [
  {
    name: 'Page Viewed',
    weight: 40,
    properties: (r) => ({
      path: pick(r, ['/', '/pricing', '/features', '/blog', '/docs', '/about']),
      referrer: pick(r, ['google', 'direct', 'newsletter', 'ads', 'social']),
    }),
  },
  {
    name: 'Product Viewed',
    weight: 20,
    properties: (r) => ({
      sku: `SKU-${Math.floor(r() * 5000)}`,
      category: pick(r, CATEGORIES),
      price: money(r, 5, 300),
    }),
  },
  {
    name: 'Product Added',
    weight: 8,
    properties: (r) => ({
      sku: `SKU-${Math.floor(r() * 5000)}`,
      category: pick(r, CATEGORIES),
      price: money(r, 5, 300),
      quantity: 1 + Math.floor(r() * 3),
    }),
  },
  {
    name: 'Checkout Started',
    weight: 5,
    properties: (r) => ({ value: money(r, 10, 500), currency: pick(r, ['EUR', 'USD', 'GBP']) }),
  },
  {
    name: 'Order Completed',
    weight: 10,
    properties: (r) => ({
      order_id: `o-${Math.floor(r() * 1e12)}`,
      total: money(r, 10, 500),
      currency: pick(r, ['EUR', 'USD', 'GBP']),
      items: 1 + Math.floor(r() * 5),
      coupon: r() < 0.2 ? 'SPRING' : null,
    }),
  },
  { name: 'Email Opened', weight: 6, properties: (r) => ({ campaign: `c-${Math.floor(r() * 40)}` }) },
  {
    name: 'Email Clicked',
    weight: 3,
    properties: (r) => ({
      campaign: `c-${Math.floor(r() * 40)}`,
      link: pick(r, ['cta', 'footer', 'product']),
    }),
  },
  { name: 'Signed In', weight: 5, properties: (r) => ({ method: pick(r, ['password', 'google', 'sso']) }) },
  {
    name: 'Subscription Renewed',
    weight: 1,
    properties: (r) => ({ plan: pick(r, PLANS.slice(2)), amount: money(r, 10, 200) }),
  },
  { name: null, weight: 2, properties: () => ({}) },
];

/** A profile's traits, the same every time for the same user number. */
function traitsOf(user: number, end: number): Record<string, unknown> {
  const r = mulberry32(user * 2_654_435_761 + 97);
  const country = r() < 0.03 ? undefined : pick(r, COUNTRIES);
  return {
    email: `user-${user}@${pick(r, ['example.com', 'gmail.com', 'outlook.com', 'yahoo.com', 'corp.example'])}`,
    plan: pick(r, PLANS),
    ...(country ? { country } : {}),
    signup_at: new Date(end - Math.floor(r() * 730 * DAY)).toISOString(),
    age: 18 + Math.floor(r() * 60),
    newsletter: r() < 0.4,
    company_size: Math.floor(r() ** 3 * 1000),
    lifetime_value: Math.round(r() ** 2 * 300_000) / 100,
  };
}

/** One Segment call of the mix; an identify changes plan and lifetime value (so trait segments move). */
function segmentCall(options: {
  random: Random;
  user: number;
  messageId: string;
  at: number;
  /** An identify's traits (default: a new plan and lifetime value). */
  traits?: () => Record<string, unknown>;
}): Record<string, unknown> {
  const { random, user, messageId, at } = options;
  let roll = random() * 100;
  let kind = EVENT_MIX[0];
  for (const entry of EVENT_MIX) {
    kind = entry;
    roll -= entry.weight;
    if (roll < 0) break;
  }
  const common = { userId: `user-${user}`, messageId, timestamp: new Date(at).toISOString() };
  if (!kind?.name) {
    return {
      type: 'identify',
      ...common,
      traits: options.traits?.() ?? { plan: pick(random, PLANS), lifetime_value: money(random, 0, 3000) },
    };
  }
  return { type: 'track', event: kind.name, ...common, properties: kind.properties(random) };
}

interface LoadOptions {
  file: string;
  workspaceId: string;
  profiles: number;
  events: number;
  /** The history ends here (epoch ms). */
  end: number;
}

function runLoader(options: LoadOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), LOAD_COMMAND, JSON.stringify(options)],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`the data loader exited with ${code}`)),
    );
  });
}

/**
 * Writes the history as the pipeline would have: events in time order (as ingest appends them),
 * each filed under its user's identity (identity_events), one profile and one user identity per user
 * seen, with first/last seen from its events, and every consumer's cursor after the last event. Trait
 * change history (trait_changes) is left out: nothing measured here reads old entries of it.
 */
function loadData(options: LoadOptions): void {
  const { workspaceId, profiles, events, end } = options;
  const db = new BetterSqlite3(options.file);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -524288');
  const columns = `workspace_id, message_id, type, name, user_id, anonymous_id, timestamp, original_timestamp,
    sent_at, received_at, payload`;
  const rowsPerInsert = 50;
  const insert = db.prepare(
    `insert into events (${columns}) values ${Array.from({ length: rowsPerInsert }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
  );
  const insertOne = db.prepare(`insert into events (${columns}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const firstSeen = new Float64Array(profiles).fill(Number.NaN);
  const lastSeen = new Float64Array(profiles);
  const random = mulberry32(42);
  // Every so many sessions belongs to the next user of a permutation, so that every user has one.
  const every = Math.max(1, Math.floor(events / SESSION_EVENTS / profiles));
  const stride = coprimeStride(profiles);
  const traffic = new Traffic(random, (session) =>
    session % every === 0 && session / every < profiles
      ? ((session / every) * stride) % profiles
      : activeUser(random, profiles),
  );
  const start = end - HISTORY_DAYS * DAY;
  const writeChunk = db.transaction((from: number, to: number) => {
    let values: unknown[] = [];
    for (let i = from; i < to; i++) {
      const at = start + Math.floor(((i + 0.5) * HISTORY_DAYS * DAY) / events);
      const user = traffic.next();
      if (Number.isNaN(firstSeen[user])) firstSeen[user] = at;
      lastSeen[user] = at;
      const call = segmentCall({ random, user, messageId: `h-${i}`, at, traits: () => traitsOf(user, end) });
      const name = call.type === 'track' ? (call.event as string) : null;
      values.push(workspaceId, call.messageId, call.type, name, call.userId, null, at, at, null);
      values.push(at + 20 + Math.floor(random() * 400), JSON.stringify(call));
      if (values.length === rowsPerInsert * 11) {
        insert.run(values);
        values = [];
      }
    }
    for (let k = 0; k < values.length; k += 11) insertOne.run(values.slice(k, k + 11));
  });
  const started = performance.now();
  const step = Math.max(100_000, Math.ceil(events / 10));
  for (let from = 0; from < events; from += step) {
    for (let chunk = from; chunk < Math.min(events, from + step); chunk += 100_000)
      writeChunk(chunk, Math.min(events, from + step, chunk + 100_000));
    const done = Math.min(events, from + step);
    process.stdout.write(
      `  ${done.toLocaleString('en')} / ${events.toLocaleString('en')} events (${Math.round(done / seconds(started)).toLocaleString('en')}/s)\n`,
    );
  }

  // Identity i + 1 is user i's; filed in key order, as the index wants them.
  db.prepare(
    `insert into identity_events (identity_id, timestamp, event_id)
     select cast(substr(user_id, 6) as integer) + 1, timestamp, id from events where workspace_id = ? order by 1, 2, 3`,
  ).run(workspaceId);
  const insertProfile = db.prepare(
    `insert into profiles (id, workspace_id, user_id, traits, trait_times, first_seen_at, last_seen_at, created_at, updated_at, merged_into)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, null)`,
  );
  const insertIdentity = db.prepare(
    `insert into identities (id, workspace_id, kind, value, profile_id, created_at) values (?, ?, 'user', ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let user = 0; user < profiles; user++) {
      const first = firstSeen[user] ?? Number.NaN;
      const last = lastSeen[user] ?? 0;
      if (Number.isNaN(first)) continue;
      const traits = traitsOf(user, end);
      const profileId = `prf_${String(user).padStart(26, '0')}`;
      const traitTimes = Object.fromEntries(Object.keys(traits).map((name) => [name, first]));
      insertProfile.run(
        profileId,
        workspaceId,
        `user-${user}`,
        JSON.stringify(traits),
        JSON.stringify(traitTimes),
        first,
        last,
        first,
        last,
      );
      insertIdentity.run(user + 1, workspaceId, `user-${user}`, profileId, first);
    }
    const { last } = db.prepare('select max(id) as last from events').get() as { last: number };
    const cursor = db.prepare('insert into pipeline_cursors (name, position, updated_at) values (?, ?, ?)');
    for (const name of [PROFILES_CURSOR, SCORING_CURSOR, SEGMENTS_CURSOR, JOURNEYS_CURSOR])
      cursor.run(name, String(last), end);
  })();
  db.pragma('journal_mode = WAL');
  db.close();
  process.stdout.write(`  loader peak RSS ${highWaterMb()} MB (child process)\n`);
}

/** Reads the database through a connection of its own, for checks and counts outside the measured code. */
function querySqlite<T>(file: string, read: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

function count(db: BetterSqlite3.Database, query: string, ...parameters: unknown[]): number {
  return (db.prepare(query).get(...parameters) as { n: number }).n;
}

/**
 * Peak resident memory per phase: the kernel's high-water mark (VmHWM), reset before each phase by
 * writing 5 to /proc/self/clear_refs. Where that is not possible, each figure is the peak since start.
 */
class PeakMemory {
  readonly peaks: Record<string, number> = {};
  isExact = true;

  async phase<T>(name: string, work: () => Promise<T>): Promise<T> {
    try {
      writeFileSync('/proc/self/clear_refs', '5');
    } catch {
      this.isExact = false;
    }
    const result = await work();
    this.peaks[name] = highWaterMb();
    return result;
  }
}

function highWaterMb(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
  } catch {
    return Math.round(process.resourceUsage().maxRSS / 1024);
  }
}

function directoryMb(dir: string): number {
  const bytes = readdirSync(dir)
    .map((name) => statSync(path.join(dir, name)))
    .reduce((sum, stat) => sum + stat.size, 0);
  return Math.round(bytes / 2 ** 20);
}

const verdict = (isMet: boolean) => (isMet ? 'met' : 'MISSED');
const seconds = (since: number) => (performance.now() - since) / 1000;
const round = (value: number, digits: number) => Number(value.toFixed(digits));

// `npm run bench -- segments` runs the benchmark; the benchmark runs this file again as the loader.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === LOAD_COMMAND) {
  loadData(JSON.parse(process.argv[3] ?? '{}') as LoadOptions);
}
