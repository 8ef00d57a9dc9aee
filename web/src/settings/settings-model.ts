import { isSmsSender, normalisedSender } from '../../../src/core/sms-sender.js';
import { ApiError } from '../app/api.js';

/** `GET /api/workspaces/{ws}/settings` as this screen reads it; the parts it does not edit are sent back untouched. */
export interface SettingsView {
  timezone: string;
  smtp?: SmtpView;
  sms?: SmsView;
  webhooks?: WebhooksView;
  frequencyCaps: { email: FrequencyCap[]; sms: FrequencyCap[] };
  quietHours: { start: string; end: string } | null;
  topics: Topic[];
  /** Whether this server calls loopback or private networks at all (MOPS_ALLOW_PRIVATE_NETWORKS). */
  serverAllowsPrivateNetworks?: boolean;
  [other: string]: unknown;
}

export type SmtpSecurity = 'implicit' | 'starttls' | 'opportunistic' | 'none';
export const SMTP_SECURITY: readonly SmtpSecurity[] = ['opportunistic', 'starttls', 'implicit', 'none'];

export interface SmtpView {
  host: string;
  port: number;
  tls: SmtpSecurity;
  verifyCertificate: boolean;
  user?: string;
  from: string;
  replyTo?: string;
  pool: number;
  hasPassword: boolean;
}

export interface SmsView {
  baseUrl: string;
  accountSid: string;
  from: string;
  helpText?: string;
  allowPrivateNetworks?: boolean;
  smartEncoding?: boolean;
  providerAnswersKeywords?: boolean;
  hasAuthToken: boolean;
  /** Where the provider posts incoming texts (STOP, START, HELP), under the server's public URL. */
  inboundUrl?: string;
}

export interface Topic {
  id: string;
  name: string;
  defaultSubscribed: boolean;
}

export interface FrequencyCap {
  max: number;
  period: string;
}

/** What went wrong with a field: a known problem (translated by the page) or the server's own words. */
export type Problem = { key: ProblemKey } | { message: string };
export type ProblemKey =
  | 'required'
  | 'port'
  | 'address'
  | 'url'
  | 'phone'
  | 'topicId'
  | 'duplicate'
  | 'atLeastOneTopic'
  | 'capMax'
  | 'amount'
  | 'time'
  | 'timezone'
  | 'sameTimes'
  | 'tooShort'
  | 'mismatch'
  | 'unchanged'
  | 'secretLength'
  | 'headerLine'
  | 'timeoutMs'
  | 'attempts';
/** Problems by the dotted path the server would name (`smtp.port`, `topics.2.id`). */
export type FieldErrors = Record<string, Problem>;

const required = (value: string) => value.trim() === '';
const problem = (key: ProblemKey): Problem => ({ key });
const optional = (value: string) => (value.trim() === '' ? undefined : value.trim());

/** A document with the part under `key` replaced (or removed, for undefined), the others kept. */
export function withPart<K extends string>(settings: SettingsView, key: K, value: unknown): SettingsView {
  const { [key]: _previous, ...rest } = settings;
  return (value === undefined ? rest : { ...rest, [key]: value }) as SettingsView;
}

/**
 * The server's complaint about one of `prefixes` (`smtp`, `topics`…) as a field error, with the path
 * it repeats at the front of its message taken off; undefined when it is about something else.
 */
export function serverFieldErrors(error: unknown, prefixes: readonly string[]): FieldErrors | undefined {
  if (!(error instanceof ApiError) || ![400, 409].includes(error.status) || !error.field) return undefined;
  const field = error.field;
  if (!prefixes.some((prefix) => field === prefix || field.startsWith(`${prefix}.`))) return undefined;
  const message = error.message.startsWith(`${field}: `)
    ? error.message.slice(field.length + 2)
    : error.message;
  return { [field]: { message } };
}

// --- SMTP ---------------------------------------------------------------------------------------

export interface SmtpForm {
  host: string;
  port: string;
  tls: SmtpSecurity;
  verifyCertificate: boolean;
  user: string;
  /** Blank keeps the stored password. */
  password: string;
  from: string;
  replyTo: string;
}

export function smtpForm(view: SmtpView | undefined): SmtpForm {
  return {
    host: view?.host ?? '',
    port: String(view?.port ?? 587),
    tls: view?.tls ?? 'opportunistic',
    verifyCertificate: view?.verifyCertificate ?? true,
    user: view?.user ?? '',
    password: '',
    from: view?.from ?? '',
    replyTo: view?.replyTo ?? '',
  };
}

