import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Benchmarks run the built server, as production does; build it once per run. */
export function buildOnce(): void {
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('build failed');
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  return `${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** A place for one benchmark's data: a temp directory, and for PostgreSQL a fresh schema. */
export async function benchDatabase(): Promise<{
  env: Record<string, string>;
  dataDir: string;
  postgresUrl?: string;
  schema?: string;
  cleanup(): Promise<void>;
}> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mops-bench-'));
  const base = process.env.MOPS_DATABASE_URL;
  // The benchmarks' SMTP sinks and receivers listen on loopback.
  const network = { MOPS_ALLOW_PRIVATE_NETWORKS: 'true' };
  if (!base) {
    return {
      env: { MOPS_DATA_DIR: dataDir, ...network },
      dataDir,
      cleanup: async () => {
        if (process.env.BENCH_KEEP) process.stdout.write(`data kept in ${dataDir}\n`);
        else rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  await client.query(`create schema ${schema}`);
  await client.end();
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    env: {
      MOPS_DATA_DIR: dataDir,
      ...network,
      MOPS_DATABASE_URL: url.toString(),
      MOPS_SECRET: randomBytes(32).toString('hex'),
    },
    dataDir,
    postgresUrl: base,
    schema,
    async cleanup() {
      if (process.env.BENCH_KEEP) {
        process.stdout.write(`data kept in schema ${schema}\n`);
        return;
      }
      const dropper = new pg.Client({ connectionString: base });
      await dropper.connect();
      await dropper.query(`drop schema if exists ${schema} cascade`);
      await dropper.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts `mops start` from the build in its own process and waits until it listens. */
export async function startServer(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; stop(): Promise<void> }> {
  // BENCH_PROFILE=dir writes CPU profiles of the server's threads there.
  const profile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
    : [];
  const child = spawn(process.execPath, [...profile, path.join(ROOT, 'dist/cli/main.js'), 'start'], {
    cwd: ROOT,
    env: { ...process.env, MOPS_LOG_LEVEL: 'warn', MOPS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    child.stdout?.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  child.removeAllListeners('exit');
  return {
    child,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** The last line of every benchmark: one JSON object, for scripts. */
export function printResult(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** The admin API of a running server, with a secret key. */
export async function adminApi(
  url: string,
  env: Record<string, string>,
): Promise<{
  workspaceId: string;
  writeKey: string;
  call: <T = { id: string }>(method: string, path: string, body?: unknown) => Promise<T>;
}> {
  const cli = (args: string[]) => {
    const result = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`mops ${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout) as { key: string; workspaceId: string };
  };
  const secret = cli(['keys', 'create', '--kind', 'secret', '--name', 'bench', '--json']);
  const write = cli(['keys', 'create', '--kind', 'write', '--name', 'bench', '--json']);
  const call = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}/api/workspaces/${secret.workspaceId}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${secret.key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${route}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  };
  return { workspaceId: secret.workspaceId, writeKey: write.key, call };
}

/** Posts Segment calls in batches of `size`, `parallel` requests at a time. */
export async function postBatches(
  url: string,
  writeKey: string,
  calls: unknown[],
  size = 500,
  parallel = 4,
): Promise<void> {
  const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
  let next = 0;
  const worker = async () => {
    while (next < calls.length) {
      const batch = calls.slice(next, next + size);
      next += size;
      const response = await fetch(`${url}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ batch }),
      });
      if (response.status !== 200) throw new Error(`batch: ${response.status} ${await response.text()}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** Resident memory of a process, from /proc. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/** CPU time (user + system, all threads) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const clockTicks = 100;
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Waits until every consumer of the event log (profiles, journeys) has caught up: the lag metrics read 0. */
export async function waitForQuiet(url: string, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const lags = [...metrics.matchAll(/^mops_pipeline_lag_events\{[^}]*\} (\d+)$/gm)].map((m) =>
      Number(m[1]),
    );
    const lag = lags.length === 0 ? 1 : Math.max(...lags);
    if (lag === 0) return;
    if (Date.now() > deadline) throw new Error(`pipeline still ${lag} events behind`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * On a PostgreSQL server with autovacuum off (as on the project's development machines), statistics
 * never follow the tables a benchmark fills, and the planner picks whole-table scans no production
 * server would. This stands in for autovacuum, announced: ANALYZE every 30 s, and when asked (after
 * a benchmark has loaded its data). On SQLite, or with autovacuum on, it does nothing.
 */
export async function standInForAutovacuum(database: {
  postgresUrl?: string;
  schema?: string;
}): Promise<{ analyzeNow(): Promise<void>; stop(): Promise<void> }> {
  const nothing = { analyzeNow: async () => undefined, stop: async () => undefined };
  if (!database.postgresUrl || !database.schema) return nothing;
  const client = new pg.Client({ connectionString: database.postgresUrl });
  await client.connect();
  const { rows } = await client.query<{ setting: string }>(`select current_setting('autovacuum') as setting`);
  if (rows[0]?.setting !== 'off') {
    await client.end();
    return nothing;
  }
  process.stdout.write('autovacuum is off on this server: the benchmark runs ANALYZE in its place\n');
  await client.query(`set search_path = ${database.schema}`);
  let running = Promise.resolve();
  const analyzeNow = () => {
    running = running.then(() => client.query('analyze').then(() => undefined)).catch(() => undefined);
    return running;
  };
  const timer = setInterval(() => void analyzeNow(), 30_000);
  return {
    analyzeNow,
    async stop() {
      clearInterval(timer);
      await running;
      await client.end();
    },
  };
}
