import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Storage } from '../../storage/storage.js';
import { normalisePhoneNumber } from './phone-number.js';

/** The carrier keywords (CTIA, and Twilio's defaults), matched against the whole message. */
const OPT_OUT = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPTOUT', 'REVOKE']);
const OPT_IN = new Set(['START', 'YES', 'UNSTOP']);
const HELP = new Set(['HELP', 'INFO']);

export const DEFAULT_HELP_TEXT = 'Reply STOP to unsubscribe, START to subscribe again.';

/**
 * Checks `X-Twilio-Signature`: base64 HMAC-SHA1, with the account's auth token, of the URL the provider
 * called followed by every form parameter's name and value, sorted by name.
 */
export function isTwilioSignatureValid(input: {
  authToken: string;
  url: string;
  params: URLSearchParams;
  signature: string | undefined;
}): boolean {
  if (!input.signature) return false;
  const expected = Buffer.from(twilioSignature(input.authToken, input.url, input.params));
  const given = Buffer.from(input.signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const names = [...new Set(params.keys())].sort();
  const data = names.reduce(
    (text, name) =>
      text +
      params
        .getAll(name)
        .map((value) => name + value)
        .join(''),
    url,
  );
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

export type InboundOutcome = 'opted_out' | 'opted_in' | 'help' | 'other';

/**
 * Acts on a text a contact sent: STOP (and its synonyms) suppresses the number for SMS, START lifts
 * that opt-out (never a complaint), HELP asks for the help text. Answers what happened and what to reply.
 */
export async function handleInboundSms(input: {
  storage: Storage;
  workspaceId: string;
  from: string;
  body: string;
  helpText: string;
  at: number;
}): Promise<{ outcome: InboundOutcome; reply: string | undefined; address: string | undefined }> {
  const address = normalisePhoneNumber(input.from);
  const keyword = input.body.trim().toUpperCase();
  const { storage, workspaceId, at } = input;
  if (!address) return { outcome: 'other', reply: undefined, address };
  if (OPT_OUT.has(keyword)) {
    await storage.consent.suppress({ workspaceId, channel: 'sms', address, reason: 'unsubscribed', at });
    return {
      outcome: 'opted_out',
      reply: 'You are unsubscribed and will get no more messages from us. Reply START to subscribe again.',
      address,
    };
  }
  if (OPT_IN.has(keyword)) {
    await storage.consent.unsuppress({ workspaceId, channel: 'sms', address, reason: 'unsubscribed' });
    return { outcome: 'opted_in', reply: 'You are subscribed again. Reply STOP to unsubscribe.', address };
  }
  if (HELP.has(keyword)) return { outcome: 'help', reply: input.helpText, address };
  return { outcome: 'other', reply: undefined, address };
}

/** A TwiML answer: one reply message, or none. */
export function twiml(reply: string | undefined): string {
  const escaped = reply?.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${escaped === undefined ? '' : `<Message>${escaped}</Message>`}</Response>`;
}
