import { request } from 'undici';
import type { Message } from '../../core/journey.js';
import { holdsDotSegment } from '../../core/journey-definition.js';
import type { Profile } from '../../core/profile.js';
import { firstCharacters } from '../../core/storable-text.js';
import type { WebhookDestination, WebhookSettings } from '../../core/workspace-settings.js';
import type { Storage } from '../../storage/storage.js';
import { renderJson } from '../../templates/liquid.js';
import { errorMessage, RetryableError, retryAfterMs } from '../delivery-errors.js';
import type { Outcome } from '../dispatcher.js';
import { type Opened, openedOr, type SecretBox } from '../email/secret-box.js';
import { lifecycleDataFor } from '../lifecycle-data.js';
import { messageTemplateData } from '../message-data.js';
import { answeredReason, unansweredReason, unreadableSecretReason } from './failure-reasons.js';
import { agentFor, assertPublicLiteral, privateNetworkRefusal } from './network-guard.js';
import { SIGNATURE_HEADER, signatureHeader } from './webhook-signature.js';

/** Of the answer's body, this much is kept as the reason of a failed call. */
const REASON_BODY_CHARS = 300;
/** Answers that say "later", not "never". */
const RETRYABLE_STATUSES = new Set([408, 425, 429]);

export interface WebhookCall {
  message: Message;
  profile: Profile;
  settings: WebhookSettings;
  secrets: SecretBox;
  storage: Storage;
  /** Who holds the message's claim (the dispatcher's round). */
  claimant: string;
  now: number;
}

/**
 * Calls a journey's webhook step: the Liquid body rendered with the profile and the entry event, as
 * JSON, to one of the workspace's configured destinations, signed with its secret. 2xx is success;
 * 4xx (but 408, 425, 429), a refused address and a stored secret that does not decrypt (MOPS_SECRET
 * changed) fail at once, to the dead-letter list; the rest
 * throws `RetryableError` for the dispatcher to retry with back-off. The body is rendered once, and
 * kept before the first call: retries and re-drives send what that one sent, under the same
 * Idempotency-Key, whatever the profile holds by then.
 */
export async function sendWebhook(call: WebhookCall): Promise<Outcome> {
  const { message, profile, settings } = call;
  const step = message.context.webhook;
  if (!step) return { status: 'failed', reason: 'the message has no webhook settings' };
  const destination = settings.destinations.find((candidate) => candidate.id === step.destination);
  if (!destination)
    return { status: 'failed', reason: `webhook destination ${step.destination} is no longer configured` };
  let url: URL;
  try {
    // The destination's URL may have changed since the step was published.
    url = destinationUrl(destination.url, step.path);
  } catch (error) {
    return { status: 'failed', reason: errorMessage(error) };
  }
  const toAddress = shownAddress(url);
  let body = step.rendered;
  if (body === undefined) {
    const lifecycle = await lifecycleDataFor(call.storage, {
      workspaceId: message.workspaceId,
      profile,
      now: call.now,
      sources: [step.body],
    });
    try {
      body = renderJson(step.body, messageTemplateData(message, profile, lifecycle));
      JSON.parse(body);
    } catch (error) {
      return { status: 'failed', reason: `the body is not valid JSON once rendered: ${errorMessage(error)}` };
    }
  }
  if (!settings.allowPrivateNetworks) {
    try {
      assertPublicLiteral(url);
    } catch (error) {
      return { status: 'failed', reason: errorMessage(error), toAddress };
    }
  }

  // Before any call: a secret that cannot be decrypted fails at once, whatever the receiver would say.
  const opened = openSecrets(destination, call.secrets);
  if (!opened.isReadable) return { status: 'failed', reason: opened.reason, toAddress };

  if (step.rendered === undefined) {
    const context = { ...message.context, webhook: { ...step, rendered: body } };
    if (!(await call.storage.messages.saveContext({ id: message.id, context }, call.claimant)))
      throw new RetryableError('another worker took the message over', undefined, toAddress);
    message.context = context;
  }
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await callDestination(url, opened.value, settings, {
      callId: message.id,
      idempotencyKey: message.idempotencyKey,
      now: call.now,
      method: step.method as 'POST' | 'PUT' | 'PATCH',
      body,
    });
  } catch (error) {
    const refused = privateNetworkRefusal(error);
    if (refused) return { status: 'failed', reason: refused.message, toAddress };
    throw new RetryableError(unansweredReason(url.host, error), undefined, toAddress);
  }
  const excerpt = await readExcerpt(response.body);
  const status = response.statusCode;
  if (status >= 200 && status < 300)
    return { status: 'sent', providerMessageId: null, toAddress, subject: null };
  const reason = answeredReason({ status, host: url.host, excerpt });
  if (status >= 500 || RETRYABLE_STATUSES.has(status))
    throw new RetryableError(reason, retryAfterMs(response.headers['retry-after'], call.now), toAddress);
  return { status: 'failed', reason, toAddress };
}

