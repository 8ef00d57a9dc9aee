import { z } from 'zod';
import { PositiveDuration } from './duration.js';
import { HandOffSettings } from './hand-off.js';
import { LifecycleSettings } from './lifecycle.js';
import { isTimeZone, LocalTime } from './local-time.js';
import { ScoreModel } from './score-model.js';
import { isSmsSender, normalisedSender } from './sms-sender.js';
import { TRANSACTIONAL_TOPIC } from './topic-consent.js';

export const SmtpSettings = z.object({
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535).default(587),
  /**
   * `implicit`: TLS from the first byte (port 465). `starttls`: upgrade with STARTTLS, and refuse to send
   * if the server does not offer it. `opportunistic`: STARTTLS when offered. `none`: never (a local relay).
   */
  tls: z.enum(['implicit', 'starttls', 'opportunistic', 'none']).default('opportunistic'),
  /** Check the server's certificate; turn off only for a relay with a self-signed certificate. */
  verifyCertificate: z.boolean().default(true),
  user: z.string().max(255).optional(),
  /** Write-only: kept encrypted with MOPS_SECRET, never returned by the API. */
  password: z.string().max(1024).optional(),
  from: z.string().min(3).max(320),
  replyTo: z.string().max(320).optional(),
  /** Connections kept open to the server. */
  pool: z.number().int().min(1).max(50).default(8),
});
export type SmtpSettings = z.infer<typeof SmtpSettings>;

/** A Twilio-compatible SMS provider (Twilio itself, or any service speaking its Messages API). */
export const SmsSettings = z.object({
  /** The API's origin; another provider speaking the same API, or a local stand-in, goes here. */
  baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.twilio.com'),
  /**
   * Twilio's `AC…`, another provider's project id (SignalWire's is a UUID): a path segment of the API
   * and the user of its Basic auth, so letters, digits, `-` and `_` only — no `..`, `/` or `:`.
   */
  accountSid: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be the account SID the provider gives: letters, digits, - or _'),
  /**
   * Write-only: kept encrypted with MOPS_SECRET; also checks the signature of inbound messages. Trimmed:
   * a token pasted with a newline or space around it would fail Basic auth and every signature.
   */
  authToken: z.string().trim().min(1).max(256).optional(),
  /** The sender (see `isSmsSender`): a number, a short code, an alphanumeric sender ID or a messaging service SID. */
  from: z.preprocess(
    (value) => (typeof value === 'string' ? normalisedSender(value) : value),
    z
      .string()
      .refine(
        isSmsSender,
        'must be an E.164 number, a short code, an alphanumeric sender ID (up to 11 letters, digits and spaces) or a messaging service SID',
      ),
  ),
  /** The reply to HELP or INFO. */
  helpText: z.string().min(1).max(320).optional(),
  /**
   * Texts go out with curly quotes, dashes and odd spaces put as their GSM-7 look-alikes (Twilio's
   * Smart Encoding, done by Mops for any provider), so copy pasted from a document is not billed as
   * UCS-2. On unless turned off, as on Twilio's messaging services.
   */
  smartEncoding: z.boolean().default(true),
  /**
   * The provider replies itself to a keyword sent alone (STOP, START, HELP and their synonyms): Twilio
   * does by default on long codes and toll-free numbers, without Advanced Opt-Out. Mops then acts on
   * such a text without replying, or the contact would get two answers; a reply the provider does not
   * read ("Stop please") still gets Mops's.
   */
  providerAnswersKeywords: z.boolean().default(false),
  /**
   * Allow a provider on loopback or a private network (a gateway of your own, a local stand-in). Off
   * by default, as for webhooks: the provider's address cannot be used to reach internal services.
   */
  allowPrivateNetworks: z.boolean().default(false),
});
export type SmsSettings = z.infer<typeof SmsSettings>;

/** At most `max` messages in any `period` (a period of nothing would count nothing: no cap at all). */
/** Refuses a list naming an id twice, at the second one (`topics.2.id`). */
function eachIdOnce(items: ReadonlyArray<{ id: string }>, context: z.RefinementCtx): void {
  const seen = new Set<string>();
  for (const [index, item] of items.entries()) {
    if (seen.has(item.id))
      context.addIssue({ code: 'custom', path: [index, 'id'], message: `${item.id} is used twice` });
    seen.add(item.id);
  }
}

export const FrequencyCap = z.object({ max: z.number().int().min(1).max(1000), period: PositiveDuration });
export type FrequencyCap = z.infer<typeof FrequencyCap>;

export const Topic = z.object({
  id: z.string().regex(/^[a-z0-9_-]{1,64}$/, 'must be 1–64 lowercase letters, digits, - or _'),
  name: z.string().min(1).max(100),
  /** Contacts are subscribed until they unsubscribe (true), or only once they subscribe (false). */
  defaultSubscribed: z.boolean().default(true),
});
export type Topic = z.infer<typeof Topic>;

