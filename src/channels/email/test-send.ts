import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { type EmailTemplate, type Message, newMessage } from '../../core/journey.js';
import type { Profile } from '../../core/profile.js';
import { TEST_TOPIC } from '../../core/workspace-settings.js';
import type { Storage } from '../../storage/storage.js';
import { lifecycleDataFor } from '../lifecycle-data.js';
import { assertTestSendAllowed, settledTestSend } from '../test-sends.js';
import { type EmailSender, openPassword, renderJob, sendEmail } from './email-channel.js';

/**
 * A message that is not part of a journey: a preview or a test send of a template. `properties` stand
 * for the entry event's, so that `{{ event.properties.* }}` renders as it would in a journey.
 */
function adHocMessage(
  template: EmailTemplate,
  profile: Profile,
  now: number,
  topic: string,
  properties: Record<string, unknown> = {},
): Message {
  return newMessage(
    {
      workspaceId: template.workspaceId,
      profileId: profile.id,
      channel: 'email',
      templateId: template.id,
      topic,
      whenNotAllowed: 'skip',
      status: 'sending',
      idempotencyKey: `test:${newId('key', now)}`,
      attempts: 1,
      nextAttemptAt: null,
      context: { template, event: { name: 'Preview', messageId: null, timestamp: now, properties } },
    },
    now,
  );
}

/** Renders a template as a chosen profile would receive it (links included), without sending. */
export async function previewTemplate(
  sender: Pick<EmailSender, 'signer' | 'publicUrl'>,
  input: {
    storage: Storage;
    template: EmailTemplate;
    profile: Profile;
    now: number;
    properties?: Record<string, unknown>;
  },
) {
  const { template, profile, now } = input;
  const message = adHocMessage(template, profile, now, TEST_TOPIC, input.properties);
  const lifecycle = await lifecycleDataFor(input.storage, {
    workspaceId: template.workspaceId,
    profile,
    now,
    sources: [template.subject, template.preheader, template.mjml, template.text],
  });
  return renderJob(sender, {
    messageId: message.id,
    template,
    data: {
      profile: { id: profile.id, traits: profile.traits },
      event: message.context.event,
      ...(lifecycle ? { lifecycle } : {}),
    },
  });
}

/**
 * Sends a template to an address of the tester's choosing, personalised for a chosen profile; it is
 * recorded in the message log on the `test` topic (not counted against caps, never suppressed).
 */
export async function testSend(
  sender: EmailSender,
  input: {
    storage: Storage;
    clock: Clock;
    template: EmailTemplate;
    profile: Profile;
    to: string;
    properties?: Record<string, unknown>;
  },
): Promise<Message> {
  const { storage, template, profile, to } = input;
  const now = input.clock.now();
  const settings = await storage.settings.get(template.workspaceId);
  if (!settings.smtp)
    throw new AppError('conflict', 'configure an SMTP server in the workspace settings first', {
      issue: { code: 'refused', reason: 'smtp_not_configured' },
    });
  await assertTestSendAllowed(storage, template.workspaceId, now);
  const message = adHocMessage(template, profile, now, TEST_TOPIC, input.properties);
  await storage.messages.insert(message);
  // A journey's e-mail waits for the password to be entered again; a test send is not retried, so it
  // says why at once rather than as the SMTP server's refusal, which it is not.
  const password = openPassword(settings.smtp, sender.secrets);
  if (!password.isReadable) {
    const failed = settledTestSend(
      message,
      { status: 'failed', reason: password.reason },
      input.clock.now(),
      to,
    );
    await storage.messages.update(failed, null);
    return failed;
  }
  let outcome: Awaited<ReturnType<typeof sendEmail>>;
  try {
    outcome = await sendEmail(sender, {
      message,
      profile: { ...profile, traits: { ...profile.traits, email: to } },
      settings,
      storage,
      now,
    });
  } catch (error) {
    // The server did not take it now (down, or a temporary refusal): a test send is not retried.
    const reason = error instanceof Error ? error.message : String(error);
    await storage.messages.update(
      settledTestSend(message, { status: 'failed', reason }, input.clock.now(), to),
      null,
    );
    throw new AppError('unavailable', `the SMTP server did not take the test e-mail: ${reason}`, {
      cause: error,
    });
  }
  const finished = settledTestSend(message, outcome, input.clock.now(), to);
  await storage.messages.update(finished, null);
  return finished;
}