export function validateSmtp(form: SmtpForm): FieldErrors {
  const errors: FieldErrors = {};
  if (required(form.host)) errors['smtp.host'] = problem('required');
  if (!isWholeNumberIn(form.port, 1, 65_535)) errors['smtp.port'] = problem('port');
  if (required(form.from)) errors['smtp.from'] = problem('required');
  else if (!looksLikeAddress(form.from)) errors['smtp.from'] = problem('address');
  if (!required(form.replyTo) && !looksLikeAddress(form.replyTo)) errors['smtp.replyTo'] = problem('address');
  return errors;
}

/** The `smtp` part to save: the password only when one was typed (leaving it out keeps the stored one). */
export function smtpSettings(form: SmtpForm, previous: SmtpView | undefined) {
  return {
    host: form.host.trim(),
    port: Number(form.port),
    tls: form.tls,
    verifyCertificate: form.verifyCertificate,
    user: optional(form.user),
    password: form.password === '' ? undefined : form.password,
    from: form.from.trim(),
    replyTo: optional(form.replyTo),
    pool: previous?.pool ?? 8,
  };
}

// --- SMS ----------------------------------------------------------------------------------------

export interface SmsForm {
  baseUrl: string;
  accountSid: string;
  /** Blank keeps the stored token. */
  authToken: string;
  from: string;
  helpText: string;
  /** A provider on loopback or a private network (a gateway of your own); the server must allow it too. */
  allowPrivateNetworks: boolean;
  /** Curly quotes, dashes and odd spaces sent as their GSM-7 look-alikes. */
  smartEncoding: boolean;
  /** The provider replies to STOP, START and HELP sent alone itself (Twilio's default): Mops does not. */
  providerAnswersKeywords: boolean;
}

export const DEFAULT_SMS_BASE_URL = 'https://api.twilio.com';

export function smsForm(view: SmsView | undefined): SmsForm {
  return {
    baseUrl: view?.baseUrl ?? DEFAULT_SMS_BASE_URL,
    accountSid: view?.accountSid ?? '',
    authToken: '',
    from: view?.from ?? '',
    helpText: view?.helpText ?? '',
    allowPrivateNetworks: view?.allowPrivateNetworks ?? false,
    smartEncoding: view?.smartEncoding ?? true,
    providerAnswersKeywords: view?.providerAnswersKeywords ?? false,
  };
}

export function validateSms(form: SmsForm): FieldErrors {
  const errors: FieldErrors = {};
  if (!isHttpUrl(form.baseUrl.trim())) errors['sms.baseUrl'] = problem('url');
  if (required(form.accountSid)) errors['sms.accountSid'] = problem('required');
  if (required(form.from)) errors['sms.from'] = problem('required');
  // Spaces, dashes and brackets in a number are fine: the server keeps it in E.164.
  else if (!isSmsSender(normalisedSender(form.from))) errors['sms.from'] = problem('phone');
  return errors;
}

export function smsSettings(form: SmsForm) {
  return {
    baseUrl: form.baseUrl.trim(),
    accountSid: form.accountSid.trim(),
    authToken: form.authToken === '' ? undefined : form.authToken,
    from: form.from.trim(),
    helpText: optional(form.helpText),
    allowPrivateNetworks: form.allowPrivateNetworks,
    smartEncoding: form.smartEncoding,
    providerAnswersKeywords: form.providerAnswersKeywords,
  };
}

// --- Webhooks -----------------------------------------------------------------------------------

export interface WebhookDestinationView {
  id: string;
  url: string;
  hasSecret: boolean;
  headerNames: string[];
}

export interface WebhooksView {
  destinations: WebhookDestinationView[];
  allowPrivateNetworks: boolean;
  timeoutMs: number;
  maxAttempts: number;
}

export interface DestinationForm {
  id: string;
  url: string;
  /** Blank keeps the stored secret (for the same address). */
  secret: string;
  /** Removes the stored secret, whatever `secret` holds. */
  removeSecret: boolean;
  /** `Name: value` per line; blank keeps the stored headers (for the same address). */
  headers: string;
  /** Removes the stored headers, whatever `headers` holds. */
  removeHeaders: boolean;
  hasSecret: boolean;
  headerNames: string[];
}

export interface WebhooksForm {
  destinations: DestinationForm[];
  allowPrivateNetworks: boolean;
  timeoutMs: string;
  maxAttempts: string;
}

