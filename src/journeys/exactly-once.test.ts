import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { killHard, runCli, startServerProcess } from '../test-support/cli.js';
import { SmtpSink } from '../test-support/smtp-sink.js';
import {
  BACKENDS,
  basicAuth,
  createTestDatabase,
  PROCESS_TEST_TIMEOUT_MS,
  type TestDatabase,
} from '../test-support/world.js';

const PROFILES = 40;

/** Sets the workspace up; what it gives back counts the journey's messages recorded as sent. */
async function setUp(url: string, secret: string, sinkPort: number): Promise<() => Promise<number>> {
  const workspaceId = ((
    (await (
      await fetch(`${url}/api/workspaces`, { headers: { authorization: `Bearer ${secret}` } })
    ).json()) as {
      items: Array<{ id: string }>;
    }
  ).items[0]?.id ?? '') as string;
  const call = async (method: string, path: string, body: unknown) => {
    const response = await fetch(`${url}/api/workspaces/${workspaceId}${path}`, {
      method,
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status >= 300)
      throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { id: string };
  };
  await call('PUT', '/settings', {
    smtp: { host: '127.0.0.1', port: sinkPort, from: 'shop@example.com', pool: 4 },
    frequencyCaps: { email: [] },
  });
  const template = await call('POST', '/templates', {
    name: 'Step',
    subject: 'Step {{ journey.step }}',
    mjml: '<p>{{ journey.step }}</p>',
  });
  const journey = await call('POST', '/journeys', {
    definition: {
      name: 'Two mails',
      entry: { trigger: { type: 'event', event: 'Go' } },
      start: 'first',
      steps: [
        { id: 'first', type: 'send_email', template: template.id, next: 'pause' },
        { id: 'pause', type: 'wait', duration: '2s', next: 'second' },
        { id: 'second', type: 'send_email', template: template.id, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    },
  });
  await call('POST', `/journeys/${journey.id}/publish`, {});
  return async () => {
    const response = await fetch(`${url}/api/workspaces/${workspaceId}/journeys/${journey.id}/report`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    const report = (await response.json()) as { messages: Record<string, { sent: number }> };
    return Object.values(report.messages).reduce((sum, step) => sum + step.sent, 0);
  };
}

async function sendGo(url: string, writeKey: string, from: number, to: number): Promise<void> {
  const batch = [];
  for (let i = from; i < to; i++) {
    batch.push({ type: 'identify', userId: `p${i}`, traits: { email: `p${i}@example.com` } });
    batch.push({ type: 'track', userId: `p${i}`, event: 'Go', messageId: `go-${i}` });
  }
  const response = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basicAuth(writeKey) },
    body: JSON.stringify({ batch }),
  });
  expect(response.status).toBe(200);
}

/** Every step's message reaches the SMTP peer exactly once. */
function expectExactlyOnce(sink: SmtpSink): void {
  const counts = new Map<string, number>();
  for (const mail of sink.received) {
    const key = `${mail.to[0]} ${mail.parsed.subject}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const twice = [...counts].filter(([, n]) => n > 1);
  expect(twice).toEqual([]);
  expect(counts.size).toBe(PROFILES * 2);
}

async function settle(sink: SmtpSink, expected: number): Promise<void> {
  await sink.waitFor(expected, 60_000);
  // Long enough for a late duplicate to show up.
  await new Promise((resolve) => setTimeout(resolve, 3000));
}

/** Resolves once each of these processes has claimed messages (the log's `claimed_by` is host:pid:claim). */
async function waitForClaimants(client: pg.Client, pids: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.query<{ pid: string }>(
      `select distinct split_part(claimed_by, ':', 2) as pid from messages where claimed_by is not null`,
    );
    const claimants = rows.map((row) => row.pid);
    if (pids.every((pid) => claimants.includes(pid))) return;
    if (Date.now() > deadline)
      throw new Error(`after ${timeoutMs} ms only [${claimants}] had claimed messages, not all of [${pids}]`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each(BACKENDS)('exactly-once sending on %s', (backend) => {
  let database: TestDatabase | undefined;
  let sink: SmtpSink | undefined;
  const children: ChildProcess[] = [];

  afterEach(async () => {
    await Promise.all(children.splice(0).map(killHard));
    await sink?.stop();
    await database?.cleanup();
  });

  it(
    'loses no e-mail and sends none twice when the server is killed (kill -9) while sending',
    async () => {
      database = await createTestDatabase(backend);
      sink = await new SmtpSink().start();
      const env = { ...database.env, MOPS_PORT: '0', MOPS_SEND_LEASE_SECONDS: '2' };
      const writeKey = JSON.parse((await runCli(['keys', 'create', '--kind', 'write', '--json'], env)).stdout)
        .key as string;
      const secret = JSON.parse((await runCli(['keys', 'create', '--kind', 'secret', '--json'], env)).stdout)
        .key as string;
      const first = await startServerProcess(env);
      children.push(first.child);
      const recordedSent = await setUp(first.url as string, secret, sink.port);
      sink.replyDelayMs = 20;
      await sendGo(first.url as string, writeKey, 0, PROFILES);

      // Mid-stream: hold the next replies, let the acknowledged sends be recorded, then kill. (A send
      // the peer took but the server had not recorded when killed goes again: SMTP has no way to ask.)
      await sink.waitFor(PROFILES / 2, 30_000);
      sink.replyDelayMs = 30_000;
      // Sends whose data came before the switch are answered after the short delay: wait for them too.
      const answeredSoon = sink.dataArrived;
      await sink.waitFor(answeredSoon, 10_000);
      await vi.waitFor(async () => expect(await recordedSent()).toBe(sink?.received.length), {
        timeout: 20_000,
        interval: 50,
      });
      await killHard(first.child);
      const beforeRestart = sink.received.length;
      expect(beforeRestart).toBeLessThan(PROFILES * 2);
      sink.replyDelayMs = 0;

      const second = await startServerProcess(env);
      children.push(second.child);
      await settle(sink, PROFILES * 2);
      expectExactlyOnce(sink);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('exactly-once sending with two workers on postgres', () => {
  let database: TestDatabase | undefined;
  let sink: SmtpSink | undefined;
  let client: pg.Client | undefined;
  const children: ChildProcess[] = [];

  afterEach(async () => {
    await Promise.all(children.splice(0).map(killHard));
    await sink?.stop();
    await client?.end();
    client = undefined;
    await database?.cleanup();
  });

  it(
    'shares the sending between two worker processes, each message once',
    async () => {
      database = await createTestDatabase('postgres');
      sink = await new SmtpSink().start();
      // Small rounds, and no more in flight than one round, so that each worker's share shows even in
      // 80 messages: a worker with all its sends under way claims nothing more.
      const env = {
        ...database.env,
        MOPS_PORT: '0',
        MOPS_SEND_LEASE_SECONDS: '2',
        MOPS_SEND_BATCH: '5',
        MOPS_SEND_CONCURRENCY: '5',
      };
      await runCli(['migrate'], env);
      const writeKey = JSON.parse((await runCli(['keys', 'create', '--kind', 'write', '--json'], env)).stdout)
        .key as string;
      const secret = JSON.parse((await runCli(['keys', 'create', '--kind', 'secret', '--json'], env)).stdout)
        .key as string;
      const api = await startServerProcess(env, ['--role', 'api']);
      const workers = [
        await startServerProcess(env, ['--role', 'worker']),
        await startServerProcess(env, ['--role', 'worker']),
      ];
      children.push(api.child, ...workers.map((w) => w.child));
      const workerPids = workers.map((worker) => String(worker.child.pid));
      client = new pg.Client({ connectionString: database.env.MOPS_DATABASE_URL });
      await client.connect();
      await setUp(api.url as string, secret, sink.port);
      // The worker whose pipeline (or timers) queues the messages wakes its dispatcher at once; the other
      // finds them at its next poll, up to a second later, when 40 quick sends may all be gone. So the
      // SMTP peer holds its replies until both have claimed: the first worker's five sends cannot end,
      // it claims nothing more meanwhile, and the rest stays queued for the other one. Were sending not
      // shared, this would time out.
      const release = sink.holdReplies();
      try {
        await sendGo(api.url as string, writeKey, 0, PROFILES / 2);
        await sendGo(api.url as string, writeKey, PROFILES / 2, PROFILES);
        await waitForClaimants(client, workerPids, 30_000);
      } finally {
        sink.replyDelayMs = 20;
        release();
      }
      await settle(sink, PROFILES * 2);
      expectExactlyOnce(sink);
      // Both workers took a share (the message log records which process settled each message).
      const { rows } = await client.query<{ pid: string; sent: number }>(
        `select split_part(claimed_by, ':', 2) as pid, count(*)::int as sent from messages
         where status = 'sent' group by 1`,
      );
      expect(rows.map((row) => row.pid).sort()).toEqual(workerPids.sort());
      expect(rows.reduce((sum, row) => sum + row.sent, 0)).toBe(PROFILES * 2);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
