import { parentPort, workerData } from 'node:worker_threads';
import { compileLayout, WARM_UP_MJML } from '../../templates/email-template.js';
import { type Delivery, deliverEmail, type EmailJob } from './email-channel.js';
import { SecretBox } from './secret-box.js';
import { LinkSigner } from './signed-links.js';
import { SmtpTransports } from './smtp-transports.js';

/**
 * A send thread: renders e-mails and speaks SMTP, so that building MIME messages and the protocol's
 * round trips run beside the dispatcher's bookkeeping. The server runs two, each with its share of the
 * workspace's SMTP connections.
 */
export interface SendThreadData {
  secret: string;
  publicUrl: string;
  /** This thread's share of each workspace's SMTP connections. */
  connectionShare: number;
  /** MOPS_ALLOW_PRIVATE_NETWORKS: whether SMTP hosts may be private addresses. */
  allowPrivateNetworks: boolean;
}

export type SendThreadRequest = { type: 'deliver'; id: number; job: EmailJob } | { type: 'close' };
export type SendThreadReply = { id: number; delivery: Delivery };

const port = parentPort;
if (!port) throw new Error('send-thread runs as a worker thread');
const { secret, publicUrl, connectionShare, allowPrivateNetworks } = workerData as SendThreadData;
const transports = new SmtpTransports({ allowPrivateNetworks });
const deps = { signer: new LinkSigner(secret), publicUrl, secrets: new SecretBox(secret), transports };
// MJML takes a second to load its components: pay it when the thread starts, not on the first e-mail.
void compileLayout({ id: 'warm-up', updatedAt: 0, mjml: WARM_UP_MJML }).catch(() => undefined);

port.on('message', (request: SendThreadRequest) => {
  if (request.type === 'close') {
    transports.closeAll();
    port.close();
    return;
  }
  const smtp = { ...request.job.smtp, pool: Math.max(1, Math.ceil(request.job.smtp.pool * connectionShare)) };
  deliverEmail(deps, { ...request.job, smtp }).then(
    (delivery) => port.postMessage({ id: request.id, delivery } satisfies SendThreadReply),
    (error: unknown) =>
      port.postMessage({
        id: request.id,
        delivery: { status: 'retry', reason: error instanceof Error ? error.message : String(error) },
      } satisfies SendThreadReply),
  );
});
