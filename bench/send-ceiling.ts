import nodemailer from 'nodemailer';
import { LinkSigner } from '../src/channels/email/signed-links.js';
import { addTracking, layoutSites, trackedLinks } from '../src/channels/email/tracking.js';
import { compileLayout, renderEmail } from '../src/templates/email-template.js';

/**
 * The send benchmark's ceiling, in a process of its own (as Mops is during the measured run, so the
 * SMTP sink does not share a thread with the sender): nodemailer, pooled, sending one message of the
 * benchmark's template rendered beforehand (same size, same headers) COUNT times. Prints messages/s
 * and the CPU it used per message.
 *
 *   node --import tsx bench/send-ceiling.ts PORT COUNT POOL SUBJECT MJML
 */
const [port, count, pool, subject, mjml] = process.argv.slice(2) as [string, string, string, string, string];
const messages = Number(count);

const template = { id: 'ceiling', updatedAt: 0, subject, preheader: null, text: null, mjml };
const links = trackedLinks(
  new LinkSigner('ceiling-secret-ceiling-secret-ceiling'),
  'http://127.0.0.1:3000',
  'msg_ceiling',
);
const layout = await compileLayout(template);
const rendered = renderEmail(template, layout, {
  profile: { id: 'prf_1', traits: { first_name: 'Name1', plan: 'basic', email: 'c1@example.com' } },
  event: { name: 'Campaign Started', timestamp: 0, properties: { campaign: 'winter', discount: 20 } },
  unsubscribe_url: links.unsubscribeUrl,
});
const html = addTracking(rendered.html, links, layoutSites(layout));
const transport = nodemailer.createTransport({
  pool: true,
  maxConnections: Number(pool),
  maxMessages: Number.POSITIVE_INFINITY,
  host: '127.0.0.1',
  port: Number(port),
  secure: false,
});
const started = performance.now();
const cpuAtStart = process.cpuUsage();
let next = 0;
await Promise.all(
  Array.from({ length: 64 }, async () => {
    while (next < messages) {
      const i = next++;
      await transport.sendMail({
        from: 'bench@example.com',
        to: `r${i}@example.com`,
        subject: rendered.subject,
        html,
        text: rendered.text,
        textEncoding: 'quoted-printable', // as Mops sends it
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
const cpu = process.cpuUsage(cpuAtStart);
transport.close();
const cpuMsPerMessage = (cpu.user + cpu.system) / 1000 / messages;
process.stdout.write(
  `${JSON.stringify({ msgs_per_s: messages / seconds, cpu_ms_per_msg: cpuMsPerMessage })}\n`,
);