/**
 * The destination's URL with the step's path added to its path, and the step's query to its query
 * (a destination's own `?key=…` stays); the origin cannot change.
 */
export function destinationUrl(base: string, path: string): URL {
  const url = new URL(base);
  if (path === '/') return url;
  const basePath = url.pathname.replace(/\/$/, '');
  const queryAt = path.indexOf('?');
  const pathname = queryAt === -1 ? path : path.slice(0, queryAt);
  const query = queryAt === -1 ? '' : path.slice(queryAt + 1);
  if (/%2f|%5c/i.test(pathname)) throw new Error(`the path ${path} holds an encoded slash`);
  const repeated = parameterRepeated(base, path);
  if (repeated !== undefined)
    throw new Error(`the path's query sets ${repeated}, which the destination's URL sets itself`);
  // A step adding a query alone calls the destination's own path, as `/` does: receivers tell
  // `/hooks` from `/hooks/`.
  if (pathname !== '/') url.pathname = basePath + pathname;
  if (query !== '') url.search = url.search === '' ? query : `${url.search.slice(1)}&${query}`;
  // Steps are checked when published; this holds for any path (dot segments are resolved by now).
  if (
    (!url.pathname.startsWith(`${basePath}/`) && url.pathname !== basePath) ||
    holdsDotSegment(url.pathname.slice(basePath.length))
  )
    throw new Error(`the path ${path} leaves the destination's own path`);
  return url;
}

/**
 * A query parameter the step's path sets that the destination's URL sets already. Receivers differ in
 * which of two values they read, so a step could otherwise replace the destination's own (its key).
 */
export function parameterRepeated(base: string, path: string): string | undefined {
  const queryAt = path.indexOf('?');
  if (queryAt === -1) return undefined;
  const own = new URL(base).searchParams;
  for (const name of new URLSearchParams(path.slice(queryAt + 1)).keys()) if (own.has(name)) return name;
  return undefined;
}

/**
 * The address the message log keeps, as admins see it: without its query, where a destination may
 * carry its key (settings, which hold it, are for admins only). Members see less of it.
 */
function shownAddress(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * A webhook call's address as a member (not an admin) sees it: its scheme only, as the reason members
 * read leaves out the receiver's host — some receivers carry their token in the host name, others in
 * the path (Slack's and Discord's hooks do) or, in addresses kept before queries were left out, the query.
 */
export function addressShownToMembers(address: string | null): string | null {
  if (address === null || !URL.canParse(address)) return null;
  return `${new URL(address).protocol}//…`;
}

/** A destination's signing secret and headers, decrypted. */
interface DestinationSecrets {
  secret: string | undefined;
  headers: Record<string, string>;
}

function openSecrets(destination: WebhookDestination, secrets: SecretBox): Opened<DestinationSecrets> {
  let opening = 'signing secret';
  return openedOr(
    () => {
      const secret = destination.secret ? secrets.open(destination.secret) : undefined;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(destination.headers ?? {})) {
        opening = `header ${name}`;
        headers[name] = secrets.open(value);
      }
      return { secret, headers };
    },
    () => unreadableSecretReason(destination.id, opening),
  );
}

