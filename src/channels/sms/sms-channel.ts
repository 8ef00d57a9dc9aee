import { request } from 'undici';
import type { Message } from '../../core/journey.js';
import type { Profile } from '../../core/profile.js';
import type { SmsSettings } from '../../core/workspace-settings.js';
import type { Storage } from '../../storage/storage.js';
import { renderPlain } from '../../templates/liquid.js';
import { RetryableError } from '../delivery-errors.js';
import type { Outcome } from '../dispatcher.js';
import type { SecretBox } from '../email/secret-box.js';
import { messageTemplateData } from '../message-data.js';
import { agentFor, assertPublicLiteral, privateNetworkRefusal } from '../webhook/network-guard.js';

const TIMEOUT_MS = 15_000;
/** Twilio's error for a recipient who replied STOP to this sender. */
const RECIPIENT_UNSUBSCRIBED = 21610;

export interface SmsCall {
  message: Message;
  profile: Profile;
  /** The recipient, checked against consent by the dispatcher. */
  to: string;
  settings: SmsSettings | undefined;
  secrets: SecretBox;
  storage: Storage;
  now: number;
}

/** Renders an SMS step's text as plain text (no HTML escaping: an SMS is not markup). */
export function renderSmsBody(
  body: string,
  message: Pick<Message, 'id' | 'context'>,
  profile: Pick<Profile, 'id' | 'userId' | 'traits'>,
): string {
  return renderPlain(body, messageTemplateData(message, profile)).trim();
}

/**
 * Sends through a Twilio-compatible Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`).
 * The provider's refusal of the message (400-level with its error code) fails it, or, when the
 * recipient had opted out at the carrier, suppresses the number; throttling, 5xx and network errors
 * are retried.
 */
export async function sendSms(call: SmsCall): Promise<Outcome> {
  const { message, profile, settings, to } = call;
  if (!settings) return { status: 'failed', reason: 'no SMS provider is configured (settings.sms)' };
  if (!message.context.sms) return { status: 'failed', reason: 'the message has no SMS text' };
  let body: string;
  try {
    body = renderSmsBody(message.context.sms.body, message, profile);
  } catch (error) {
    return { status: 'failed', reason: `the text could not be rendered: ${errorText(error)}` };
  }
  if (body === '') return { status: 'skipped', reason: 'the text is empty once rendered', toAddress: to };

  const form = new URLSearchParams({ To: to, Body: body });
  form.set(settings.from.startsWith('MG') ? 'MessagingServiceSid' : 'From', settings.from);
  const token = settings.authToken ? call.secrets.open(settings.authToken) : '';
  const url = messagesUrl(settings.baseUrl, settings.accountSid);
  if (!settings.allowPrivateNetworks) {
    try {
      assertPublicLiteral(url);
    } catch (error) {
      return { status: 'failed', reason: errorText(error), toAddress: to };
    }
  }
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(url, {
      method: 'POST',
      dispatcher: agentFor(settings.allowPrivateNetworks),
      headers: {
        authorization: `Basic ${Buffer.from(`${settings.accountSid}:${token}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': 'Mops/0.1',
      },
      body: form.toString(),
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const refused = privateNetworkRefusal(error);
    if (refused) return { status: 'failed', reason: refused.message, toAddress: to };
    throw new RetryableError(`${url.host}: ${errorText(error)}`);
  }
  const answer = (await response.body.json().catch(() => ({}))) as {
    sid?: string;
    code?: number;
    message?: string;
  };
  const status = response.statusCode;
  if (status >= 200 && status < 300 && answer.sid)
    return { status: 'sent', providerMessageId: answer.sid, toAddress: to, subject: null };
  const reason = `${url.host} answered ${status}${answer.code ? ` (error ${answer.code})` : ''}${answer.message ? `: ${answer.message}` : ''}`;
  if (status === 429 || status >= 500) throw new RetryableError(reason);
  if (answer.code === RECIPIENT_UNSUBSCRIBED) {
    // The carrier will refuse every later text too: suppressed here, they are not even tried.
    await call.storage.consent.suppress({
      workspaceId: message.workspaceId,
      channel: 'sms',
      address: to,
      reason: 'unsubscribed',
      at: call.now,
    });
    return { status: 'suppressed', reason: `opted out at the carrier: ${reason}`, toAddress: to };
  }
  return { status: 'failed', reason, toAddress: to };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The Messages API under the base URL, its path kept: Twilio answers at its origin, other providers
 * speaking its API under a path of their own (SignalWire's `https://space.signalwire.com/api/laml`).
 */
export function messagesUrl(baseUrl: string, accountSid: string): URL {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`;
  return url;
}
