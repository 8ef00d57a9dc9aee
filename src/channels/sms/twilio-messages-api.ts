import { request } from 'undici';
import { isMessagingService } from '../../core/sms-sender.js';
import type { SuppressionReason } from '../../core/topic-consent.js';
import type { SmsSettings } from '../../core/workspace-settings.js';
import { RetryableError, retryAfterMs } from '../delivery-errors.js';
import { type Opened, openedOr, type SecretBox } from '../email/secret-box.js';
import { agentFor } from '../webhook/network-guard.js';

/*
 * The client of a Twilio-compatible Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`,
 * form-encoded, Basic auth, and `GET` on it to list messages): the requests, and what each answer
 * means for the text. Deciding what to send, and when, is the SMS channel's (sms-channel.ts).
 */

const TIMEOUT_MS = 15_000;
/**
 * Twilio's refusals of a number that every later text to it would meet too, and what the number is
 * suppressed as: 21610, a recipient who replied STOP to this sender at the carrier; 21614, a number
 * that is no mobile (a landline, or none at all), which is a hard bounce as 30005 and 30006 are in a
 * delivery receipt.
 */
const SUPPRESSING_REFUSALS = new Map<number, { as: SuppressionReason; said: string }>([
  [21610, { as: 'unsubscribed', said: 'opted out at the carrier' }],
  [21614, { as: 'hard_bounce', said: 'not a mobile number' }],
]);
/**
 * Twilio's error for a sender whose queue is full (hours of texts at its rate): a 400, yet it means
 * "later", as a campaign from one number meets it before the queue drains. The text was not taken.
 */
const SENDER_QUEUE_FULL = 21611;
/**
 * Answers that a settings fix cures (a rotated auth token, a mistyped account SID): retried with
 * back-off like an outage, so that texts due meanwhile are not failed for good.
 */
const SETTINGS_REFUSALS = new Set([401, 403, 404]);
/**
 * Answers that say "not now" (408 Request Timeout: the provider gave up waiting for the request; 425
 * Too Early: a replay it will not risk yet; 429 throttling): the text was not taken, so it is retried.
 */
const TRY_LATER = new Set([408, 425, 429]);
/** Twilio's error for a StatusCallback it will not use (not a URL it can call): it refuses the text. */
const INVALID_STATUS_CALLBACK = 21609;
/** How many of the provider's latest messages to a number a retry looks through for an earlier send. */
const RECENT_MESSAGES = 50;
/**
 * More than any answer of the Messages API holds (a listing of RECENT_MESSAGES full texts is ~0.5 MB
 * at most): the provider is the workspace's to choose, and one answering without end must not fill
 * the server's memory.
 */
const MAX_ANSWER_BYTES = 1_000_000;

/** The workspace's Messages API, and how to reach it. */
export interface MessagesApi {
  /** The Messages resource. */
  url: URL;
  allowPrivateNetworks: boolean;
  authorization: string;
}

/** The Messages API of the workspace's provider, called with its account SID and (opened) auth token. */
export function messagesApi(
  settings: Pick<SmsSettings, 'baseUrl' | 'accountSid' | 'allowPrivateNetworks'>,
  authToken: string,
): MessagesApi {
  return {
    url: messagesUrl(settings.baseUrl, settings.accountSid),
    allowPrivateNetworks: settings.allowPrivateNetworks,
    authorization: `Basic ${Buffer.from(`${settings.accountSid}:${authToken}`).toString('base64')}`,
  };
}

/** What the Messages API answers a sent text with, as far as Mops reads it. */
interface ProviderAnswer {
  sid?: string;
  code?: number;
  message?: string;
}

/** The provider's answer to a text posted. */
export interface PostedText {
  status: number;
  answer: ProviderAnswer;
  retryAfter: string | string[] | undefined;
}