export function webhooksForm(view: WebhooksView | undefined): WebhooksForm {
  return {
    destinations: (view?.destinations ?? []).map((destination) => ({
      id: destination.id,
      url: destination.url,
      secret: '',
      removeSecret: false,
      headers: '',
      removeHeaders: false,
      hasSecret: destination.hasSecret,
      headerNames: destination.headerNames,
    })),
    allowPrivateNetworks: view?.allowPrivateNetworks ?? false,
    timeoutMs: String(view?.timeoutMs ?? 10_000),
    maxAttempts: String(view?.maxAttempts ?? 8),
  };
}

export function newDestination(): DestinationForm {
  return {
    id: '',
    url: '',
    secret: '',
    removeSecret: false,
    headers: '',
    removeHeaders: false,
    hasSecret: false,
    headerNames: [],
  };
}

const DESTINATION_ID = /^[a-z0-9_-]{1,64}$/;
const HEADER_LINE = /^([A-Za-z0-9-]{1,64})\s*:\s*([\x20-\x7e\t]*)$/;

/** `Name: value` lines as headers; undefined when a line is not one. */
export function parseHeaders(text: string): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const match = HEADER_LINE.exec(line.trim());
    if (!match) return undefined;
    headers[match[1] as string] = (match[2] as string).trim();
  }
  return headers;
}

export function validateWebhooks(form: WebhooksForm): FieldErrors {
  const errors: FieldErrors = {};
  const seen = new Set<string>();
  for (const [index, destination] of form.destinations.entries()) {
    const at = `webhooks.destinations.${index}`;
    if (!DESTINATION_ID.test(destination.id.trim())) errors[`${at}.id`] = problem('topicId');
    else if (seen.has(destination.id.trim())) errors[`${at}.id`] = problem('duplicate');
    seen.add(destination.id.trim());
    if (!isHttpUrl(destination.url.trim())) errors[`${at}.url`] = problem('url');
    const isTyped = destination.secret !== '' && !destination.removeSecret;
    if (isTyped && (destination.secret.length < 16 || destination.secret.length > 256))
      errors[`${at}.secret`] = problem('secretLength');
    if (!destination.removeHeaders && parseHeaders(destination.headers) === undefined)
      errors[`${at}.headers`] = problem('headerLine');
  }
  if (!isWholeNumberIn(form.timeoutMs, 100, 60_000)) errors['webhooks.timeoutMs'] = problem('timeoutMs');
  if (!isWholeNumberIn(form.maxAttempts, 1, 20)) errors['webhooks.maxAttempts'] = problem('attempts');
  return errors;
}

/**
 * The webhooks part to save: secrets and headers only where typed (blank keeps the stored ones),
 * `secret: null` for a secret to remove and `headers: {}` for headers to remove.
 */
export function webhooksSettings(form: WebhooksForm) {
  return {
    destinations: form.destinations.map((destination) => {
      const headers = parseHeaders(destination.headers) ?? {};
      return {
        id: destination.id.trim(),
        url: destination.url.trim(),
        ...(destination.removeSecret
          ? { secret: null }
          : destination.secret === ''
            ? {}
            : { secret: destination.secret }),
        ...(destination.removeHeaders
          ? { headers: {} }
          : Object.keys(headers).length === 0
            ? {}
            : { headers }),
      };
    }),
    allowPrivateNetworks: form.allowPrivateNetworks,
    timeoutMs: Number(form.timeoutMs),
    maxAttempts: Number(form.maxAttempts),
  };
}

// --- Topics -------------------------------------------------------------------------------------

const TOPIC_ID = /^[a-z0-9_-]{1,64}$/;

export function validateTopics(topics: readonly Topic[]): FieldErrors {
  const errors: FieldErrors = {};
  if (topics.length === 0) errors.topics = problem('atLeastOneTopic');
  const seen = new Set<string>();
  for (const [index, topic] of topics.entries()) {
    if (!TOPIC_ID.test(topic.id)) errors[`topics.${index}.id`] = problem('topicId');
    else if (seen.has(topic.id)) errors[`topics.${index}.id`] = problem('duplicate');
    seen.add(topic.id);
    if (required(topic.name)) errors[`topics.${index}.name`] = problem('required');
  }
  return errors;
}

/** An id made from a topic's name (`Product news` → `product-news`), which the user may change. */
export function topicIdFromName(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
}

// --- Sending limits: frequency caps, quiet hours, time zone --------------------------------------

export type PeriodUnit = 's' | 'm' | 'h' | 'd' | 'w';
export const PERIOD_UNITS: readonly PeriodUnit[] = ['m', 'h', 'd', 'w'];
export const CHANNELS = ['email', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];
export const MAX_CAPS_PER_CHANNEL = 5;

export interface CapForm {
  max: string;
  amount: string;
  unit: PeriodUnit;
}

