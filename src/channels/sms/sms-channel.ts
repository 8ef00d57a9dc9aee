import { AppError } from '../../core/errors.js';
import type { Message } from '../../core/journey.js';
import type { Profile } from '../../core/profile.js';
import { isMessagingService } from '../../core/sms-sender.js';
import type { SmsSettings } from '../../core/workspace-settings.js';
import type { Storage } from '../../storage/storage.js';
import type { LifecycleData } from '../../templates/email-template.js';
import { renderPlain } from '../../templates/liquid.js';
import { errorMessage, RetryableError } from '../delivery-errors.js';
import type { Outcome } from '../dispatcher.js';
import type { SecretBox } from '../email/secret-box.js';
import { lifecycleDataFor } from '../lifecycle-data.js';
import { messageTemplateData } from '../message-data.js';
import { assertPublicLiteral, privateNetworkRefusal } from '../webhook/network-guard.js';
import { isStatusUrlReachable } from './delivery-receipts.js';
import { smartEncoded } from './segments.js';
import {
  linkedSites,
  MAX_TEXT_BEFORE_SHORTENING,
  shortenLinks,
  withShortLinksForCounting,
} from './short-links.js';
import {
  isStatusCallbackRefused,
  listRecentTexts,
  type MessagesApi,
  messagesApi,
  messagesUrl,
  openAuthToken,
  type PostedText,
  postedVerdict,
  postText,
} from './twilio-messages-api.js';

/** Leeway between the provider's clock and ours when matching an earlier send. */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface SmsCall {
  message: Message;
  profile: Profile;
  /** The recipient, checked against consent by the dispatcher. */
  to: string;
  settings: SmsSettings | undefined;
  secrets: SecretBox;
  storage: Storage;
  /** Who holds the message's claim (the dispatcher's round); null for a test send, which nobody claims. */
  claimant: string | null;
  /**
   * Provider ids other texts of this process were taken as, their outcomes not yet recorded: not this
   * one's earlier send, whatever the provider lists.
   */
  unrecordedIds: ReadonlySet<string>;
  /**
   * Where the provider reports the text delivered or not (see `smsStatusUrl`); left out of the request
   * when the provider could not reach it (see `isStatusUrlReachable`).
   */
  statusUrl: string;
  /** The server's public address, which tracked links are shortened under. */
  publicUrl: string;
  now: number;
}

/** Renders an SMS step's text as plain text (no HTML escaping: an SMS is not markup). */
function renderSmsPlain(
  body: string,
  message: Pick<Message, 'id' | 'context'>,
  profile: Pick<Profile, 'id' | 'userId' | 'traits'>,
  lifecycle: LifecycleData | undefined,
): string {
  return renderPlain(body, messageTemplateData(message, profile, lifecycle)).trim();
}

/**
 * A rendered text (its links shortened already, when they are) as it goes out: with Smart Encoding's
 * replacements when the workspace has it on (see `smartEncoded`), naming the characters replaced.
 * Thrown: a text longer than a text may be.
 */
function encodedSmsText(rendered: string, smartEncoding: boolean): { text: string; replaced: string[] } {
  const { text, replaced } = smartEncoding ? smartEncoded(rendered) : { text: rendered, replaced: [] };
  // The provider refuses longer ones, and counting segments takes time with the square of the length.
  if (text.length > SMS_MAX_CHARACTERS)
    throw new Error(
      `the text renders to ${text.length.toLocaleString('en')} characters; a text may have at most ${SMS_MAX_CHARACTERS.toLocaleString('en')}`,
    );
  return { text, replaced };
}

/** Why a text is refused before its links are looked for: it could not fit once they are short. */
function tooLongToShorten(rendered: string): string {
  return `the text renders to ${rendered.length.toLocaleString('en')} characters before its links are shortened; a text may have at most ${SMS_MAX_CHARACTERS.toLocaleString('en')}`;
}

/**
 * A text as it will go out, for a preview or the check before a test send: rendered, each link that
 * goes out shortened counted at the length of its short link (none is made), then Smart Encoding —
 * in the order of a send. Liquid it cannot read, or a text too long to send, is a 400 naming `body`.
 */
