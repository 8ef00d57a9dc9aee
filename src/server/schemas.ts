import { z } from 'zod';
import type { ApiKey, KeyActor } from '../core/access.js';
import type { SetAsideEvent, StoredEvent, StoredRejectedEvent } from '../core/event.js';
import { REFUSAL_REASONS } from '../core/input-issues.js';
import type { Account, Identity, Profile, Traits } from '../core/profile.js';
import { SET_ASIDE_RESOLUTIONS, type SetAsideResolution } from '../core/set-aside.js';
import { type SetAsideTimer, TIMER_KINDS } from '../core/timers.js';

/** API shapes: times as ISO-8601 strings, ids as strings, traits as sent. */
const isoTime = (ms: number) => new Date(ms).toISOString();

/** What a standard check found wrong (see `IssueDetail`), for a client to word in its own language. */
const IssueDetailJson = z
  .object({
    code: z
      .enum([
        'required',
        'unknown_field',
        'too_big',
        'too_small',
        'invalid_type',
        'invalid_format',
        'invalid_value',
        'refused',
      ])
      .describe(
        'required: missing; refused: a refusal of Mops’s own, named by `reason`; the others as Zod names its checks',
      ),
    origin: z
      .enum(['number', 'string', 'array'])
      .optional()
      .describe('too_big, too_small: what was measured'),
    limit: z.number().optional().describe('too_big, too_small: the bound; a length for text and lists'),
    inclusive: z.boolean().optional().describe('too_big, too_small: whether the bound itself is allowed'),
    expected: z.string().optional().describe('invalid_type: the type wanted'),
    format: z.string().optional().describe('invalid_format: email, url, regex, …'),
    values: z
      .array(z.union([z.string(), z.number(), z.boolean(), z.null()]))
      .optional()
      .describe('invalid_value: the values allowed'),
    reason: z.enum(REFUSAL_REASONS).optional().describe('refused: why'),
    params: z
      .record(z.string(), z.string())
      .optional()
      .describe('refused: what the wording names (an e-mail, …)'),
  })
  .meta({ id: 'IssueDetail' });

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string().describe('in English; `issue`, when given, says the same for a client to word'),
      field: z.string().optional(),
      issue: IssueDetailJson.optional(),
    }),
  })
  .meta({ id: 'Error' });

export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(500).optional(),
});

export const WorkspaceParams = z.object({ workspaceId: z.string().min(1).max(100) });

export const Workspace = z
  .object({ id: z.string(), name: z.string(), createdAt: z.string(), role: z.string().optional() })
  .meta({ id: 'Workspace' });

const KeyActorJson = z
  .object({
    kind: z.enum(['user', 'key']).describe('a user logged in, or a secret key calling the admin API'),
    id: z.string(),
    name: z.string().nullable().describe("the user's name, or the key's"),
    email: z
      .string()
      .nullable()
      .describe("the user's e-mail; null for a key, or a user whose account is gone"),
  })
  .meta({ id: 'KeyActor' });

export const ApiKeyJson = z
  .object({
    id: z.string(),
    kind: z.enum(['write', 'secret']),
    name: z.string(),
    hint: z.string().describe('the first characters of the key'),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    createdBy: KeyActorJson.nullable().describe(
      'who created the key; null when it was made on the command line, or before Mops kept this',
    ),
    revokedBy: KeyActorJson.nullable().describe('who revoked the key; null while active, or as `createdBy`'),
  })
  .meta({ id: 'ApiKey' });

/** A key as the API shows it, its creator and revoker looked up in `actors` (see `keyActorsOf`). */
export function apiKeyJson(key: ApiKey, actors: ReadonlyMap<string, KeyActor>): z.infer<typeof ApiKeyJson> {
  const actor = (id: string | null) => (id === null ? null : (actors.get(id) ?? null));
  return {
    id: key.id,
    kind: key.kind,
    name: key.name,
    hint: key.hint,
    createdAt: isoTime(key.createdAt),
    lastUsedAt: key.lastUsedAt === null ? null : isoTime(key.lastUsedAt),
    revokedAt: key.revokedAt === null ? null : isoTime(key.revokedAt),
    createdBy: actor(key.createdBy),
    revokedBy: actor(key.revokedBy),
  };
}

/**
 * Traits passed through as stored. A record schema would rebuild the object and silently drop an own
 * `__proto__` key, which ingest accepts as a trait like any other; the JSON schema still says "an object".
 */
export const TraitsJson = z
  .custom<Traits>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), {
    message: 'traits must be an object',
  })
  .meta({ type: 'object', additionalProperties: {} });

