import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { type Message, newMessage } from '../../core/journey.js';
import { normalisePhoneNumber } from '../../core/phone-number.js';
import type { Profile } from '../../core/profile.js';
import { TEST_TOPIC } from '../../core/workspace-settings.js';
import type { Storage } from '../../storage/storage.js';
import { withinServerLimits } from '../dispatcher.js';
import type { SecretBox } from '../email/secret-box.js';
import { lifecycleDataFor } from '../lifecycle-data.js';
import { assertTestSendAllowed, settledTestSend } from '../test-sends.js';
import { smsStatusUrl } from './delivery-receipts.js';
import { sendSms, smsTextAsSent } from './sms-channel.js';

/** `+`, then digits, with the spaces, dots, dashes and brackets people write between them. */
const INTERNATIONAL_NUMBER = /^\+[\d\s().-]+$/;
const NOT_A_PHONE_NUMBER = 'to must be a phone number in international form, like +393471234567';

/** What a test text is: an SMS step's text and link tracking, personalised for a chosen profile. */
export interface SmsTestInput {
  body: string;
  trackLinks: boolean;
  profile: Profile;
  /** The tester's number, in international form. */
  to: string;
}

/**
 * Sends an SMS step's text, personalised for a chosen profile, to a tester's number through the
 * workspace's provider, as a journey would send it (links shortened when tracked, Smart Encoding).
 * It is recorded in the message log on the `test` topic: outside frequency caps and quiet hours, and
 * what becomes of it (a click, a delivery report) is kept on the message, not on the profile. A text
 * that cannot go out (its Liquid, its length, the number) is refused before anything is stored; the
 * provider's refusal or an outage fails the message, and is not retried.
 */
export async function testSendSms(
  deps: {
    storage: Storage;
    clock: Clock;
    secrets: SecretBox;
    publicUrl: string;
    /** Whether the server's operator lets workspaces reach private networks at all. */
    allowPrivateNetworks: boolean;
  },
  input: SmsTestInput,
): Promise<Message> {
  const { storage, clock } = deps;
  const { profile } = input;
  // The number as a tester types one: `whatsapp:+39…` or `call +39…` would parse (the parser digs a
  // number out of any text), and send somewhere the tester did not write.
  const to = INTERNATIONAL_NUMBER.test(input.to.trim()) ? normalisePhoneNumber(input.to) : undefined;
  if (to === undefined) throw new AppError('invalid_input', NOT_A_PHONE_NUMBER, { field: 'to' });
  const settings = withinServerLimits(await storage.settings.get(profile.workspaceId), deps).sms;
  if (!settings)
    throw new AppError('conflict', 'configure an SMS provider in the workspace settings first', {
      issue: { code: 'refused', reason: 'sms_not_configured' },
    });
  const now = clock.now();
  await assertTestSendAllowed(storage, profile.workspaceId, now);
  const message: Message = {
    ...newMessage(
      {
        workspaceId: profile.workspaceId,
        profileId: profile.id,
        channel: 'sms',
        topic: TEST_TOPIC,
        whenNotAllowed: 'skip',
        status: 'sending',
        idempotencyKey: `test:${newId('key', now)}`,
        attempts: 1,
        nextAttemptAt: null,
        context: {
          event: { name: 'Test', messageId: null, timestamp: now, properties: {} },
          sms: { body: input.body, ...(input.trackLinks ? { trackLinks: true } : {}) },
        },
      },
      now,
    ),
    toAddress: to,
  };
  await refuseUnsendable(storage, {
    ...input,
    message,
    smartEncoding: settings.smartEncoding,
    now,
    publicUrl: deps.publicUrl,
  });
  await storage.messages.insert(message);
  let outcome: Awaited<ReturnType<typeof sendSms>>;
  try {
    outcome = await sendSms({
      message,
      profile,
      to,
      settings,
      secrets: deps.secrets,
      storage,
      claimant: null,
      unrecordedIds: new Set(),
      statusUrl: smsStatusUrl(deps.publicUrl, message),
      publicUrl: deps.publicUrl,
      now,
    });
  } catch (error) {
    // The provider did not take it now (down, throttling, refused credentials): a test is not retried.
    const reason = error instanceof Error ? error.message : String(error);
    await storage.messages.update(
      settledTestSend(message, { status: 'failed', reason }, clock.now(), to),
      null,
    );
    throw new AppError('unavailable', `the SMS provider did not take the test text: ${reason}`, {
      cause: error,
    });
  }
  const finished = settledTestSend(message, outcome, clock.now(), to);
  await storage.messages.update(finished, null);
  return finished;
}

/**
 * What would fail the send for the text itself (Liquid it cannot read, nothing left once rendered,
 * too long), as a 400 naming `body`, checked before the message is stored: as the preview counts it,
 * each tracked link at the length of its short link.
 */
async function refuseUnsendable(
  storage: Storage,
  input: SmsTestInput & { message: Message; smartEncoding: boolean; now: number; publicUrl: string },
): Promise<void> {
  const { body, profile } = input;
  const lifecycle = await lifecycleDataFor(storage, {
    workspaceId: profile.workspaceId,
    profile,
    now: input.now,
    sources: [body],
  });
  const { text } = smsTextAsSent({
    body,
    message: input.message,
    profile,
    lifecycle,
    trackLinks: input.trackLinks,
    smartEncoding: input.smartEncoding,
    publicUrl: input.publicUrl,
  });
  if (text === '')
    throw new AppError('invalid_input', 'body: the text is empty once rendered', { field: 'body' });
}