export function smsTextAsSent(input: {
  body: string;
  message: Pick<Message, 'id' | 'context'>;
  profile: Pick<Profile, 'id' | 'userId' | 'traits'>;
  lifecycle: LifecycleData | undefined;
  trackLinks: boolean;
  smartEncoding: boolean;
  publicUrl: string;
}): { text: string; replaced: string[] } {
  try {
    const plain = renderSmsPlain(input.body, input.message, input.profile, input.lifecycle);
    if (input.trackLinks && plain.length > MAX_TEXT_BEFORE_SHORTENING)
      throw new Error(tooLongToShorten(plain));
    const linked = input.trackLinks
      ? withShortLinksForCounting(plain, linkedSites(input.body), input.publicUrl)
      : plain;
    return encodedSmsText(linked, input.smartEncoding);
  } catch (error) {
    throw new AppError('invalid_input', `body: ${error instanceof Error ? error.message : String(error)}`, {
      field: 'body',
    });
  }
}

/** The longest text Twilio's Messages API takes (it splits it into segments itself). */
export const SMS_MAX_CHARACTERS = 1600;

/**
 * Sends through a Twilio-compatible Messages API (see twilio-messages-api.ts).
 * The provider's refusal of the message (400-level with its error code) fails it, or, when the
 * recipient had opted out at the carrier or the number is no mobile, suppresses the number; one of its
 * StatusCallback sends it again without (see `isStatusCallbackRefused`); throttling (a full sender
 * queue too), 408 and 425, 5xx, network errors and refused credentials are retried (see
 * `postedVerdict`); a stored auth token that does not decrypt (MOPS_SECRET changed) fails it at once,
 * calling nothing. A retry first asks
 * the provider whether an earlier attempt got through (see `earlierSend`), so a text is sent once even when an answer was lost.
 */