export const ProfileJson = z
  .object({
    id: z.string(),
    userId: z.string().nullable(),
    traits: TraitsJson,
    firstSeenAt: z.string(),
    lastSeenAt: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Profile' });

export function profileJson(profile: Profile): z.infer<typeof ProfileJson> {
  return {
    id: profile.id,
    userId: profile.userId,
    traits: profile.traits,
    firstSeenAt: isoTime(profile.firstSeenAt),
    lastSeenAt: isoTime(profile.lastSeenAt),
    createdAt: isoTime(profile.createdAt),
    updatedAt: isoTime(profile.updatedAt),
  };
}

export const AccountJson = z
  .object({
    id: z.string(),
    groupId: z.string(),
    traits: TraitsJson,
    updatedAt: z.string(),
  })
  .meta({ id: 'Account' });

export function accountJson(account: Account): z.infer<typeof AccountJson> {
  return {
    id: account.id,
    groupId: account.groupId,
    traits: account.traits,
    updatedAt: isoTime(account.updatedAt),
  };
}

export const IdentityJson = z.object({
  kind: z.enum(['user', 'anonymous']),
  value: z.string(),
  createdAt: z.string(),
});

export function identityJson(identity: Identity): z.infer<typeof IdentityJson> {
  return { kind: identity.kind, value: identity.value, createdAt: isoTime(identity.createdAt) };
}

export const EventJson = z
  .object({
    id: z.string(),
    messageId: z.string(),
    type: z.string(),
    name: z.string().nullable(),
    userId: z.string().nullable(),
    anonymousId: z.string().nullable(),
    timestamp: z.string(),
    receivedAt: z.string(),
    payload: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Event' });

export function eventJson(event: StoredEvent): z.infer<typeof EventJson> {
  return {
    id: String(event.id),
    messageId: event.messageId,
    type: event.type,
    name: event.name,
    userId: event.userId,
    anonymousId: event.anonymousId,
    timestamp: isoTime(event.timestamp),
    receivedAt: isoTime(event.receivedAt),
    payload: event.payload,
  };
}

export const RejectedEventJson = z
  .object({
    id: z.string(),
    receivedAt: z.string(),
    messageId: z.string().nullable(),
    reason: z.string(),
    field: z.string().nullable(),
    payload: z.string().describe('the call as received, JSON text'),
  })
  .meta({ id: 'RejectedEvent' });

export function rejectedEventJson(event: StoredRejectedEvent): z.infer<typeof RejectedEventJson> {
  return {
    id: String(event.id),
    receivedAt: isoTime(event.receivedAt),
    messageId: event.messageId,
    reason: event.reason,
    field: event.field,
    payload: event.payload,
  };
}

/** Who resolved a set-aside record, when and how; null fields while unresolved. */
const SetAsideResolutionFields = {
  resolvedAt: z
    .string()
    .nullable()
    .describe('when an operator retried or dismissed it; null while unresolved'),
  resolution: z.enum(SET_ASIDE_RESOLUTIONS).nullable(),
  resolvedBy: z
    .string()
    .nullable()
    .describe('`user:<id>` (a logged-in admin) or `api-key:<id>` (a secret key)'),
};

function resolutionJson(resolution: SetAsideResolution | null) {
  return {
    resolvedAt: resolution ? isoTime(resolution.at) : null,
    resolution: resolution?.how ?? null,
    resolvedBy: resolution?.by ?? null,
  };
}

/** `?resolved=true` lists what operators retried or dismissed; by default what is still unresolved. */
export const SetAsideQuery = PageQuery.extend({
  resolved: z
    .enum(['true', 'false'])
    .optional()
    .describe('`true`: those retried or dismissed, for audit; by default the unresolved ones'),
});

export const SetAsideEventJson = z
  .object({
    id: z.string(),
    consumer: z
      .string()
      .describe('what went on past the event: `profiles`, `scoring`, `segments` or `journeys`'),
    eventId: z.string().describe('the event in the log (GET /events)'),
    messageId: z.string(),
    type: z.string(),
    name: z.string().nullable(),
    reason: z.string().describe('the error it failed with at every attempt'),
    setAsideAt: z.string(),
    isRetriable: z
      .boolean()
      .describe(
        "whether POST …/retry can redo the consumer's work for it out of log order (scoring, segments); else only dismiss",
      ),
    ...SetAsideResolutionFields,
  })
  .meta({ id: 'SetAsideEvent' });

export function setAsideEventJson(
  event: SetAsideEvent,
  isRetriable: boolean,
): z.infer<typeof SetAsideEventJson> {
  return {
    isRetriable,
    id: String(event.id),
    consumer: event.consumer,
    eventId: String(event.eventId),
    messageId: event.messageId,
    type: event.type,
    name: event.name,
    reason: event.reason,
    setAsideAt: isoTime(event.setAsideAt),
    ...resolutionJson(event.resolution),
  };
}

export const SetAsideTimerJson = z
  .object({
    id: z.string(),
    kind: z
      .enum(TIMER_KINDS)
      .describe(
        'a journey wait, a segment window, a hand-off SLA, or a stage check (a score crossing a threshold by time)',
      ),
    subject: z
      .string()
      .describe('the journey instance, the profile (segment windows, stage timers) or the hand-off'),
    token: z.string().nullable().describe("which of the instance's timers (journey timers only)"),
    dueAt: z.string(),
    reason: z.string().describe('the error it failed with at every attempt'),
    setAsideAt: z.string(),
    ...SetAsideResolutionFields,
  })
  .meta({ id: 'SetAsideTimer' });

export function setAsideTimerJson(timer: SetAsideTimer): z.infer<typeof SetAsideTimerJson> {
  return {
    id: String(timer.id),
    kind: timer.kind,
    subject: timer.subject,
    token: timer.token,
    dueAt: isoTime(timer.dueAt),
    reason: timer.reason,
    setAsideAt: isoTime(timer.setAsideAt),
    ...resolutionJson(timer.resolution),
  };
}

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}
