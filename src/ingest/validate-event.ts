import { EVENT_TYPES, type EventType, type NewEvent, unnamedViewName } from '../core/event.js';
import { newId } from '../core/ids.js';
import { parseIsoDate } from '../core/iso-date.js';
import { findUnstorableText, isStorableText, MAX_JSON_DEPTH, storableText } from '../core/storable-text.js';
import { MAX_EVENT_BYTES, MAX_EVENT_NAME_LENGTH, MAX_ID_LENGTH } from './limits.js';
import { MAX_DECIMAL_PLACES } from './unstorable-numbers.js';

export type Validation =
  | { ok: true; event: NewEvent }
  | { ok: false; reason: string; field: string; messageId: string | null; payload: string };

export interface ValidateContext {
  workspaceId: string;
  receivedAt: number;
  /** The batch's `sentAt` (epoch ms), used when the event has none of its own. */
  batchSentAt: number | null;
  /** The batch's top-level `context`, merged under each event's own. */
  batchContext: Record<string, unknown> | undefined;
  /** The batch's top-level `integrations`, merged under each event's own as `batchContext` is. */
  batchIntegrations?: Record<string, unknown> | undefined;
  /** Path of the event in the request, e.g. `batch[3]`, prefixed to field names; '' for a single call. */
  path: string;
  /** Set by the single-call endpoints (`/v1/track` …): the endpoint decides the type. */
  forcedType?: EventType;
  /** The call's JSON text as sent, stored as the payload when validation changes nothing in it. */
  rawText?: string | undefined;
  /**
   * Whether the text it was parsed from may hold a number past what JSON holds (see
   * `mayHoldHugeNumbers`): parsed as Infinity, it would be stored as null, so it is looked for.
   */
  mayHoldHugeNumbers?: boolean;
  /**
   * Where the call's text holds a number with more decimal places than a database keeps (see
   * `findUnstorableNumbers`), as a path in the call: JSON.parse read it as 0 or near, so only the
   * text tells.
   */
  unstorableNumber?: string | undefined;
}

/**
 * Whether JSON text may hold a number JSON.parse makes Infinity (`1e400`, 309 digits): a cheap look
 * at the text, so that only such calls are walked to find it. A number stands after `:`, `[` or `,`,
 * which spares the ids ingest is full of (a UUID's `…4e512…` is no number).
 */
export function mayHoldHugeNumbers(text: string): boolean {
  return HUGE_NUMBER.test(text);
}