export async function sendSms(call: SmsCall): Promise<Outcome> {
  const { message, profile, settings, to } = call;
  if (!settings) return { status: 'failed', reason: 'no SMS provider is configured (settings.sms)' };
  if (!message.context.sms) return { status: 'failed', reason: 'the message has no SMS text' };
  const sms = message.context.sms;
  let body = sms.text;
  if (body === undefined) {
    const lifecycle = await lifecycleDataFor(call.storage, {
      workspaceId: message.workspaceId,
      profile,
      now: call.now,
      sources: [sms.body],
    });
    let rendered: string;
    try {
      rendered = renderSmsPlain(sms.body, message, profile, lifecycle);
    } catch (error) {
      return { status: 'failed', reason: `the text could not be rendered: ${errorText(error)}` };
    }
    if (rendered === '')
      return { status: 'skipped', reason: 'the text is empty once rendered', toAddress: to };
    // Shortened once, before Smart Encoding (which reads the whole text, links gone) and the length
    // check: the text is kept below before the provider is called, so a retry sends (and looks for)
    // these same links.
    if (sms.trackLinks === true) {
      if (rendered.length > MAX_TEXT_BEFORE_SHORTENING)
        return { status: 'failed', reason: tooLongToShorten(rendered), toAddress: to };
      try {
        rendered = await shortenLinks(call.storage, {
          text: rendered,
          sites: linkedSites(sms.body),
          message,
          publicUrl: call.publicUrl,
          now: call.now,
        });
      } catch (error) {
        throw new RetryableError(
          `the text's links could not be shortened: ${errorText(error)}`,
          undefined,
          to,
        );
      }
    }
    try {
      body = encodedSmsText(rendered, settings.smartEncoding).text;
    } catch (error) {
      return { status: 'failed', reason: `the text could not be rendered: ${errorText(error)}` };
    }
  }

  const form = new URLSearchParams({ To: to, Body: body });
  if (isStatusUrlReachable(call.statusUrl, settings.baseUrl)) form.set('StatusCallback', call.statusUrl);
  form.set(isMessagingService(settings.from) ? 'MessagingServiceSid' : 'From', settings.from);
  if (!settings.allowPrivateNetworks) {
    try {
      assertPublicLiteral(messagesUrl(settings.baseUrl, settings.accountSid));
    } catch (error) {
      return { status: 'failed', reason: errorText(error), toAddress: to };
    }
  }
  // Before any call: a token that cannot be decrypted fails at once, whatever the provider would say.
  const opened = openAuthToken(settings, call.secrets);
  if (!opened.isReadable) return { status: 'failed', reason: opened.reason, toAddress: to };
  const api = messagesApi(settings, opened.value);
  const { url } = api;
  let answered: PostedText;
  try {
    // Claiming counts an attempt: past the first, an earlier one may have reached the provider, with
    // the text, number and sender it was sent with then (kept below), whatever they are now. A kept
    // text says so too after a re-drive, which counts attempts from zero again.
    if (message.attempts > 1 || sms.text !== undefined) {
      const earlier = { to: sms.to ?? to, from: sms.from ?? settings.from, body };
      const sid = await earlierSend(call, api, earlier);
      if (sid) return { status: 'sent', providerMessageId: sid, toAddress: earlier.to, subject: null };
    }
    if (sms.text !== body || sms.to !== to || sms.from !== settings.from) {
      // Kept before the provider is called, for the retry after a lost answer to look for.
      const context = { ...message.context, sms: { ...sms, text: body, to, from: settings.from } };
      if (!(await call.storage.messages.saveContext({ id: message.id, context }, call.claimant)))
        throw new RetryableError('another worker took the message over', undefined, to);
      message.context = context;
    }
    answered = await postText(api, form);
    // The provider refused the address it was asked to report to (a public URL it cannot use), and
    // the text with it: sent once more without, as a text without reports beats none at all.
    if (isStatusCallbackRefused(answered) && form.has('StatusCallback')) {
      form.delete('StatusCallback');
      answered = await postText(api, form);
    }
  } catch (error) {
    const refused = privateNetworkRefusal(error);
    if (refused) return { status: 'failed', reason: refused.message, toAddress: to };
    if (error instanceof RetryableError) throw new RetryableError(error.message, error.retryAfterMs, to);
    throw new RetryableError(`${url.host}: ${errorMessage(error)}`, undefined, to);
  }
  const verdict = postedVerdict(answered, url.host, call.now);
  switch (verdict.kind) {
    case 'sent':
      return { status: 'sent', providerMessageId: verdict.sid, toAddress: to, subject: null };
    case 'retry':
      throw new RetryableError(verdict.reason, verdict.retryAfterMs, to);
    case 'suppress':
      // Every later text would be refused too: suppressed here, they are not even tried.
      await call.storage.consent.suppress({
        workspaceId: message.workspaceId,
        channel: 'sms',
        address: to,
        reason: verdict.as,
        at: call.now,
      });
      return { status: 'suppressed', reason: verdict.reason, toAddress: to };
    case 'failed':
      return { status: 'failed', reason: verdict.reason, toAddress: to };
  }
}

/**
 * The provider's id for this message's text if an earlier attempt sent it. An attempt that timed out
 * or lost its connection after the provider took the text (or a crash before the answer was recorded)
 * leaves no trace here, and the Messages API takes no idempotency key; so a retry looks through the
 * provider's latest messages to the number for this text from this sender, created since the message
 * was queued, that no other message to the number was recorded as, whatever profile it was for (or,
 * not recorded yet, taken as: `unrecordedIds`). Failing to look is retried: sending blind could send twice.
 */
async function earlierSend(
  call: SmsCall,
  api: MessagesApi,
  text: { to: string; from: string; body: string },
): Promise<string | undefined> {
  const { message } = call;
  const isService = isMessagingService(text.from);
  const listed = await listRecentTexts(api, text, call.now);
  const since = message.createdAt - CLOCK_SKEW_MS;
  const candidates = listed.flatMap((sent) =>
    typeof sent.sid === 'string' &&
    sent.to === text.to &&
    sent.body === text.body &&
    (isService ? sent.messaging_service_sid === text.from : sent.from === text.from) &&
    Date.parse(sent.date_created ?? '') >= since
      ? [sent.sid]
      : [],
  );
  if (candidates.length === 0) return undefined;
  const taken = await call.storage.messages.providerIdsRecorded({
    workspaceId: message.workspaceId,
    address: text.to,
    channel: 'sms',
    providerMessageIds: candidates,
  });
  return candidates.find((sid) => !taken.has(sid) && !call.unrecordedIds.has(sid));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
