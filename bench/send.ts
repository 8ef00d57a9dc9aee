import nodemailer from 'nodemailer';
import { LinkSigner } from '../src/channels/email/signed-links.js';
import { addTracking, trackedLinks } from '../src/channels/email/tracking.js';
import { compileLayout, renderEmail } from '../src/templates/email-template.js';
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
      frequencyCap: { max: 10, period: '1d' },
      quietHours: { start: hhmm(Date.now() - 60_000), end: hhmm(release) },
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
    await waitForQuiet(server.url, call);
    if (Date.now() > release - 2000)
      throw new Error('entering took longer than the hold; raise BENCH_HOLD_S');
    await sink.waitFor(CONTACTS, release - Date.now() + 600_000);
    const seconds = (Math.max(...sink.accepted.map((m) => m.at)) - release) / 1000;
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

/**
 * The same sink, nodemailer pooled with the same number of connections, sending one message of this
 * benchmark's template rendered beforehand (same size, same headers), so only the per-message work
 * of Mops differs.
 */
async function measureCeiling(sink: TimingSink): Promise<number> {
  const template = { id: 'ceiling', updatedAt: 0, subject: SUBJECT, preheader: null, text: null, mjml: MJML };
  const links = trackedLinks(
    new LinkSigner('ceiling-secret-ceiling-secret-ceiling'),
    'http://127.0.0.1:3000',
    'msg_ceiling',
  );
  const rendered = renderEmail(template, await compileLayout(template), {
    profile: { id: 'prf_1', traits: { first_name: 'Name1', plan: 'basic', email: 'c1@example.com' } },
    event: { name: 'Campaign Started', timestamp: 0, properties: { campaign: 'winter', discount: 20 } },
    unsubscribe_url: links.unsubscribeUrl,
  });
  const html = addTracking(rendered.html, links);
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: POOL,
    maxMessages: Number.POSITIVE_INFINITY,
    host: '127.0.0.1',
    port: sink.port,
    secure: false,
  });
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < CONTACTS) {
        const i = next++;
        await transport.sendMail({
          from: 'bench@example.com',
          to: `r${i}@example.com`,
          subject: rendered.subject,
          html,
          text: rendered.text,
          messageId: `<m${i}@127.0.0.1>`,
          headers: {
            'List-Unsubscribe': `<${links.unsubscribeUrl}>`,
            'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          },
        });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  transport.close();
  return CONTACTS / seconds;
}

function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}
