import { isIP } from 'node:net';
import type { Clock } from '../../core/clock.js';
import type { Message } from '../../core/journey.js';
import { isLocalHostName } from '../../core/local-names.js';
import type { Storage } from '../../storage/storage.js';
import { type Append, appendProfileEvent, isTestSend } from '../email/engagement.js';
import { isPublicAddress } from '../webhook/network-guard.js';

/** Written on the contact when the provider reports a text delivered to the handset. */
export const SMS_DELIVERED = 'SMS Delivered';
/** Written on the contact when the provider reports a text undelivered or failed after it took it. */
export const SMS_DELIVERY_FAILED = 'SMS Delivery Failed';

/**
 * Twilio's errors for a number that cannot take texts at all (30005: unknown destination handset;
 * 30006: a landline, or a carrier that takes no texts): like a hard bounce, the number is suppressed.
 * Others (30003 a handset switched off, 30007 carrier filtering, 30008 unknown) may pass next time.
 */
const NUMBER_TAKES_NO_TEXTS = new Set([30005, 30006]);
/** Twilio's error for a recipient who replied STOP to this sender. */
const RECIPIENT_UNSUBSCRIBED = 21610;

/** What a status report did. */
export type StatusReceipt = 'delivered' | 'undelivered' | 'already_recorded' | 'not_final';

/**
 * Where the provider reports what became of a text (Twilio's `StatusCallback`): a path of the server's
 * public URL naming the message, which the provider's signature then covers.
 */
export function smsStatusUrl(publicUrl: string, message: Pick<Message, 'workspaceId' | 'id'>): string {
  return `${publicUrl}/v1/sms/status/${encodeURIComponent(message.workspaceId)}/${encodeURIComponent(message.id)}`;
}

/** Whether a URL names this machine or a private network, out of reach of a provider on the internet. */
export function isLocalUrl(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return isIP(host) !== 0 ? !isPublicAddress(host) : isLocalHostName(host);
}

/**
 * Whether to ask the provider for status reports at `statusUrl`: not when it is local (Mops run on a
 * laptop or behind a private address) while the provider is not, as the provider could never call it
 * and Twilio refuses the text with error 21609 outright. A local provider (a gateway of one's own, a
 * stand-in) may reach it.
 */
export function isStatusUrlReachable(statusUrl: string, providerUrl: string): boolean {
  return !isLocalUrl(statusUrl) || isLocalUrl(providerUrl);
}

/**
 * A provider's status report for a text it took: `delivered` marks the message delivered, and
 * `undelivered` or `failed` marks it bounced (suppressing a number that can take no texts, or one
 * the carrier says opted out); each writes `SMS Delivered` or `SMS Delivery Failed` on the contact
 * once, so journeys can wait or branch on it. Interim statuses (queued, sending, sent) change nothing:
 * the provider sends them in any order, a final one after them or before.
 */
export async function recordSmsStatus(
  deps: { storage: Storage; clock: Clock; append: Append },
  input: { message: Message; status: string; errorCode: number | undefined; messageSid: string },
): Promise<StatusReceipt> {
  const { message, status, errorCode } = input;
  const { storage } = deps;
  const now = deps.clock.now();
  const details = {
    message_id: message.id,
    journey_id: message.journeyId,
    step_id: message.stepId,
    provider_message_id: input.messageSid,
  };
  if (status === 'delivered') {
    if (!(await storage.messages.markFirst(message.id, 'delivered_at', now))) return 'already_recorded';
    if (isTestSend(message)) return 'delivered';
    await appendProfileEvent(deps, {
      workspaceId: message.workspaceId,
      profileId: message.profileId,
      name: SMS_DELIVERED,
      messageId: `sms_delivered:${message.id}`,
      properties: details,
    });
    return 'delivered';
  }
  if (status !== 'undelivered' && status !== 'failed') return 'not_final';
  // The number the text went to: kept on the message before the provider was called.
  const address = message.toAddress ?? message.context.sms?.to;
  const reason =
    errorCode === RECIPIENT_UNSUBSCRIBED
      ? 'unsubscribed'
      : errorCode !== undefined && NUMBER_TAKES_NO_TEXTS.has(errorCode)
        ? 'hard_bounce'
        : undefined;
  const suppressedAs = reason !== undefined && address !== undefined ? reason : null;
  if (suppressedAs && address)
    await storage.consent.suppress({
      workspaceId: message.workspaceId,
      channel: 'sms',
      address,
      reason: suppressedAs,
      at: now,
    });
  if (!(await storage.messages.markFirst(message.id, 'bounced_at', now))) return 'already_recorded';
  if (isTestSend(message)) return 'undelivered';
  await appendProfileEvent(deps, {
    workspaceId: message.workspaceId,
    profileId: message.profileId,
    name: SMS_DELIVERY_FAILED,
    messageId: `sms_delivery_failed:${message.id}`,
    properties: { ...details, status, error_code: errorCode ?? null, suppressed_as: suppressedAs },
  });
  return 'undelivered';
}