export interface LimitsForm {
  timezone: string;
  hasQuietHours: boolean;
  quietStart: string;
  quietEnd: string;
  caps: Record<Channel, CapForm[]>;
}

/** `1.5h` → amount 1.5, unit h; a duration this screen cannot split shows as one day. */
export function capForm(cap: FrequencyCap): CapForm {
  const match = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(cap.period);
  return {
    max: String(cap.max),
    amount: match?.[1] ?? '1',
    unit: (match?.[2] as PeriodUnit | undefined) ?? 'd',
  };
}

export function limitsForm(view: SettingsView): LimitsForm {
  return {
    timezone: view.timezone,
    hasQuietHours: view.quietHours !== null,
    quietStart: view.quietHours?.start ?? '21:00',
    quietEnd: view.quietHours?.end ?? '08:00',
    caps: { email: view.frequencyCaps.email.map(capForm), sms: view.frequencyCaps.sms.map(capForm) },
  };
}

const LOCAL_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

export function validateLimits(form: LimitsForm, isTimeZone: (zone: string) => boolean): FieldErrors {
  const errors: FieldErrors = {};
  if (!isTimeZone(form.timezone.trim())) errors.timezone = problem('timezone');
  if (form.hasQuietHours) {
    if (!LOCAL_TIME.test(form.quietStart)) errors['quietHours.start'] = problem('time');
    if (!LOCAL_TIME.test(form.quietEnd)) errors['quietHours.end'] = problem('time');
    else if (form.quietStart === form.quietEnd) errors['quietHours.end'] = problem('sameTimes');
  }
  for (const channel of CHANNELS) {
    for (const [index, cap] of form.caps[channel].entries()) {
      const at = `frequencyCaps.${channel}.${index}`;
      if (!isWholeNumberIn(cap.max, 1, 1000)) errors[`${at}.max`] = problem('capMax');
      if (!/^\d+(\.\d+)?$/.test(cap.amount.trim()) || Number(cap.amount) <= 0)
        errors[`${at}.period`] = problem('amount');
    }
  }
  return errors;
}

export function limitsSettings(form: LimitsForm) {
  const caps = (channel: Channel): FrequencyCap[] =>
    form.caps[channel].map((cap) => ({ max: Number(cap.max), period: `${cap.amount.trim()}${cap.unit}` }));
  return {
    timezone: form.timezone.trim(),
    quietHours: form.hasQuietHours ? { start: form.quietStart, end: form.quietEnd } : null,
    frequencyCaps: { email: caps('email'), sms: caps('sms') },
  };
}

/** Whether this browser knows the IANA zone (the server checks the same way). */
export function isKnownTimeZone(zone: string): boolean {
  if (zone === '') return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

// --- Users and passwords ------------------------------------------------------------------------

export type Role = 'owner' | 'admin' | 'member';
export const ROLES: readonly Role[] = ['owner', 'admin', 'member'];
/** As `src/access/passwords.ts` requires. */
export const MIN_PASSWORD_LENGTH = 12;

export interface NewUserForm {
  email: string;
  name: string;
  password: string;
  role: Role;
}

export function validateNewUser(form: NewUserForm): FieldErrors {
  const errors: FieldErrors = {};
  if (required(form.email)) errors.email = problem('required');
  else if (!looksLikeAddress(form.email)) errors.email = problem('address');
  if (form.password.length < MIN_PASSWORD_LENGTH) errors.password = problem('tooShort');
  return errors;
}

export interface PasswordForm {
  currentPassword: string;
  newPassword: string;
  repeatPassword: string;
}

export function validatePassword(form: PasswordForm): FieldErrors {
  const errors: FieldErrors = {};
  if (form.currentPassword === '') errors.currentPassword = problem('required');
  if (form.newPassword.length < MIN_PASSWORD_LENGTH) errors.newPassword = problem('tooShort');
  else if (form.newPassword === form.currentPassword) errors.newPassword = problem('unchanged');
  if (form.repeatPassword !== form.newPassword) errors.repeatPassword = problem('mismatch');
  return errors;
}

// --- Shared checks ------------------------------------------------------------------------------

function isWholeNumberIn(value: string, min: number, max: number): boolean {
  if (!/^\d+$/.test(value.trim())) return false;
  const number = Number(value);
  return number >= min && number <= max;
}

/** `shop@example.com` or `Shop <shop@example.com>`; the SMTP server has the last word. */
function looksLikeAddress(value: string): boolean {
  const address = /<([^<>]+)>\s*$/.exec(value.trim())?.[1] ?? value.trim();
  return /^[^\s@<>]+@[^\s@<>]+$/.test(address);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