const HUGE_NUMBER = /[:[,]\s*-?(?:\d+(?:\.\d+)?[eE]\+?\d{3}|\d{309})/;

/** Thrown when an event breaks a limit: the whole request is refused, nothing stored. */
export class EventTooLargeError extends Error {
  readonly field: string;
  constructor(field: string, bytes: number) {
    super(
      `${field || 'event'} is ${Math.ceil(bytes / 1024)} KB, over the ${MAX_EVENT_BYTES / 1024} KB per-event limit`,
    );
    this.field = field;
  }
}

/**
 * Checks one Segment call and turns it into an event ready for the log. Hand-written rather than a
 * schema library: it runs for every event on the ingest hot path, and each failure must name its
 * field. Timestamps follow Segment: timestamp = receivedAt − (sentAt − originalTimestamp).
 */
export function validateEvent(raw: unknown, context: ValidateContext): Validation {
  const at = (name: string) => (context.path ? `${context.path}.${name}` : name);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    const payload = stringifyShallowEnough(raw);
    if (typeof payload !== 'string') return tooDeep(payload, context, null);
    checkSize(payload, context.path);
    return {
      ok: false,
      reason: 'event must be a JSON object',
      field: context.path || 'body',
      messageId: null,
      payload,
    };
  }
  const call = raw as Record<string, unknown>;
  let isChanged = false;
  if (context.forcedType && call.type !== context.forcedType) {
    call.type = context.forcedType;
    isChanged = true;
  }
  const suppliedMessageId = call.messageId;
  if (suppliedMessageId === undefined || suppliedMessageId === null || suppliedMessageId === '') {
    call.messageId = newId('msg', context.receivedAt);
    isChanged = true;
  }
  if (context.batchContext) {
    call.context = { ...context.batchContext, ...(isObject(call.context) ? call.context : {}) };
    isChanged = true;
  }
  if (context.batchIntegrations) {
    call.integrations = {
      ...context.batchIntegrations,
      ...(isObject(call.integrations) ? call.integrations : {}),
    };
    isChanged = true;
  }
  const payload =
    !isChanged && context.rawText !== undefined ? context.rawText : stringifyShallowEnough(call);
  if (typeof payload !== 'string') return tooDeep(payload, context, call.messageId);
  checkSize(payload, context.path);

  const reject = (reason: string, field: string): Validation => ({
    ok: false,
    reason: storableText(reason),
    field: storableText(at(field)),
    messageId: typeof call.messageId === 'string' && isStorableText(call.messageId) ? call.messageId : null,
    payload,
  });

  // JSON writes both as \u escapes; no database column takes them (PostgreSQL refuses even the
  // escape in jsonb), so the call is refused here, naming where, rather than failing its whole batch.
  // So is one nesting deeper than anything reading it later should have to follow.
  if (payload.includes('\\u') || hasMoreOpeningsThan(payload, MAX_JSON_DEPTH) || context.mayHoldHugeNumbers) {
    const unstorable = findUnstorableText(call, '', context.mayHoldHugeNumbers ? { numbers: 'finite' } : {});
    if (unstorable) return reject(`${at(unstorable.path)} ${unstorable.problem}`, unstorable.path);
  }
  if (context.unstorableNumber !== undefined) {
    return reject(
      `${at(context.unstorableNumber)} is a number too small or too precise to store (over ${MAX_DECIMAL_PLACES} decimal places)`,
      context.unstorableNumber,
    );
  }

  const type = call.type;
  if (typeof type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(type)) {
    return reject(
      type === undefined
        ? `type is required: one of ${EVENT_TYPES.join(', ')}`
        : `type ${JSON.stringify(type)} is not one of ${EVENT_TYPES.join(', ')}`,
      'type',
    );
  }
  const messageId = call.messageId;
  if (typeof messageId !== 'string' || messageId.length > MAX_ID_LENGTH) {
    return reject(`messageId must be a string of at most ${MAX_ID_LENGTH} characters`, 'messageId');
  }

  const userId = readId(call.userId);
  if (userId === INVALID)
    return reject(
      `userId must be a non-empty string of at most ${MAX_ID_LENGTH} characters, or a whole number below 2^53 (send a larger one as a string)`,
      'userId',
    );
  const anonymousId = readId(call.anonymousId);
  if (anonymousId === INVALID) {
    return reject(
      `anonymousId must be a non-empty string of at most ${MAX_ID_LENGTH} characters, or a whole number below 2^53 (send a larger one as a string)`,
      'anonymousId',
    );
  }
  if (type === 'alias') {
    if (userId === null)
      return reject('userId is required for alias: the id the user is known by from now on', 'userId');
    const previousId = readId(call.previousId);
    if (previousId === null || previousId === INVALID) {
      return reject('previousId is required for alias: a non-empty string or number', 'previousId');
    }
  } else if (userId === null && anonymousId === null) {
    return reject('userId or anonymousId is required', 'userId');
  }

  let name: string | null = null;
  if (type === 'track') {
    const isMissing = call.event === undefined || call.event === null || call.event === '';
    if (typeof call.event !== 'string' || call.event.trim() === '') {
      return reject(
        isMissing || typeof call.event === 'string'
          ? 'event is required for track: the name of the action, e.g. "Order Completed"'
          : 'event must be a string: the name of the action, e.g. "Order Completed"',
        'event',
      );
    }
    if (call.event.length > MAX_EVENT_NAME_LENGTH)
      return reject(`event must be at most ${MAX_EVENT_NAME_LENGTH} characters`, 'event');
    name = call.event;
  } else if (type === 'page' || type === 'screen') {
    if (call.name !== undefined && call.name !== null && typeof call.name !== 'string')
      return reject('name must be a string', 'name');
    // Analytics snippets send most pages without a name; counted under one name, they can still be
    // asked about in segments, scores and journeys (by path or URL in their properties).
    const named = typeof call.name === 'string' && call.name.trim() !== '';
    name = named ? cutAtCharacter(call.name as string, MAX_EVENT_NAME_LENGTH) : unnamedViewName(type);
  } else if (type === 'group') {
    const groupId = readId(call.groupId);
    if (groupId === null || groupId === INVALID)
      return reject('groupId is required for group: a non-empty string or number', 'groupId');
  }

  for (const field of ['properties', 'traits', 'context', 'integrations'] as const) {
    const value = call[field];
    if (value !== undefined && value !== null && !isObject(value))
      return reject(`${field} must be a JSON object`, field);
  }

  const times: Record<'timestamp' | 'originalTimestamp' | 'sentAt', number | null> = {
    timestamp: null,
    originalTimestamp: null,
    sentAt: null,
  };
  for (const field of ['timestamp', 'originalTimestamp', 'sentAt'] as const) {
    const value = call[field];
    if (value === undefined || value === null) continue;
    const parsed = typeof value === 'string' ? parseIsoDate(value) : Number.NaN;
    if (Number.isNaN(parsed))
      return reject(
        `${field} must be an ISO-8601 date-time that exists, e.g. 2026-11-23T09:30:00.000Z`,
        field,
      );
    times[field] = parsed;
  }
  const originalTimestamp = times.originalTimestamp ?? times.timestamp;
  const sentAt = times.sentAt ?? context.batchSentAt;
  const receivedAt = context.receivedAt;
  // Nothing happened after it was received: a clock running fast, with no sentAt to correct it by,
  // would otherwise put the event in the future, where rolling windows and scores do not count it yet.
  const timestamp = Math.min(
    receivedAt,
    originalTimestamp === null
      ? receivedAt
      : sentAt === null
        ? originalTimestamp
        : receivedAt - (sentAt - originalTimestamp),
  );

  return {
    ok: true,
    event: {
      workspaceId: context.workspaceId,
      messageId,
      type: type as EventType,
      name,
      userId,
      anonymousId,
      timestamp,
      originalTimestamp,
      sentAt,
      receivedAt,
      payload,
    },
  };
}

