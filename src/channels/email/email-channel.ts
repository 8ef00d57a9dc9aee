import type { EmailTemplate, Message } from '../../core/journey.js';
import type { Profile } from '../../core/profile.js';
import type { SmtpSettings, WorkspaceSettings } from '../../core/workspace-settings.js';
import type { Storage } from '../../storage/storage.js';
import {
  compileLayout,
  type RenderedEmail,
  renderEmail,
  type TemplateData,
} from '../../templates/email-template.js';
import type { Outcome } from '../dispatcher.js';
import { lifecycleDataFor } from '../lifecycle-data.js';
import { type Opened, openedOr, type SecretBox } from './secret-box.js';
import type { LinkSigner } from './signed-links.js';
import type { SmtpTransports } from './smtp-transports.js';
import { addTracking, layoutSites, trackedLinks } from './tracking.js';

/** Everything rendering and sending one e-mail needs, and nothing from storage: it can go to another thread. */
export interface EmailJob {
  workspaceId: string;
  messageId: string;
  to: string;
  template: EmailTemplate;
  data: Omit<TemplateData, 'unsubscribe_url' | 'message'>;
  smtp: SmtpSettings;
}

export type Delivery =
  | { status: 'sent'; providerMessageId: string | null; subject: string }
  /** Refused for good; a hard bounce (the recipient does not exist) suppresses the address. */
  | { status: 'failed'; reason: string; isHardBounce: boolean }
  /** Worth trying again later (connection refused, 4xx). */
  | { status: 'retry'; reason: string };

/** What delivering needs: link signing, the public URL, the key for SMTP passwords, pooled connections. */
export interface EmailDeliveryDeps {
  signer: LinkSigner;
  publicUrl: string;
  secrets: SecretBox;
  transports: SmtpTransports;
}

/** Delivery in this thread, or `deliver` (the server's send thread), which does the same elsewhere. */
export interface EmailSender extends EmailDeliveryDeps {
  deliver?: (job: EmailJob) => Promise<Delivery>;
}

/** Renders a message for its recipient: Liquid in the compiled layout, tracking links, the unsubscribe footer. */
export async function renderJob(
  deps: Pick<EmailDeliveryDeps, 'signer' | 'publicUrl'>,
  job: Pick<EmailJob, 'messageId' | 'template' | 'data'>,
): Promise<RenderedEmail & { unsubscribeUrl: string }> {
  const layout = await compileLayout(job.template);
  const links = trackedLinks(deps.signer, deps.publicUrl, job.messageId);
  const rendered = renderEmail(job.template, layout, {
    ...job.data,
    message: { id: job.messageId },
    unsubscribe_url: links.unsubscribeUrl,
  });
  return {
    ...rendered,
    html: addTracking(rendered.html, links, layoutSites(layout)),
    unsubscribeUrl: links.unsubscribeUrl,
  };
}

const MESSAGE_COMMANDS = ['MAIL FROM', 'RCPT TO', 'DATA'];

/**
 * Whether a refused recipient's answer is about the mailbox (RFC 3463 status 5.1.x, an address that
 * does not exist; 5.2.1, one disabled), or says nothing more: only then is the address suppressed.
 * A 550 with 5.7.x is the receiver's policy about the sender (reputation, a block list), which says
 * nothing of the address and passes; suppressing on it would lose every contact of that receiver.
 */
function isAboutTheMailbox(answer: string): boolean {
  const status = /\b5\.(\d{1,3})\.(\d{1,3})\b/.exec(answer);
  if (!status) return true;
  return status[1] === '1' || (status[1] === '2' && status[2] === '1');
}

/**
 * Why an e-mail waits when the stored SMTP password does not decrypt: the server's MOPS_SECRET changed
 * since it was stored, and the SMTP server is not to blame. It is retried, not failed: e-mail has no
 * re-drive, so a failed one would be lost, while the password entered again (or the worker restarted
 * with the right MOPS_SECRET) within the retries sends it.
 */
export const UNREADABLE_SMTP_PASSWORD =
  "the SMTP server's stored password cannot be decrypted under the current MOPS_SECRET (it was stored under another one); enter it again in Settings → E-mail (SMTP)";

/** The SMTP password, opened (undefined when none is kept); or, when it does not decrypt, why not. */
export function openPassword(smtp: SmtpSettings, secrets: SecretBox): Opened<string | undefined> {
  return openedOr(
    () => (smtp.password ? secrets.open(smtp.password) : undefined),
    () => UNREADABLE_SMTP_PASSWORD,
  );
}

/**
 * Renders and sends one e-mail over the workspace's pooled SMTP connection. A stored password that
 * does not decrypt (MOPS_SECRET changed) connects to nothing and asks for a retry.
 */
