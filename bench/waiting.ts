import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import {
  adminApi,
  benchDatabase,
  buildOnce,
  machine,
  postBatches,
  printResult,
  rssMb,
  standInForAutovacuum,
  startServer,
  waitForQuiet,
} from './support.js';

const PROFILES = Number(process.env.BENCH_PROFILES ?? 1_000_000);
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 100_000);
const TARGET_MB = 1024;
/** Calls built and sent at a time, so the benchmark's own memory stays small and progress shows. */
const CHUNK = 50_000;
const BATCH = 1000;
const PARALLEL = 8;
const SETTLE_S = 10;
const IDLE_S = 5;
/** Catching up a million identifies on two busy cores takes minutes, not the default ten. */
const QUIET_TIMEOUT_MS = 60 * 60_000;
const WAIT_STEP = 'wait-for-payment';

type Database = Awaited<ReturnType<typeof benchDatabase>>;
type Server = Awaited<ReturnType<typeof startServer>>;
interface JourneyReport {
  entered: number;
  active: number;
  steps: Record<string, { entered: number; waiting: number } | undefined>;
}

/**
 * 1,000,000 profiles stored, 100,000 of them parked in a journey's `wait_for_event` (an event wait
 * keyed to the entry event plus a 14-day timeout timer, the heaviest kind of parking); the figure is
 * the server's resident memory with all of them parked, then that of a fresh server on the same data,
 * which shows that parked instances live in the database, not in memory. Target: RSS ≤ 1 GiB.
 */
export async function runWaitingBenchmark(): Promise<void> {
  buildOnce();
  const database = await benchDatabase();
  const backend = database.postgresUrl ? 'postgres' : 'sqlite';
  const phases: Array<[string, number]> = [];
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    const seconds = (performance.now() - started) / 1000;
    phases.push([name, seconds]);
    process.stdout.write(`  ${name}: ${seconds.toFixed(1)} s\n`);
    return result;
  };
  let server: Server | undefined;
  let analyzer: Awaited<ReturnType<typeof standInForAutovacuum>> | undefined;
  try {
    process.stdout.write(`waiting benchmark on ${backend}: ${machine()}\n`);
    server = await startServer(database.env);
    const pid = server.child.pid ?? 0;
    const { call, writeKey } = await adminApi(server.url, database.env);
    const journey = await call('POST', '/journeys', {
      definition: {
        name: 'Waiting bench',
        entry: { trigger: { type: 'event', event: 'Trial Started' } },
        start: WAIT_STEP,
        steps: [
          {
            id: WAIT_STEP,
            type: 'wait_for_event',
            event: 'Subscription Paid',
            matchEntryProperty: 'properties.trial_id',
            timeout: '14d',
            next: 'end',
            timeoutNext: 'end',
          },
          { id: 'end', type: 'exit' },
        ],
      },
    });
    await call('POST', `/journeys/${journey.id}/publish`);
    const rssEmptyMb = rssMb(pid);

    const url = server.url;
    analyzer = await standInForAutovacuum(database);
    process.stdout.write(`creating ${PROFILES.toLocaleString('en')} profiles…\n`);
    await timed('profiles sent', () =>
      sendInChunks(url, writeKey, PROFILES, 'profiles', (i) => ({
        type: 'identify',
        userId: `u${i}`,
        messageId: `id-${i}`,
        traits: { email: `u${i}@example.com`, name: `User ${i}`, plan: i % 3 ? 'basic' : 'pro' },
      })),
    );
    await timed('profiles caught up', () => waitForQuiet(url, QUIET_TIMEOUT_MS));
    const profiles = await countRows(database, 'profiles');
    if (profiles !== PROFILES) throw new Error(`expected ${PROFILES} profiles stored, found ${profiles}`);
    const rssProfilesMb = rssMb(pid);

    // Spread over the whole million, so the entered profiles are not all neighbours in the table.
    const stride = Math.max(1, Math.floor(PROFILES / INSTANCES));
    process.stdout.write(`entering ${INSTANCES.toLocaleString('en')} of them into the journey…\n`);
    await timed('entries sent', () =>
      sendInChunks(url, writeKey, INSTANCES, 'entries', (i) => ({
        type: 'track',
        userId: `u${(i * stride) % PROFILES}`,
        messageId: `trial-${i}`,
        event: 'Trial Started',
        properties: { trial_id: `trial-${i}`, plan: 'pro' },
      })),
    );
    await timed('entries caught up', () => waitForQuiet(url, QUIET_TIMEOUT_MS));
    const report = await call<JourneyReport>('GET', `/journeys/${journey.id}/report`);
    await expectParked(database, report);
    const rssParkedMb = rssMb(pid);
    await sleep(SETTLE_S * 1000);
    const rssSettledMb = rssMb(pid);
    const peakRssMb = peakMb(pid);
    await server.stop();
    server = undefined;

    // A fresh process on the same data: what it holds is what parked instances cost at rest.
    process.stdout.write(`restarting on the same ${backend} data…\n`);
    const restart = performance.now();
    server = await startServer(database.env);
    phases.push(['restart', (performance.now() - restart) / 1000]);
    const restartedPid = server.child.pid ?? 0;
    await sleep(IDLE_S * 1000);
    const rssRestartedMb = rssMb(restartedPid);
    const peakRestartedMb = peakMb(restartedPid);
    const restarted = await adminApi(server.url, database.env);
    await expectParked(
      database,
      await restarted.call<JourneyReport>('GET', `/journeys/${journey.id}/report`),
    );
    await server.stop();
    server = undefined;
    const databaseMb = await databaseSizeMb(database);

    const figures = {
      bench: 'waiting',
      backend,
      instances: INSTANCES,
      profiles: PROFILES,
      rss_mb: Math.max(rssParkedMb, rssSettledMb),
      settled_rss_mb: rssSettledMb,
      peak_rss_mb: peakRssMb,
      restarted_rss_mb: rssRestartedMb,
      restarted_peak_rss_mb: peakRestartedMb,
      profiles_rss_mb: rssProfilesMb,
      empty_rss_mb: rssEmptyMb,
      database_mb: databaseMb,
    };
    process.stdout.write(
      `phases: ${phases.map(([name, seconds]) => `${name} ${seconds.toFixed(1)} s`).join(', ')}\n`,
    );
    process.stdout.write(
      `${INSTANCES.toLocaleString('en')} instances parked (event wait + 14-day timer) among ${PROFILES.toLocaleString('en')} profiles: server RSS ${rssParkedMb} MB parked, ${rssSettledMb} MB after ${SETTLE_S} s, peak ${peakRssMb} MB (empty ${rssEmptyMb} MB, after the profiles ${rssProfilesMb} MB); a fresh server on the same data: ${rssRestartedMb} MB after ${IDLE_S} s idle (peak ${peakRestartedMb} MB); database ${databaseMb} MB on disk; target RSS ≤ ${TARGET_MB} MB\n`,
    );
    printResult(figures);
  } finally {
    await analyzer?.stop();
    await server?.stop();
    await database.cleanup();
  }
}