/** Posts a text (`To`, `Body`, `From` or `MessagingServiceSid`, and `StatusCallback` if any). */
export async function postText(api: MessagesApi, form: URLSearchParams): Promise<PostedText> {
  const response = await callProvider(api, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  const answer = ((await answerOf(response.body)) ?? {}) as ProviderAnswer;
  return { status: response.statusCode, answer, retryAfter: response.headers['retry-after'] };
}

/** The provider refused the text for its StatusCallback (an address it cannot use), and took nothing. */
export function isStatusCallbackRefused(posted: PostedText): boolean {
  return posted.status >= 400 && posted.answer.code === INVALID_STATUS_CALLBACK;
}

/** What the answer to a posted text means for it. */
export type PostedVerdict =
  /** Taken: `sid` is the provider's id for it, null when the answer could not be read. */
  | { kind: 'sent'; sid: string | null }
  /** Not taken now (throttling, an outage, refused credentials): retried, after `retryAfterMs` if said. */
  | { kind: 'retry'; reason: string; retryAfterMs: number | undefined }
  /** Refused for a number every later text would be refused for too: the number is suppressed `as`. */
  | { kind: 'suppress'; as: SuppressionReason; reason: string }
  /** Refused for good. */
  | { kind: 'failed'; reason: string };

/**
 * The provider's refusal of the message (400-level with its error code) fails it, or, when the
 * recipient had opted out at the carrier or the number is no mobile, suppresses the number;
 * throttling (a full sender queue too), 408 and 425, 5xx and refused credentials are retried.
 */
export function postedVerdict(posted: PostedText, host: string, now: number): PostedVerdict {
  const { answer, status } = posted;
  if (status >= 200 && status < 300 && answer.sid) return { kind: 'sent', sid: answer.sid };
  const reason = `${host} answered ${status}${answer.code ? ` (error ${answer.code})` : ''}${answer.message ? `: ${answer.message}` : ''}`;
  // Taken but unreadable: sent, as far as anyone can tell; sending again would send it twice.
  if (status >= 200 && status < 300) return { kind: 'sent', sid: null };
  if (
    TRY_LATER.has(status) ||
    status >= 500 ||
    SETTINGS_REFUSALS.has(status) ||
    answer.code === SENDER_QUEUE_FULL
  )
    return { kind: 'retry', reason, retryAfterMs: retryAfterMs(posted.retryAfter, now) };
  const suppression = answer.code === undefined ? undefined : SUPPRESSING_REFUSALS.get(answer.code);
  if (suppression) return { kind: 'suppress', as: suppression.as, reason: `${suppression.said}: ${reason}` };
  return { kind: 'failed', reason };
}

/** A message of the provider's listing, as far as Mops reads it. */
export interface ListedText {
  sid?: string;
  to?: string;
  from?: string | null;
  messaging_service_sid?: string | null;
  body?: string;
  date_created?: string;
}

/**
 * The provider's latest messages (at most RECENT_MESSAGES) to `to`, from `from` unless it is a
 * messaging service (which the listing cannot filter by). A listing the provider does not give is a
 * `RetryableError`.
 */
export async function listRecentTexts(
  api: MessagesApi,
  text: { to: string; from: string },
  now: number,
): Promise<ListedText[]> {
  const query = new URLSearchParams({ To: text.to, PageSize: String(RECENT_MESSAGES) });
  if (!isMessagingService(text.from)) query.set('From', text.from);
  const response = await callProvider(api, { method: 'GET', query });
  const listing = ((await answerOf(response.body)) ?? {}) as { messages?: ListedText[] };
  if (response.statusCode < 200 || response.statusCode >= 300 || !Array.isArray(listing.messages))
    throw new RetryableError(
      `${api.url.host} answered ${response.statusCode} when asked whether an earlier attempt sent the text`,
      retryAfterMs(response.headers['retry-after'], now),
    );
  return listing.messages;
}

/** The provider's JSON answer; undefined when it is not JSON or runs past MAX_ANSWER_BYTES. */
async function answerOf(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += chunk.length;
      if (size > MAX_ANSWER_BYTES) return undefined;
      chunks.push(chunk);
    }
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  } finally {
    body.destroy();
  }
}

function callProvider(
  api: MessagesApi,
  options: {
    method: 'GET' | 'POST';
    headers?: Record<string, string>;
    body?: string;
    query?: URLSearchParams;
  },
): ReturnType<typeof request> {
  const url = new URL(api.url);
  if (options.query) url.search = options.query.toString();
  return request(url, {
    method: options.method,
    dispatcher: agentFor(api.allowPrivateNetworks),
    headers: { ...options.headers, authorization: api.authorization, 'user-agent': 'Mops/0.1' },
    body: options.body,
    headersTimeout: TIMEOUT_MS,
    bodyTimeout: TIMEOUT_MS,
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
}

/**
 * Why a text fails when the stored auth token does not decrypt: the server's MOPS_SECRET changed since
 * it was stored. No retry mends that, and the provider is not to blame: it must be entered again.
 */
export const UNREADABLE_AUTH_TOKEN =
  "the SMS provider's stored auth token cannot be decrypted under the current MOPS_SECRET (it was stored under another one); enter it again in Settings → SMS provider";

/** The provider's auth token, opened (see `smsAuthToken`); or, when it does not decrypt, why not. */
export function openAuthToken(settings: Pick<SmsSettings, 'authToken'>, secrets: SecretBox): Opened<string> {
  return openedOr(
    () => smsAuthToken(settings, secrets),
    () => UNREADABLE_AUTH_TOKEN,
  );
}

/**
 * The provider's auth token, opened, or '' when none is kept. Trimmed: one saved before the settings
 * trimmed it may end in the newline it was pasted with, which no provider's token holds.
 */
export function smsAuthToken(settings: Pick<SmsSettings, 'authToken'>, secrets: SecretBox): string {
  return settings.authToken ? secrets.open(settings.authToken).trim() : '';
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