export const WebhookDestination = z.object({
  id: z.string().regex(/^[a-z0-9_-]{1,64}$/, 'must be 1–64 lowercase letters, digits, - or _'),
  /** Base URL; a journey step may add a path to it, never change its origin. */
  url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    // Credentials in a URL would be stored in the clear and shown wherever the address is (and are
    // not sent by the HTTP client anyway): they belong in the encrypted headers.
    .refine(
      (url) => {
        // Zod runs this after a failed check above too: what is no URL at all is that check's to name.
        if (!URL.canParse(url)) return true;
        const parsed = new URL(url);
        return parsed.username === '' && parsed.password === '';
      },
      {
        message: 'must not hold a user name or password: send credentials as a header (headers)',
        params: { reason: 'url_credentials' },
      },
    ),
  /** Kept encrypted with MOPS_SECRET. */
  secret: z
    .string()
    .min(16)
    .max(256)
    .nullish()
    .describe(
      'Write-only: signs every call (Mops-Signature). Left out, the stored one is kept (for the same URL); null removes it, and calls go unsigned',
    ),
  /**
   * Write-only, like the secret: headers sent with every call (e.g. the receiver's API key), kept
   * encrypted; the API shows their names only (`headerNames`), and leaving them out keeps the stored ones
   * (for the same origin; see `saveSettings`).
   */
  headers: z
    .record(
      z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a header name'),
      // What HTTP lets a header value hold: no line breaks, control or non-ASCII characters.
      z
        .string()
        .max(2000)
        .regex(/^[\x20-\x7e\t]*$/, 'must hold only printable ASCII characters (no line breaks)'),
    )
    .optional(),
});
export type WebhookDestination = z.infer<typeof WebhookDestination>;

export const WebhookSettings = z.object({
  /** The only places webhooks may call: steps name one of these. */
  destinations: z.array(WebhookDestination).max(100).default([]).superRefine(eachIdOnce),
  /**
   * Calls to loopback, private, link-local and other non-public addresses are refused unless this is
   * on (a receiver on the same private network).
   */
  allowPrivateNetworks: z.boolean().default(false),
  timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  /** Attempts before a call goes to the dead-letter list (back-off doubles from 30 s, up to an hour). */
  maxAttempts: z.number().int().min(1).max(20).default(8),
});
export type WebhookSettings = z.infer<typeof WebhookSettings>;

/** A workspace's messaging settings; everything has a working default except the SMTP server. */
export const WorkspaceSettings = z.object({
  /** IANA zone for profiles without a `timezone` trait. */
  timezone: z
    .string()
    .refine((zone) => isTimeZone(zone), 'must be an IANA time zone, e.g. Europe/Rome')
    .default('UTC'),
  smtp: SmtpSettings.optional(),
  /**
   * Per channel, caps on how many messages one contact receives: each `{ max, period }` must hold
   * (e.g. 3 a day and 10 a week). Transactional and test messages are neither counted nor capped.
   */
  sms: SmsSettings.optional(),
  frequencyCaps: z
    .object({
      email: z
        .array(FrequencyCap)
        .max(5)
        .default([{ max: 3, period: '1d' }]),
      sms: z
        .array(FrequencyCap)
        .max(5)
        .default([{ max: 1, period: '1d' }]),
    })
    .default({ email: [{ max: 3, period: '1d' }], sms: [{ max: 1, period: '1d' }] }),
  /** No marketing e-mail or SMS between `start` and `end`, in the contact's time zone. */
  quietHours: z.object({ start: LocalTime, end: LocalTime }).nullable().default(null),
  topics: z
    .array(Topic)
    .min(1)
    .superRefine(eachIdOnce)
    .default([
      { id: 'marketing', name: 'Marketing', defaultSubscribed: true },
      { id: TRANSACTIONAL_TOPIC, name: 'Transactional', defaultSubscribed: true },
    ]),
  webhooks: WebhookSettings.default({
    destinations: [],
    allowPrivateNetworks: false,
    timeoutMs: 10_000,
    maxAttempts: 8,
  }),
  /** Score models: every event is scored against each as it arrives, into each profile's ledger. */
  scoring: z
    .object({
      models: z.array(ScoreModel).max(20).default([]).superRefine(eachIdOnce),
    })
    .default({ models: [] }),
  /** Lifecycle stages and what moves profiles along them; without it, no stages are kept. */
  lifecycle: LifecycleSettings.optional(),
  /** The sales hand-off on reaching a stage (MQL by default); needs `lifecycle`. */
  handOff: HandOffSettings.optional(),
});
export type WorkspaceSettings = z.infer<typeof WorkspaceSettings>;

/** The topic of test sends: never counted against caps, and unsubscribing from one changes nothing. */
export const TEST_TOPIC = 'test';