/** Parses a request-level `sentAt`; an unreadable one is ignored, as Segment does. */
export function parseSentAt(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const parsed = parseIsoDate(value);
  return Number.isNaN(parsed) ? null : parsed;
}

const INVALID = Symbol('invalid');

function readId(value: unknown): string | null | typeof INVALID {
  // Blank is no id: "  " would make one profile of every caller sending it.
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === ''))
    return null;
  // A whole number JSON.parse kept exactly: 9007199254740993 reads as …992, another user's id.
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && value.length <= MAX_ID_LENGTH) return value;
  return INVALID;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkSize(payload: string, field: string): void {
  // Most events are far below the limit; only measure bytes when characters alone might exceed it.
  if (payload.length * 3 <= MAX_EVENT_BYTES) return;
  const bytes = Buffer.byteLength(payload);
  if (bytes > MAX_EVENT_BYTES) throw new EventTooLargeError(field, bytes);
}

/**
 * The value as JSON text. One nested thousands of levels deep (it may still be small) overflows
 * JSON.stringify's stack: refused as too deep, naming where, like one over MAX_JSON_DEPTH, before
 * anything else walks it.
 */
function stringifyShallowEnough(value: unknown): string | { path: string; problem: string } {
  try {
    // undefined, a function: what JSON.parse would make of nothing.
    return JSON.stringify(value) ?? 'null';
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return findUnstorableText(value, '') ?? { path: '', problem: NESTED_TOO_DEEP_TO_KEEP };
  }
}

const NESTED_TOO_DEEP_TO_KEEP = 'is nested too deep to keep';

/** The rejection of a call too deep to turn into text: kept without its payload, which has none. */
function tooDeep(
  found: { path: string; problem: string },
  context: ValidateContext,
  messageId: unknown,
): Validation {
  const field = [context.path, found.path].filter(Boolean).join('.') || 'body';
  return {
    ok: false,
    reason: storableText(`${field} ${found.problem}`),
    field: storableText(field),
    messageId: typeof messageId === 'string' && isStorableText(messageId) ? messageId : null,
    payload: JSON.stringify({ note: `not kept: ${NESTED_TOO_DEEP_TO_KEEP}` }),
  };
}

/** At most `length` UTF-16 units, never half of a character (an emoji's surrogate pair) at the end. */
function cutAtCharacter(text: string, length: number): string {
  if (text.length <= length) return text;
  const last = text.charCodeAt(length - 1);
  const endsInHighSurrogate = last >= 0xd800 && last <= 0xdbff;
  return text.slice(0, endsInHighSurrogate ? length - 1 : length);
}

/**
 * Whether the JSON text opens more than `count` objects and arrays: only then can it nest deeper than
 * `count`, which most events are far from (a walk of every event would cost ingest more).
 */
function hasMoreOpeningsThan(json: string, count: number): boolean {
  let openings = 0;
  for (let index = 0; index < json.length; index++) {
    const code = json.charCodeAt(index);
    if ((code === 0x7b || code === 0x5b) && ++openings > count) return true;
  }
  return false;
}
