import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import autocannon from 'autocannon';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createApiKey, ensureFirstRun } from '../src/access/access.js';
import { systemClock } from '../src/core/clock.js';
import { loadConfig } from '../src/core/config.js';
import { openStorage } from '../src/storage/open-storage.js';
import { benchDatabase, buildOnce, machine, printResult, startServer } from './support.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = 32;
const EVENTS_PER_REQUEST = 100;
const USERS = 10_000;
const CEILING_TRANSACTION_ROWS = 1000;

/**
 * POST /v1/batch at full speed from this process (autocannon, 32 connections, 100 events of ~250 bytes
 * per request) against `mops start` in its own process, then the raw ceiling in the same run: the
 * same rows into a fresh database with the same schema, by better-sqlite3 prepared statements in
 * 1,000-row transactions (SQLite) or COPY (PostgreSQL).
 */
export async function runIngestBenchmark(): Promise<void> {
  buildOnce();
  const database = await benchDatabase();
  const backend = database.postgresUrl ? 'postgres' : 'sqlite';
  try {
    const writeKey = await prepareWorkspace(database.env);
    const server = await startServer(database.env);
    const runId = randomBytes(3).toString('hex');
    let sequence = 0;
    const makeBody = () => {
      const request = sequence++;
      const events: string[] = [];
      for (let i = 0; i < EVENTS_PER_REQUEST; i++)
        events.push(eventJson(`${runId}-${request}-${i}`, (request * 7 + i * 13) % USERS));
      return `{"batch":[${events.join(',')}],"sentAt":"${new Date().toISOString()}"}`;
    };
    process.stdout.write(`ingest benchmark on ${backend}: ${machine()}\n`);
    process.stdout.write(
      `event size ≈ ${Buffer.byteLength(eventJson('x'.repeat(20), 1))} bytes, ${EVENTS_PER_REQUEST} per request, ${CONNECTIONS} connections\n`,
    );

    const load = (seconds: number) =>
      autocannon({
        url: `${server.url}/v1/batch`,
        connections: CONNECTIONS,
        duration: seconds,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
        },
        requests: [{ setupRequest: (request) => ({ ...request, body: makeBody() }) }],
      });

    await load(2); // warm-up: JIT, page cache, connection pools
    const storedBefore = await countEvents(database);
    const result = await load(DURATION_S);
    const storedAfter = await countEvents(database);
    const stored = storedAfter - storedBefore;
    const seconds = result.duration;
    const eventsPerSecond = stored / seconds;
    const drainStarted = Date.now();
    await waitForPipeline(database);
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    await server.stop();

    const rows = Math.min(stored, 2_000_000);
    const ceiling =
      backend === 'sqlite'
        ? await sqliteCeiling(database.dataDir, rows, runId)
        : await postgresCeiling(rows, runId);
    const ratio = eventsPerSecond / ceiling;
    const figures = {
      bench: 'ingest',
      backend,
      events_per_s: Math.round(eventsPerSecond),
      p50_ms: result.latency.p50,
      p99_ms: result.latency.p99,
      requests_2xx: result['2xx'],
      requests_non_2xx: result.non2xx,
      errors: result.errors,
      ceiling_rows_per_s: Math.round(ceiling),
      ratio: Number(ratio.toFixed(3)),
      pipeline_drain_s: Number(drainSeconds.toFixed(2)),
      stored_events: stored,
    };
    process.stdout.write(
      [
        `stored ${stored} events in ${seconds.toFixed(1)} s: ${figures.events_per_s} events/s`,
        `request latency p50 ${figures.p50_ms} ms, p99 ${figures.p99_ms} ms (${figures.requests_2xx} × 2xx, ${figures.requests_non_2xx} other, ${figures.errors} errors)`,
        `raw ceiling (${backend === 'sqlite' ? 'better-sqlite3 prepared inserts, 1,000-row transactions' : 'COPY'}, same schema): ${figures.ceiling_rows_per_s} rows/s`,
        `ratio ${figures.ratio} (target ≥ 0.5, and ≥ 100,000 events/s)`,
        `profiles pipeline caught up ${figures.pipeline_drain_s} s after the load stopped`,
        '',
      ].join('\n'),
    );
    printResult(figures);
  } finally {
    await database.cleanup();
  }

  async function countEvents(db: typeof database): Promise<number> {
    if (!db.postgresUrl) {
      const sqlite = new BetterSqlite3(path.join(db.dataDir, 'mops.db'), { readonly: true });
      const row = sqlite.prepare('select count(*) as n from events').get() as { n: number };
      sqlite.close();
      return row.n;
    }
    const client = new pg.Client({ connectionString: db.env.MOPS_DATABASE_URL });
    await client.connect();
    const { rows } = await client.query<{ n: string }>('select count(*) as n from events');
    await client.end();
    return Number(rows[0]?.n ?? 0);
  }

  async function waitForPipeline(db: typeof database): Promise<void> {
    const storage = await openStorage(loadConfig({ ...process.env, ...db.env }));
    try {
      while ((await storage.pipelineLag('profiles')) > 0)
        await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await storage.close();
    }
  }
}

