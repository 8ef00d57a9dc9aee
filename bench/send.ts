import { spawn } from 'node:child_process';
import path from 'node:path';
import { TimingSink } from './smtp-timing-sink.js';
import {
  adminApi,
  benchDatabase,
  buildOnce,
  cpuSeconds,
  machine,
  postBatches,
  printResult,
  ROOT,
  standInForAutovacuum,
  startServer,
  waitForQuiet,
} from './support.js';

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 20_000);
const POOL = 8;
const HOLD_S = Number(process.env.BENCH_HOLD_S ?? 60);

const SUBJECT = '{{ profile.traits.first_name }}, {{ event.properties.discount }}% off';
const MJML = `<mjml><mj-head><mj-preview>{{ profile.traits.first_name }}, this week only</mj-preview></mj-head><mj-body>
  <mj-section><mj-column>
    <mj-text font-size="20px">Hi {{ profile.traits.first_name | default: "there" }},</mj-text>
    <mj-text>Your {{ profile.traits.plan }} plan gets {{ event.properties.discount }}% off this week.</mj-text>
    <mj-button href="https://shop.example.com/offer?c={{ event.properties.campaign }}">See the offer</mj-button>
    <mj-text><a href="https://shop.example.com/account">Your account</a></mj-text>
  </mj-column></mj-section></mj-body></mjml>`;

/**
 * 20,000 contacts enter a journey at once and their e-mails are released together (the end of quiet
 * hours); messages per second delivered to a local SMTP sink from the release,
 * including Liquid + MJML rendering, tracking links, suppression, subscription and cap checks, against
 * the raw ceiling measured in the same run: nodemailer, pooled (8 connections) to the same sink,
 * sending one pre-rendered message of the same template. Target: ratio ≥ 0.8.
 */
export async function runSendBenchmark(): Promise<void> {
  buildOnce();
  const database = await benchDatabase();
  const sink = await new TimingSink().start();
  const analyzer = await standInForAutovacuum(database);
  try {
    process.stdout.write(`send benchmark on ${database.postgresUrl ? 'postgres' : 'sqlite'}: ${machine()}\n`);
    const ceiling = await measureCeiling(sink);
    sink.accepted.length = 0;

    const server = await startServer(database.env);
    const { call, writeKey } = await adminApi(server.url, database.env);
    // Quiet hours until a minute boundary at least HOLD_S away: every message is queued and held, then
    // released at once, so the figure is the sending alone (with all its checks), as the ceiling's is.
    const release = Math.ceil((Date.now() + HOLD_S * 1000) / 60_000) * 60_000;
    await call('PUT', '/settings', {
      timezone: 'UTC',
      smtp: { host: '127.0.0.1', port: sink.port, from: 'bench@example.com', pool: POOL },
      frequencyCaps: { email: [{ max: 10, period: '1d' }] },
      quietHours: { start: hhmm(Date.now() - 60_000), end: hhmm(release) },
    });
    const template = await call('POST', '/templates', {
      name: 'Offer',
      subject: SUBJECT,
      mjml: MJML,
    });
    const journey = await call('POST', '/journeys', {
      definition: {
        name: 'Send bench',
        entry: { trigger: { type: 'event', event: 'Campaign Started' } },
        start: 'mail',
        steps: [
          { id: 'mail', type: 'send_email', template: template.id, next: 'end' },
          { id: 'end', type: 'exit' },
        ],
      },
    });
    await call('POST', `/journeys/${journey.id}/publish`);
    process.stdout.write(`creating ${CONTACTS} contacts…\n`);
    await postBatches(
      server.url,
      writeKey,
      Array.from({ length: CONTACTS }, (_, i) => ({
        type: 'identify',
        userId: `c${i}`,
        traits: { email: `c${i}@example.com`, first_name: `Name${i}`, plan: i % 3 ? 'basic' : 'pro' },
      })),
    );
    await waitForQuiet(server.url);
    await analyzer.analyzeNow();

    process.stdout.write(
      `${CONTACTS} contacts enter the journey at once; sending is held until ${new Date(release).toISOString()}…\n`,
    );
    await postBatches(
      server.url,
      writeKey,
      Array.from({ length: CONTACTS }, (_, i) => ({
        type: 'track',
        userId: `c${i}`,
        event: 'Campaign Started',
        properties: { campaign: 'winter', discount: 20 },
      })),
      2500,
      8,
    );
    await waitForQuiet(server.url);
    await analyzer.analyzeNow();
    if (Date.now() > release - 2000)
      throw new Error('entering took longer than the hold; raise BENCH_HOLD_S');
    await new Promise((resolve) => setTimeout(resolve, release - Date.now()));
    const serverPid = server.child.pid ?? 0;
    const cpuAtRelease = cpuSeconds(serverPid);
    await sink.waitFor(CONTACTS, 600_000);
    const seconds = (Math.max(...sink.accepted.map((m) => m.at)) - release) / 1000;
    const cpuMsPerMessage = ((cpuSeconds(serverPid) - cpuAtRelease) * 1000) / CONTACTS;
    await server.stop();

    const rate = CONTACTS / seconds;

    const figures = {
      bench: 'send',
      backend: database.postgresUrl ? 'postgres' : 'sqlite',
      messages: CONTACTS,
      msgs_per_s: Math.round(rate),
      ceiling_msgs_per_s: Math.round(ceiling.msgsPerSecond),
      ratio: Number((rate / ceiling.msgsPerSecond).toFixed(3)),
      cpu_ms_per_msg: Number(cpuMsPerMessage.toFixed(3)),
      ceiling_cpu_ms_per_msg: Number(ceiling.cpuMsPerMessage.toFixed(3)),
    };
    process.stdout.write(
      `${CONTACTS} e-mails in ${seconds.toFixed(1)} s: ${figures.msgs_per_s} msgs/s; raw nodemailer ceiling (${POOL} pooled connections, pre-rendered): ${figures.ceiling_msgs_per_s} msgs/s; ratio ${figures.ratio} (target ≥ 0.8); CPU per message: Mops ${figures.cpu_ms_per_msg} ms (all threads), the ceiling's sender ${figures.ceiling_cpu_ms_per_msg} ms\n`,
    );
    printResult(figures);
  } finally {
    await analyzer.stop();
    await sink.stop();
    await database.cleanup();
  }
}

/** The ceiling, sent from a process of its own to the same sink (bench/send-ceiling.ts). */
async function measureCeiling(sink: TimingSink): Promise<{ msgsPerSecond: number; cpuMsPerMessage: number }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'bench/send-ceiling.ts'),
      String(sink.port),
      String(CONTACTS),
      String(POOL),
      SUBJECT,
      MJML,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the ceiling's sender exited with ${code}`);
  const figures = JSON.parse(output) as { msgs_per_s: number; cpu_ms_per_msg: number };
  return { msgsPerSecond: figures.msgs_per_s, cpuMsPerMessage: figures.cpu_ms_per_msg };
}

function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}
