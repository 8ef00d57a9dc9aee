import { AppError } from '../core/errors.js';
import type { EventType, NewEvent, RejectedEvent } from '../core/event.js';
import type { AppendResult, EventStore } from '../storage/storage.js';
import { batchElementRanges } from './batch-ranges.js';
import { MAX_BATCH_EVENTS } from './limits.js';
import {
  findUnstorableNumbers,
  type JsonPath,
  mayHoldOutOfRangeNumbers,
  mayHoldUnstorableNumbers,
  pathText,
} from './unstorable-numbers.js';
import { EventTooLargeError, mayHoldHugeNumbers, parseSentAt, validateEvent } from './validate-event.js';

export { decodeJsonBody } from './decode-body.js';
export { MAX_BATCH_BYTES, MAX_EVENT_BYTES } from './limits.js';

export type IngestEndpoint = 'batch' | EventType;

export interface IngestRequest {
  workspaceId: string;
  endpoint: IngestEndpoint;
  /** The parsed JSON body. */
  body: unknown;
  /** The JSON text it was parsed from, when there is one: events are then stored as sent, byte for byte. */
  text?: string;
  receivedAt: number;
}

export interface RejectedCall {
  /** Position in the batch; 0 for a single call. */
  index: number;
  messageId: string | null;
  reason: string;
  field: string;
}

export interface IngestResult extends AppendResult {
  rejected: RejectedCall[];
}

/** Whatever appends validated events: the storage itself, or the server's append thread. */
export type EventAppender = Pick<EventStore, 'append'>;

/**
 * Validates a Segment request and appends it. Limits and a malformed envelope refuse the whole
 * request before anything is written; within a valid batch, invalid events are kept as rejected
 * events (with their reason) in the same transaction as the valid ones.
 */
export async function ingest(appender: EventAppender, request: IngestRequest): Promise<IngestResult> {
  const { events, rejected, calls } = validateRequest(request);
  const appended = await appender.append({ events, rejected });
  if (request.endpoint !== 'batch' && calls[0]) {
    const [call] = calls;
    throw new AppError('invalid_input', call.reason, { field: call.field });
  }
  return { ...appended, rejected: calls };
}

export function validateRequest(request: IngestRequest): {
  events: NewEvent[];
  rejected: RejectedEvent[];
  calls: RejectedCall[];
} {
  const { body, endpoint, workspaceId, receivedAt } = request;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError('invalid_input', 'request body must be a JSON object', { field: 'body' });
  }
  const envelope = body as Record<string, unknown>;
  let items: unknown[];
  if (endpoint === 'batch') {
    if (!Array.isArray(envelope.batch)) {
      throw new AppError('invalid_input', 'batch must be an array of events', { field: 'batch' });
    }
    items = envelope.batch;
    if (items.length > MAX_BATCH_EVENTS) {
      throw new AppError(
        'payload_too_large',
        `batch has ${items.length} events, over the limit of ${MAX_BATCH_EVENTS} events per batch`,
        { field: 'batch' },
      );
    }
  } else {
    items = [envelope];
  }
  const batchContext = endpoint === 'batch' ? objectOrUndefined(envelope.context) : undefined;
  const batchIntegrations = endpoint === 'batch' ? objectOrUndefined(envelope.integrations) : undefined;
  const batchSentAt = endpoint === 'batch' ? parseSentAt(envelope.sentAt) : null;

  const events: NewEvent[] = [];
  const rejected: RejectedEvent[] = [];
  const calls: RejectedCall[] = [];
  const rawCalls = rawCallTexts(request.text, endpoint, items.length);
  const { text } = request;
  const outOfRange = text !== undefined && mayHoldOutOfRangeNumbers(text);
  const hugeNumbers = outOfRange && mayHoldHugeNumbers(text);
  const unstorableNumbers = outOfRange && mayHoldUnstorableNumbers(text) ? findUnstorableNumbers(text) : [];
  for (let index = 0; index < items.length; index++) {
    const item = items[index];
    let hadWriteKey = false;
    if (item !== null && typeof item === 'object' && 'writeKey' in item) {
      delete (item as { writeKey?: unknown }).writeKey;
      hadWriteKey = true;
    }
    let result: ReturnType<typeof validateEvent>;
    try {
      result = validateEvent(item, {
        workspaceId,
        receivedAt,
        batchSentAt,
        batchContext,
        batchIntegrations,
        path: endpoint === 'batch' ? `batch[${index}]` : '',
        ...(endpoint === 'batch' ? {} : { forcedType: endpoint }),
        ...(rawCalls && !hadWriteKey ? { rawText: rawCalls[index] } : {}),
        mayHoldHugeNumbers: hugeNumbers,
        unstorableNumber:
          unstorableNumbers.length > 0
            ? unstorableNumberIn(unstorableNumbers, { endpoint, index, call: item })
            : undefined,
      });
    } catch (error) {
      if (error instanceof EventTooLargeError) {
        throw new AppError('payload_too_large', error.message, {
          field: error.field || 'body',
          cause: error,
        });
      }
      throw error;
    }
    if (result.ok) {
      events.push(result.event);
    } else {
      rejected.push({
        workspaceId,
        receivedAt,
        messageId: result.messageId,
        reason: result.reason,
        field: result.field,
        payload: result.payload,
      });
      calls.push({ index, messageId: result.messageId, reason: result.reason, field: result.field });
    }
  }
  return { events, rejected, calls };
}

/**
 * Where call `index` holds the first of the numbers found in the request's text that no database
 * keeps: in the call itself, or in a key of the batch's `context` or `integrations` that the call
 * takes, having no such key in its own.
 */
function unstorableNumberIn(
  found: JsonPath[],
  where: { endpoint: IngestEndpoint; index: number; call: unknown },
): string | undefined {
  for (const path of found) {
    const [first, second, ...rest] = path;
    let inCall: JsonPath | undefined;
    if (where.endpoint !== 'batch') inCall = path;
    else if (first === 'batch' && second === where.index) inCall = rest;
    else if (
      (first === 'context' || first === 'integrations') &&
      typeof second === 'string' &&
      !hasOwnKey(fieldOf(where.call, first), second)
    )
      inCall = path;
    // The write key is taken out of the call before it is kept.
    if (inCall && inCall[0] !== 'writeKey') return pathText(inCall);
  }
  return undefined;
}

function objectOrUndefined(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function fieldOf(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
}

function hasOwnKey(value: unknown, key: string): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key);
}

/** Each call's JSON text as the client sent it, if the body's layout lets us find it. */
function rawCallTexts(
  text: string | undefined,
  endpoint: IngestEndpoint,
  count: number,
): string[] | undefined {
  if (text === undefined) return undefined;
  if (endpoint !== 'batch') return [text.trim()];
  const ranges = batchElementRanges(text);
  if (!ranges || ranges.length !== count) return undefined;
  return ranges.map(([start, end]) => text.slice(start, end));
}

/** The write key from HTTP Basic auth (`writeKey:` base64, Segment's way) or the body's `writeKey`. */
export function writeKeyFromBasicAuth(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const [scheme, encoded] = authorization.split(' ');
  if (scheme?.toLowerCase() !== 'basic' || !encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const key = colon === -1 ? decoded : decoded.slice(0, colon);
  return key === '' ? undefined : key;
}

export function writeKeyFromBody(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const key = (body as { writeKey?: unknown }).writeKey;
  return typeof key === 'string' && key !== '' ? key : undefined;
}
