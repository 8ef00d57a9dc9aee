import { createHmac, timingSafeEqual } from 'node:crypto';
import { normalisePhoneNumber } from '../../core/phone-number.js';
import { isUniqueViolation } from '../../storage/driver-errors.js';
import type { ConsentStore, Storage } from '../../storage/storage.js';
import { recordSmsConsentEvents, recordSmsReply } from './consent-events.js';

/** The carrier keywords (CTIA, and Twilio's defaults), matched against the whole message. */
const OPT_OUT = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPTOUT', 'REVOKE']);
const OPT_IN = new Set(['START', 'YES', 'UNSTOP']);
const HELP = new Set(['HELP', 'INFO']);
/**
 * Opt-out words that mean nothing else, honoured within a short reply too ("Stop please", "please
 * unsubscribe me"): a contact revokes consent by any reasonable means. END, QUIT and CANCEL only
 * count alone ("end of the day works").
 */
const PLAIN_OPT_OUT = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'OPTOUT', 'REVOKE']);
const SHORT_REPLY_WORDS = 4;
/** What Twilio's Advanced Opt-Out says a message was, when it is on. */
const PROVIDER_OUTCOMES: Record<string, 'opt-out' | 'opt-in' | 'help'> = {
  STOP: 'opt-out',
  START: 'opt-in',
  HELP: 'help',
};

export const DEFAULT_HELP_TEXT = 'Reply STOP to unsubscribe, START to subscribe again.';

/**
 * Checks `X-Twilio-Signature`: base64 HMAC-SHA1, with the account's auth token, of the URL the provider
 * called followed by every form parameter's name and value, sorted by name (see `twilioSignature`). Twilio signs the URL with
 * the scheme's default port written out (`https://host:443/…`) or left off, whichever way it reached
 * it, so a signature over either form is taken.
 */