export async function deliverEmail(deps: EmailDeliveryDeps, job: EmailJob): Promise<Delivery> {
  let rendered: RenderedEmail & { unsubscribeUrl: string };
  try {
    rendered = await renderJob(deps, job);
  } catch (error) {
    return {
      status: 'failed',
      reason: `rendering failed: ${error instanceof Error ? error.message : String(error)}`,
      isHardBounce: false,
    };
  }
  const { smtp } = job;
  // Before any connection: sending without the password could only be refused, or go unauthenticated.
  const password = openPassword(smtp, deps.secrets);
  if (!password.isReadable) return { status: 'retry', reason: password.reason };
  const transport = deps.transports.get(job.workspaceId, smtp, password.value);
  try {
    const info = await transport.sendMail({
      from: smtp.from,
      ...(smtp.replyTo ? { replyTo: smtp.replyTo } : {}),
      to: job.to,
      subject: rendered.subject,
      html: rendered.html,
      text: rendered.text,
      // Stated rather than detected: nodemailer's detection scans every part and costs a third of composing.
      textEncoding: 'quoted-printable',
      messageId: `<${job.messageId}@${hostOf(deps.publicUrl)}>`,
      headers: {
        // RFC 8058 one-click unsubscribe: mail clients POST to the URL; the URL is signed.
        'List-Unsubscribe': `<${rendered.unsubscribeUrl}>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        'X-Mops-Message': job.messageId,
      },
    });
    return { status: 'sent', providerMessageId: info.messageId ?? null, subject: rendered.subject };
  } catch (error) {
    const smtpError = error as {
      responseCode?: number;
      command?: string;
      message?: string;
      response?: string;
    };
    // Only a refusal of this message (its sender, recipient or content) fails it for good; a refusal
    // while connecting (TLS, authentication) is the relay's or the settings' problem, and is retried.
    const isAboutThisMessage = MESSAGE_COMMANDS.some((command) => smtpError.command?.startsWith(command));
    if (smtpError.responseCode !== undefined && smtpError.responseCode >= 500 && isAboutThisMessage) {
      return {
        status: 'failed',
        reason: `SMTP ${smtpError.responseCode}: ${smtpError.message ?? 'rejected'}`,
        isHardBounce:
          Boolean(smtpError.command?.startsWith('RCPT')) &&
          [550, 551, 553].includes(smtpError.responseCode) &&
          isAboutTheMailbox(smtpError.response ?? smtpError.message ?? ''),
      };
    }
    return { status: 'retry', reason: smtpError.message ?? String(error) };
  }
}

/** Sends a message: resolves its template, delivers it (here or on the send thread), records a hard bounce. */
export async function sendEmail(
  sender: EmailSender,
  input: { message: Message; profile: Profile; settings: WorkspaceSettings; storage: Storage; now: number },
): Promise<Outcome> {
  const { message, profile, settings, storage, now } = input;
  const smtp = settings.smtp;
  if (!smtp) return { status: 'failed', reason: 'no SMTP server is configured for this workspace' };
  const to = typeof profile.traits.email === 'string' ? profile.traits.email.trim() : '';
  const template = message.context.template ?? (await templateOf(storage, message));
  if (!template)
    return {
      status: 'failed',
      reason: `template ${message.templateId ?? '(none)'} does not exist`,
      toAddress: to,
    };
  const lifecycle = await lifecycleDataFor(storage, {
    workspaceId: message.workspaceId,
    profile,
    now,
    sources: [template.subject, template.preheader, template.mjml, template.text],
  });
  const job: EmailJob = {
    workspaceId: message.workspaceId,
    messageId: message.id,
    to,
    template,
    data: {
      profile: { id: profile.id, traits: profile.traits },
      event: message.context.event,
      journey: message.context.journey,
      ...(lifecycle ? { lifecycle } : {}),
    },
    smtp,
  };
  const delivery = sender.deliver ? await sender.deliver(job) : await deliverEmail(sender, job);
  switch (delivery.status) {
    case 'sent':
      return {
        status: 'sent',
        providerMessageId: delivery.providerMessageId,
        toAddress: to,
        subject: delivery.subject,
      };
    case 'retry':
      throw new Error(delivery.reason);
    case 'failed':
      if (delivery.isHardBounce) {
        // The recipient does not exist: never send to the address again.
        await storage.consent.suppress({
          workspaceId: message.workspaceId,
          channel: 'email',
          address: to,
          reason: 'hard_bounce',
          at: now,
        });
        await storage.messages.markFirst(message.id, 'bounced_at', now);
      }
      return { status: 'failed', reason: delivery.reason, toAddress: to };
  }
}

const versionTemplates = new Map<string, Record<string, EmailTemplate>>();

/**
 * A journey's message uses the template as it was when its journey version was published (versions
 * never change, so they are kept in memory); other messages use the template as it is now.
 */
async function templateOf(
  storage: Storage,
  message: Pick<Message, 'context' | 'templateId' | 'workspaceId'>,
): Promise<EmailTemplate | undefined> {
  const journey = message.context.journey;
  if (!message.templateId) return undefined;
  if (!journey) return storage.templates.find(message.workspaceId, message.templateId);
  const key = `${journey.id}:${journey.version}`;
  let templates = versionTemplates.get(key);
  if (!templates) {
    templates = (await storage.journeys.findVersion(journey.id, journey.version))?.templates ?? {};
    if (versionTemplates.size > 1000) versionTemplates.clear();
    versionTemplates.set(key, templates);
  }
  return templates[message.templateId];
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname || 'mops.local';
  } catch {
    return 'mops.local';
  }
}