/** One call to a destination: its headers and signature, under the workspace's timeout and private-network rule. */
function callDestination(
  url: URL,
  opened: DestinationSecrets,
  settings: WebhookSettings,
  call: Parameters<typeof headersFor>[1] & { method: 'POST' | 'PUT' | 'PATCH'; body: string },
): ReturnType<typeof request> {
  const { method, body } = call;
  return request(url, {
    method,
    headers: headersFor(opened, call, { method, target: `${url.pathname}${url.search}`, body }),
    body,
    dispatcher: agentFor(settings.allowPrivateNetworks),
    headersTimeout: settings.timeoutMs,
    bodyTimeout: settings.timeoutMs,
    signal: AbortSignal.timeout(settings.timeoutMs),
  });
}

function headersFor(
  opened: DestinationSecrets,
  call: { callId: string; idempotencyKey: string; now: number },
  request: { method: string; target: string; body: string },
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(opened.headers)) headers[name.toLowerCase()] = value;
  headers['content-type'] = 'application/json';
  headers['user-agent'] = 'Mops-Webhook/0.1';
  headers['idempotency-key'] = call.idempotencyKey;
  headers['mops-webhook-id'] = call.callId;
  if (opened.secret)
    headers[SIGNATURE_HEADER] = signatureHeader(
      opened.secret,
      { ...request, idempotencyKey: call.idempotencyKey },
      call.now,
    );
  return headers;
}

/** What a destination answered a test call: delivered on 2xx, else why not. */
export interface DestinationTest {
  isDelivered: boolean;
  /** The HTTP status it answered; null when it did not answer (refused, timed out, unreachable). */
  status: number | null;
  reason: string | null;
  address: string;
  ms: number;
}

/**
 * A test call to a destination, as the settings' "Send a test" makes it: a POST of
 * `{"type": "mops.test", …}` to its URL with its headers and signature, under the workspace's
 * timeout and private-network rule, made once (no retries) and recorded nowhere.
 */
export async function testDestination(options: {
  destination: WebhookDestination;
  settings: WebhookSettings;
  secrets: SecretBox;
  callId: string;
  now: number;
}): Promise<DestinationTest> {
  const { destination, settings, callId, now } = options;
  const started = performance.now();
  const result = (outcome: Omit<DestinationTest, 'address' | 'ms'>, address: string): DestinationTest => ({
    ...outcome,
    address,
    ms: Math.round(performance.now() - started),
  });
  let url: URL;
  try {
    url = destinationUrl(destination.url, '/');
  } catch (error) {
    return result({ isDelivered: false, status: null, reason: errorMessage(error) }, destination.url);
  }
  const address = shownAddress(url);
  const body = JSON.stringify({
    type: 'mops.test',
    id: callId,
    destination: destination.id,
    sent_at: new Date(now).toISOString(),
  });
  if (!settings.allowPrivateNetworks) {
    try {
      assertPublicLiteral(url);
    } catch (error) {
      return result({ isDelivered: false, status: null, reason: errorMessage(error) }, address);
    }
  }
  const opened = openSecrets(destination, options.secrets);
  if (!opened.isReadable) return result({ isDelivered: false, status: null, reason: opened.reason }, address);
  try {
    const response = await callDestination(url, opened.value, settings, {
      callId,
      idempotencyKey: callId,
      now,
      method: 'POST',
      body,
    });
    const excerpt = await readExcerpt(response.body);
    const status = response.statusCode;
    return status >= 200 && status < 300
      ? result({ isDelivered: true, status, reason: null }, address)
      : result(
          { isDelivered: false, status, reason: answeredReason({ status, host: url.host, excerpt }) },
          address,
        );
  } catch (error) {
    const refused = privateNetworkRefusal(error);
    return result(
      {
        isDelivered: false,
        status: null,
        reason: refused ? refused.message : unansweredReason(url.host, error),
      },
      address,
    );
  }
}

async function readExcerpt(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  let text = '';
  // Decoded as a stream: a character may come in two pieces of the answer.
  const decoder = new TextDecoder();
  try {
    for await (const chunk of body) {
      text += decoder.decode(chunk, { stream: true });
      if (text.length >= REASON_BODY_CHARS) break;
    }
  } catch {
    // A body that breaks off does not change the verdict, which the status gives.
  } finally {
    body.destroy();
  }
  return firstCharacters(text, REASON_BODY_CHARS).replace(/\s+/g, ' ').trim();
}