export function isTwilioSignatureValid(input: {
  authToken: string;
  url: string;
  params: URLSearchParams;
  signature: string | undefined;
}): boolean {
  const { signature } = input;
  if (!signature) return false;
  const given = Buffer.from(signature);
  // Every form is checked, so the time taken does not say which one matched.
  return urlForms(input.url)
    .map((url) => {
      const expected = Buffer.from(twilioSignature(input.authToken, url, input.params));
      return given.length === expected.length && timingSafeEqual(given, expected);
    })
    .includes(true);
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/**
 * A URL as written, and with its scheme's default port written out or left off. Done on the text, not
 * with `URL`, which drops a default port and may re-encode the path the provider signed as it was.
 */
function urlForms(url: string): string[] {
  const match = /^(https?:)(\/\/[^/?#]*?)(:\d*)?([/?#].*)?$/i.exec(url);
  const scheme = match?.[1]?.toLowerCase();
  const port = scheme ? DEFAULT_PORTS[scheme] : undefined;
  if (!match || !port) return [url];
  const [, written, host, hostPort, rest = ''] = match;
  if (hostPort === undefined) return [url, `${written}${host}:${port}${rest}`];
  return hostPort === `:${port}` ? [url, `${written}${host}${rest}`] : [url];
}

/**
 * Twilio's signature of a request: the URL, then each parameter's name and value, sorted by name. A
 * name given more than once comes with each of its values, sorted and each once, as Twilio's helper
 * libraries sign and check it (twilio-node's `getExpectedTwilioSignature`, twilio-python's
 * `compute_signature`): the order a form lists them in is not signed.
 */
export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const names = [...new Set(params.keys())].sort();
  const data = names.reduce(
    (text, name) =>
      text +
      [...new Set(params.getAll(name))]
        .sort()
        .map((value) => name + value)
        .join(''),
    url,
  );
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

export type InboundOutcome = 'opted_out' | 'opted_in' | 'help' | 'other' | 'already_handled' | 'not_sms';

/**
 * Words that turn a following opt-out word around ("don't stop", "can't stop laughing", "never stop").
 * Not "no": "No, stop" is a contact saying no and stop twice over.
 */
const NEGATIONS = new Set([
  'DONT',
  'DOESNT',
  'DIDNT',
  'CANT',
  'CANNOT',
  'WONT',
  'WOULDNT',
  'COULDNT',
  'SHOULDNT',
  'ISNT',
  'AINT',
  'NOT',
  'NEVER',
]);

type Keyword = 'opt-out' | 'opt-in' | 'help' | 'other';

/**
 * What a text asks for: the provider's own reading when it gives one (`OptOutType`), else its words,
 * in any case and width, with punctuation and emoji around or between them ignored ("Stop.", "STOP
 * ALL", "opt-out", "ＳＴＯＰ"). Each line is read alone too, as phones add signatures below and people
 * put a STOP under what they say ("Wrong number, who is this?⏎STOP"); an opt-out any reading finds
 * wins, as a contact revokes consent by any reasonable means. A START or HELP counts on the first line.
 */
export function inboundKeyword(body: string, providerOutcome?: string): Keyword {
  const fromProvider = providerOutcome ? PROVIDER_OUTCOMES[providerOutcome.toUpperCase()] : undefined;
  if (fromProvider) return fromProvider;
  const text = body.normalize('NFKC').toUpperCase();
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const readings = [keywordIn(text), ...lines.map(keywordIn)];
  if (readings.includes('opt-out')) return 'opt-out';
  return [keywordIn(lines[0] ?? ''), keywordIn(text)].find((reading) => reading !== 'other') ?? 'other';
}

/**
 * A text that is one keyword and nothing else, as the provider's own keyword handling reads it (Twilio
 * answers single-word texts only, whatever their case).
 */
function isBareKeyword(body: string): boolean {
  const word = body.trim().toUpperCase();
  return OPT_OUT.has(word) || OPT_IN.has(word) || HELP.has(word);
}

/**
 * The opt-out or opt-in word a text said (`STOP`, `STOPALL`, `OPTOUT`, `START`, …), upper-cased, or the
 * provider's reading when it gave one: what the contact used, for the event on their profile.
 */
function keywordSaid(body: string, providerOutcome?: string): string | undefined {
  const fromProvider = providerOutcome?.toUpperCase();
  if (fromProvider && PROVIDER_OUTCOMES[fromProvider]) return fromProvider;
  const words = body
    .normalize('NFKC')
    .toUpperCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word !== '');
  const whole = words.join('');
  if (OPT_OUT.has(whole) || OPT_IN.has(whole)) return whole;
  if (words.some((word, index) => word === 'OPT' && words[index + 1] === 'OUT')) return 'OPTOUT';
  // A line that is a keyword alone ("END" under a question).
  const lineAlone = body
    .normalize('NFKC')
    .toUpperCase()
    .split(/\r?\n/)
    .map((line) => line.replace(/[^\p{L}\p{N}]+/gu, ''))
    .find((line) => OPT_OUT.has(line));
  return lineAlone ?? words.find((word) => PLAIN_OPT_OUT.has(word));
}

function keywordIn(text: string): Keyword {
  const words = text.split(/[^\p{L}\p{N}]+/u).filter((word) => word !== '');
  const whole = words.join('');
  if (OPT_OUT.has(whole)) return 'opt-out';
  if (OPT_IN.has(whole)) return 'opt-in';
  if (HELP.has(whole)) return 'help';
  // "OPT OUT" is one word; "DON'T", "CAN'T" come apart at their apostrophe.
  const spoken: string[] = [];
  for (const word of words) {
    const previous = spoken.at(-1);
    if (word === 'OUT' && previous === 'OPT') spoken[spoken.length - 1] = 'OPTOUT';
    else if (word === 'T' && previous?.endsWith('N')) spoken[spoken.length - 1] = `${previous}T`;
    else spoken.push(word);
  }
  const optOuts = spoken.filter(
    (word, index) => PLAIN_OPT_OUT.has(word) && !NEGATIONS.has(spoken[index - 1] ?? ''),
  );
  if (optOuts.length === 0) return 'other';
  // "STOP STOP STOP": said again and again, it is still all it says.
  if (spoken.length <= SHORT_REPLY_WORDS || optOuts.length === spoken.length) return 'opt-out';
  return 'other';
}

const E164 = /^\+[1-9]\d{6,14}$/;
/**
 * A sender on another channel the provider carries to the same webhook: Twilio writes WhatsApp's as
 * `whatsapp:+39…` (Messenger's, RCS's alike), where a text's sender is a bare number.
 */
const OTHER_CHANNEL_SENDER = /^[a-z][a-z0-9+.-]*:/i;

/**
 * Acts on a text a contact sent: STOP (and its synonyms) suppresses the number for SMS, START lifts
 * that opt-out (never a complaint), HELP asks for the help text. Answers what happened and what to reply.
 * A text whose provider id was seen before is not acted on again, nor answered: the provider retrying,
 * or someone replaying a captured request (an old START after a later STOP). A message from another
 * channel (`whatsapp:+39…`) changes nothing and is not answered: Mops sends no WhatsApp, so there is no
 * consent of that channel to record, and a STOP there says nothing about texts to the same number.
 * A keyword the provider read itself (`optOutType`, sent by Twilio's Advanced Opt-Out) is acted on
 * and not answered: the provider has already replied with the text set up there.
 */
export async function handleInboundSms(input: {
  storage: Storage;
  workspaceId: string;
  from: string;
  body: string;
  /** The provider's id for the text (Twilio's `MessageSid`), when it sends one. */
  messageSid?: string | undefined;
  /** Twilio's `OptOutType` (STOP, START, HELP), sent when its Advanced Opt-Out is on. */
  optOutType?: string | undefined;
  helpText: string;
  /** The provider has replied to a keyword sent alone (see `SmsSettings.providerAnswersKeywords`). */
  providerAnswersKeywords?: boolean;
  at: number;
}): Promise<{ outcome: InboundOutcome; reply: string | undefined; address: string | undefined }> {
  // A STOP is honoured whatever the number: one the phone-number data does not know (yet) is kept as
  // the provider wrote it, in E.164 form, and matches once the data learns it.
  const trimmed = input.from.trim();
  // The phone-number parser would read the number inside `whatsapp:+39…` as an SMS sender.
  if (OTHER_CHANNEL_SENDER.test(trimmed)) return { outcome: 'not_sms', reply: undefined, address: undefined };
  const address = normalisePhoneNumber(trimmed) ?? (E164.test(trimmed) ? trimmed : undefined);
  if (!address) return { outcome: 'other', reply: undefined, address };
  // Two first texts from one number at once, on PostgreSQL, both make its contact: the one that
  // loses finds the other's on its second try.
  try {
    return await actOnTextOnce(input, address);
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return actOnTextOnce(input, address);
  }
}

function actOnTextOnce(
  input: Parameters<typeof handleInboundSms>[0],
  address: string,
): Promise<{ outcome: InboundOutcome; reply: string | undefined; address: string | undefined }> {
  return input.storage.transaction(async (tx) => {
    const { workspaceId, messageSid, at } = input;
    if (messageSid && !(await tx.consent.noteInboundText({ workspaceId, messageSid, from: address, at })))
      return { outcome: 'already_handled', reply: undefined, address };
    const acted = await actOnText(tx.consent, { ...input, address });
    if (acted.outcome === 'opted_out' || acted.outcome === 'opted_in')
      await recordSmsConsentEvents(tx, {
        workspaceId,
        address,
        isOptOut: acted.outcome === 'opted_out',
        keyword: keywordSaid(input.body, input.optOutType),
        messageSid,
        at,
      });
    // A reply, whatever else it does: YES is the carriers' opt-in keyword, and also what "Reply YES
    // to confirm" asks for. Not a STOP (the contact wants no more of this) nor a HELP.
    if ((acted.outcome === 'other' || acted.outcome === 'opted_in') && input.body.trim() !== '')
      await recordSmsReply(tx, { workspaceId, address, body: input.body, messageSid, at });
    const isAnsweredByProvider =
      (input.optOutType !== undefined && PROVIDER_OUTCOMES[input.optOutType.toUpperCase()] !== undefined) ||
      (input.providerAnswersKeywords === true && isBareKeyword(input.body));
    return isAnsweredByProvider ? { ...acted, reply: undefined } : acted;
  });
}

async function actOnText(
  consent: ConsentStore,
  input: {
    workspaceId: string;
    address: string;
    body: string;
    optOutType?: string | undefined;
    helpText: string;
    at: number;
  },
): Promise<{ outcome: InboundOutcome; reply: string | undefined; address: string }> {
  const { workspaceId, address, at } = input;
  const keyword = inboundKeyword(input.body, input.optOutType);
  if (keyword === 'opt-out') {
    await consent.suppress({ workspaceId, channel: 'sms', address, reason: 'unsubscribed', at });
    return {
      outcome: 'opted_out',
      reply: 'You are unsubscribed and will get no more messages from us. Reply START to subscribe again.',
      address,
    };
  }
  if (keyword === 'opt-in') {
    await consent.unsuppress({ workspaceId, channel: 'sms', address, reason: 'unsubscribed' });
    // The START lifts the contact's own STOP only: a block it does not lift (an admin's hand, a
    // number reported undeliverable) still holds every text, and the reply must not promise any.
    const stillHeld = await consent.findSuppression(workspaceId, 'sms', address);
    return {
      outcome: 'opted_in',
      reply:
        stillHeld === undefined
          ? 'You are subscribed again. Reply STOP to unsubscribe.'
          : 'We got your START, but texts to this number are on hold. Please contact us to have them resumed.',
      address,
    };
  }
  if (keyword === 'help') return { outcome: 'help', reply: input.helpText, address };
  return { outcome: 'other', reply: undefined, address };
}

/** A TwiML answer: one reply message, or none. */
export function twiml(reply: string | undefined): string {
  const escaped = reply?.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${escaped === undefined ? '' : `<Message>${escaped}</Message>`}</Response>`;
}