/** Sends `total` calls made by `make`, CHUNK at a time, printing progress. */
async function sendInChunks(
  url: string,
  writeKey: string,
  total: number,
  what: string,
  make: (i: number) => unknown,
): Promise<void> {
  const started = performance.now();
  for (let from = 0; from < total; from += CHUNK) {
    const calls = Array.from({ length: Math.min(CHUNK, total - from) }, (_, k) => make(from + k));
    await postBatches(url, writeKey, calls, BATCH, PARALLEL);
    const sent = from + calls.length;
    const perSecond = Math.round(sent / ((performance.now() - started) / 1000));
    process.stdout.write(
      `  ${sent.toLocaleString('en')} / ${total.toLocaleString('en')} ${what} (${perSecond.toLocaleString('en')}/s)\n`,
    );
  }
}

/** Fails loudly unless every instance is active in the wait step, each with its timeout timer. */
async function expectParked(database: Database, report: JourneyReport): Promise<void> {
  const waiting = report.steps[WAIT_STEP]?.waiting ?? 0;
  const timers = await countRows(database, 'journey_timers');
  if (report.entered !== INSTANCES || report.active !== INSTANCES || waiting !== INSTANCES) {
    throw new Error(
      `expected ${INSTANCES} instances entered, active and waiting in ${WAIT_STEP}; the report says ${JSON.stringify(report)}`,
    );
  }
  if (timers !== INSTANCES) throw new Error(`expected ${INSTANCES} timeout timers, found ${timers}`);
  process.stdout.write(
    `  report: ${report.entered} entered, ${report.active} active, ${waiting} waiting in ${WAIT_STEP}; ${timers} timers\n`,
  );
}

async function countRows(database: Database, table: 'profiles' | 'journey_timers'): Promise<number> {
  if (!database.postgresUrl) {
    const sqlite = new BetterSqlite3(path.join(database.dataDir, 'mops.db'), { readonly: true });
    try {
      return (sqlite.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
    } finally {
      sqlite.close();
    }
  }
  const client = new pg.Client({ connectionString: database.env.MOPS_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(`select count(*) as n from ${table}`);
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/** The data directory's files for SQLite (database, WAL); the schema's tables and indexes for PostgreSQL. */
async function databaseSizeMb(database: Database): Promise<number> {
  if (!database.postgresUrl) {
    const bytes = readdirSync(database.dataDir, { recursive: true, encoding: 'utf8' })
      .map((name) => statSync(path.join(database.dataDir, name)))
      .filter((stat) => stat.isFile())
      .reduce((sum, stat) => sum + stat.size, 0);
    return Math.round(bytes / 2 ** 20);
  }
  const client = new pg.Client({ connectionString: database.postgresUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ bytes: string | null }>(
      `select sum(pg_total_relation_size(c.oid)) as bytes
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $1 and c.relkind = 'r'`,
      [database.schema],
    );
    return Math.round(Number(rows[0]?.bytes ?? 0) / 2 ** 20);
  } finally {
    await client.end();
  }
}

/** Peak resident memory of a process so far (VmHWM), from /proc. */
function peakMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
