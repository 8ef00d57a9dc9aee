import type { EmailTemplate, Message } from '../../core/journey.js';
import type { Profile } from '../../core/profile.js';
import type { WorkspaceSettings } from '../../core/workspace-settings.js';
import type { Storage } from '../../storage/storage.js';
import {
  compileLayout,
  type RenderedEmail,
  renderEmail,
  type TemplateData,
} from '../../templates/email-template.js';
import type { Outcome } from '../dispatcher.js';
import type { SecretBox } from './secret-box.js';
import type { LinkSigner } from './signed-links.js';
import type { SmtpTransports } from './smtp-transports.js';
import { addTracking, trackedLinks } from './tracking.js';

/** What sending e-mail needs besides the message: link signing, the public URL, SMTP connections. */
export interface EmailSender {
  signer: LinkSigner;
  publicUrl: string;
  secrets: SecretBox;
  transports: SmtpTransports;
}

/** Renders a message for its recipient: Liquid in the compiled layout, tracking links, the unsubscribe footer. */
export async function renderMessage(
  sender: Pick<EmailSender, 'signer' | 'publicUrl'>,
  input: {
    message: Pick<Message, 'id' | 'context' | 'templateId' | 'workspaceId'>;
    profile: Profile;
    storage: Storage;
  },
): Promise<RenderedEmail & { unsubscribeUrl: string }> {
  const { message, profile, storage } = input;
  const template = message.context.template ?? (await templateOf(storage, message));
  if (!template) throw new PermanentError(`template ${message.templateId ?? '(none)'} does not exist`);
  const layout = await compileLayout(template);
  const links = trackedLinks(sender.signer, sender.publicUrl, message.id);
  const data: TemplateData = {
    profile: { id: profile.id, traits: profile.traits },
    event: message.context.event,
    journey: message.context.journey,
    message: { id: message.id },
    unsubscribe_url: links.unsubscribeUrl,
  };
  const rendered = renderEmail(template, layout, data);
  return { ...rendered, html: addTracking(rendered.html, links), unsubscribeUrl: links.unsubscribeUrl };
}

export async function sendEmail(
  sender: EmailSender,
  input: { message: Message; profile: Profile; settings: WorkspaceSettings; storage: Storage },
): Promise<Outcome> {
  const { message, profile, settings, storage } = input;
  const smtp = settings.smtp;
  if (!smtp) return { status: 'failed', reason: 'no SMTP server is configured for this workspace' };
  const to = typeof profile.traits.email === 'string' ? profile.traits.email.trim() : '';
  let rendered: RenderedEmail & { unsubscribeUrl: string };
  try {
    rendered = await renderMessage(sender, { message, profile, storage });
  } catch (error) {
    return {
      status: 'failed',
      reason: `rendering failed: ${error instanceof Error ? error.message : String(error)}`,
      toAddress: to,
    };
  }
  const password = smtp.password ? sender.secrets.open(smtp.password) : undefined;
  const transport = sender.transports.get(message.workspaceId, smtp, password);
  try {
    const info = await transport.sendMail({
      from: smtp.from,
      ...(smtp.replyTo ? { replyTo: smtp.replyTo } : {}),
      to,
      subject: rendered.subject,
      html: rendered.html,
      text: rendered.text,
      messageId: `<${message.id}@${hostOf(sender.publicUrl)}>`,
      headers: {
        // RFC 8058 one-click unsubscribe: mail clients POST to the URL; the URL is signed.
        'List-Unsubscribe': `<${rendered.unsubscribeUrl}>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        'X-Mops-Message': message.id,
      },
    });
    return {
      status: 'sent',
      providerMessageId: info.messageId ?? null,
      toAddress: to,
      subject: rendered.subject,
    };
  } catch (error) {
    const smtpError = error as { responseCode?: number; command?: string; message?: string };
    if (smtpError.responseCode !== undefined && smtpError.responseCode >= 500) {
      const reason = `SMTP ${smtpError.responseCode}: ${smtpError.message ?? 'rejected'}`;
      // A permanent refusal of the recipient is a hard bounce: never send to the address again.
      if (smtpError.command?.startsWith('RCPT') && [550, 551, 553].includes(smtpError.responseCode)) {
        await storage.consent.suppress({
          workspaceId: message.workspaceId,
          channel: 'email',
          address: to,
          reason: 'hard_bounce',
          at: Date.now(),
        });
        await storage.messages.markFirst(message.id, 'bounced_at', Date.now());
      }
      return { status: 'failed', reason, toAddress: to };
    }
    throw error;
  }
}

class PermanentError extends Error {}

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
