import nodemailer from 'nodemailer';
import { TimingSink } from './smtp-timing-sink.js';
import {
  adminApi,
  benchDatabase,
  buildOnce,
  machine,
  postBatches,
  printResult,
  startServer,
} from './support.js';
import { waitForQuiet } from './trigger.js';

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 20_000);
const POOL = 8;

const MJML = `<mjml><mj-head><mj-preview>{{ profile.traits.first_name }}, this week only</mj-preview></mj-head><mj-body>
  <mj-section><mj-column>
    <mj-text font-size="20px">Hi {{ profile.traits.first_name | default: "there" }},</mj-text>
    <mj-text>Your {{ profile.traits.plan }} plan gets {{ event.properties.discount }}% off this week.</mj-text>
    <mj-button href="https://shop.example.com/offer?c={{ event.properties.campaign }}">See the offer</mj-button>
    <mj-text><a href="https://shop.example.com/account">Your account</a></mj-text>
  </mj-column></mj-section></mj-body></mjml>`;

/**
 * 20,000 contacts enter a journey at once; messages per second delivered to a local SMTP sink,
 * including Liquid + MJML rendering, tracking links, suppression, subscription and cap checks, against
 * the raw ceiling measured in the same run: nodemailer, pooled (8 connections) to the same sink,
 * sending one pre-rendered message. Target: ratio ≥ 0.8.
 */
export async function runSendBenchmark(): Promise<void> {
  buildOnce();
  const database = await benchDatabase();
  const sink = await new TimingSink().start();
  try {
    process.stdout.write(`send benchmark on ${database.postgresUrl ? 'postgres' : 'sqlite'}: ${machine()}\n`);
    const ceiling = await measureCeiling(sink);
    sink.accepted.length = 0;

    const server = await startServer(database.env);
    const { call, writeKey } = await adminApi(server.url, database.env);
    await call('PUT', '/settings', {
      smtp: { host: '127.0.0.1', port: sink.port, from: 'bench@example.com', pool: POOL },
      frequencyCap: { max: 10, period: '1d' },
      quietHours: null,
    });
    const template = await call('POST', '/templates', {
      name: 'Offer',
      subject: '{{ profile.traits.first_name }}, {{ event.properties.discount }}% off',
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
    await waitForQuiet(server.url, call);

    process.stdout.write(`${CONTACTS} contacts enter the journey at once…\n`);
    const started = performance.timeOrigin + performance.now();
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
    await sink.waitFor(CONTACTS, 600_000);
    const seconds = (Math.max(...sink.accepted.map((m) => m.at)) - started) / 1000;
    await server.stop();

    const rate = CONTACTS / seconds;
    const figures = {
      bench: 'send',
      backend: database.postgresUrl ? 'postgres' : 'sqlite',
      messages: CONTACTS,
      msgs_per_s: Math.round(rate),
      ceiling_msgs_per_s: Math.round(ceiling),
      ratio: Number((rate / ceiling).toFixed(3)),
    };
    process.stdout.write(
      `${CONTACTS} e-mails in ${seconds.toFixed(1)} s: ${figures.msgs_per_s} msgs/s; raw nodemailer ceiling (${POOL} pooled connections, pre-rendered): ${figures.ceiling_msgs_per_s} msgs/s; ratio ${figures.ratio} (target ≥ 0.8)\n`,
    );
    printResult(figures);
  } finally {
    await sink.stop();
    await database.cleanup();
  }
}

/** The same sink, nodemailer pooled with the same number of connections, one pre-rendered message. */
async function measureCeiling(sink: TimingSink): Promise<number> {
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: POOL,
    maxMessages: Number.POSITIVE_INFINITY,
    host: '127.0.0.1',
    port: sink.port,
    secure: false,
  });
  const html =
    '<html><body><p>Hi Name1, your basic plan gets 20% off this week.</p><a href="https://example.com/t/c/abc">See the offer</a></body></html>'.repeat(
      8,
    );
  const text = 'Hi Name1, your basic plan gets 20% off this week.';
  const started = performance.now();
  const batch = 200;
  for (let sent = 0; sent < CONTACTS; sent += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, CONTACTS - sent) }, (_, i) =>
        transport.sendMail({
          from: 'bench@example.com',
          to: `r${sent + i}@example.com`,
          subject: 'Name1, 20% off',
          html,
          text,
        }),
      ),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  transport.close();
  return CONTACTS / seconds;
}