function eventJson(messageId: string, user: number): string {
  const anonymousId = `5c1e${String(user).padStart(4, '0')}-8f3a-4b7e-9c21-7d2f0a9e6b14`;
  return `{"type":"track","event":"Product Viewed","userId":"user-${user}","anonymousId":"${anonymousId}","messageId":"${messageId}","timestamp":"2026-11-23T10:00:00.000Z","properties":{"sku":"SKU-${10000 + user}","price":19.99,"currency":"EUR"}}`;
}

async function prepareWorkspace(env: Record<string, string>): Promise<string> {
  const storage = await openStorage(loadConfig({ ...process.env, ...env }));
  try {
    await storage.migrate();
    const { workspace } = await ensureFirstRun(storage, systemClock, { withAdmin: false });
    const { token } = await createApiKey(storage, {
      workspaceId: workspace.id,
      kind: 'write',
      name: 'bench',
      now: Date.now(),
      createdBy: null,
    });
    return token;
  } finally {
    await storage.close();
  }
}

/** The rows as the server stores them: same columns, same sizes. */
function ceilingRow(runId: string, n: number) {
  const user = n % USERS;
  const messageId = `ceiling-${runId}-${n}`;
  const now = Date.now();
  return {
    workspace_id: 'ws_01KAW0000000000000000000000',
    message_id: messageId,
    type: 'track',
    name: 'Product Viewed',
    user_id: `user-${user}`,
    anonymous_id: `5c1e${String(user).padStart(4, '0')}-8f3a-4b7e-9c21-7d2f0a9e6b14`,
    timestamp: now,
    original_timestamp: now,
    sent_at: now,
    received_at: now,
    payload: eventJson(messageId, user),
  };
}

async function sqliteCeiling(dataDir: string, rows: number, runId: string): Promise<number> {
  const file = path.join(dataDir, 'ceiling.db');
  const storage = await openStorage({
    database: { kind: 'sqlite', path: file, synchronous: 'normal' },
    dedupeWindowMs: 86_400_000,
  });
  await storage.migrate();
  await storage.close();
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const insert = db.prepare(
    `insert into events (workspace_id, message_id, type, name, user_id, anonymous_id, timestamp, original_timestamp, sent_at, received_at, payload)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const prepared = Array.from({ length: rows }, (_, n) => Object.values(ceilingRow(runId, n)));
  const insertMany = db.transaction((batch: unknown[][]) => {
    for (const row of batch) insert.run(row);
  });
  const started = process.hrtime.bigint();
  for (let i = 0; i < prepared.length; i += CEILING_TRANSACTION_ROWS)
    insertMany(prepared.slice(i, i + CEILING_TRANSACTION_ROWS));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return rows / seconds;
}

async function postgresCeiling(rows: number, runId: string): Promise<number> {
  const target = await benchDatabase();
  try {
    const storage = await openStorage(loadConfig({ ...process.env, ...target.env }));
    await storage.migrate();
    await storage.close();
    const client = new pg.Client({ connectionString: target.env.MOPS_DATABASE_URL });
    await client.connect();
    const lines: string[] = [];
    for (let n = 0; n < rows; n++) {
      const row = ceilingRow(runId, n);
      lines.push(
        [
          row.workspace_id,
          row.message_id,
          row.type,
          row.name,
          row.user_id,
          row.anonymous_id,
          row.timestamp,
          row.original_timestamp,
          row.sent_at,
          row.received_at,
          row.payload.replaceAll('\\', '\\\\'),
        ].join('\t'),
      );
    }
    const started = process.hrtime.bigint();
    const stream = client.query(
      copyFrom(
        'copy events (workspace_id, message_id, type, name, user_id, anonymous_id, timestamp, original_timestamp, sent_at, received_at, payload) from stdin',
      ),
    );
    const chunks = function* () {
      for (let i = 0; i < lines.length; i += 1000) yield `${lines.slice(i, i + 1000).join('\n')}\n`;
    };
    await pipeline(chunks, stream);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await client.end();
    return rows / seconds;
  } finally {
    await target.cleanup();
  }
}
