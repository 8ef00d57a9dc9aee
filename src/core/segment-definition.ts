import { z } from 'zod';
import { Duration, PositiveDuration } from './duration.js';
import { holdable } from './holdable-schema.js';
import { inListLength, MAX_IN_LIST_VALUES, tooManyInListValues } from './in-lists.js';
import { parseIsoDate } from './iso-date.js';
import { Comparison, requireComparisonValue } from './journey-definition.js';
import { CONSENT_CHANNELS } from './topic-consent.js';

/**
 * A segment's rule, as people write it: conditions on traits, account traits, events (how often,
 * in which window, with which properties, first or last time), consent, scores, lifecycle stage and
 * other segments, nested with `all`, `any` and `not`.
 */

/** Comparisons on a value, plus dates relative to now: `within_last: 30d`, `not_within_last: 1w`. */
export const ValueOp = z.enum([...Comparison.options, 'within_last', 'not_within_last']);
export type ValueOp = z.infer<typeof ValueOp>;

const valueRules = <T extends z.ZodObject<{ op: typeof ValueOp; value: z.ZodOptional<z.ZodUnknown> }>>(
  schema: T,
) =>
  requireComparisonValue(schema).refine(
    (c) => (c.op !== 'within_last' && c.op !== 'not_within_last') || Duration.safeParse(c.value).success,
    { message: 'value must be a duration such as 30d for this op', path: ['value'] },
  );

const Path = z.string().min(1).max(200);

/** A day (`2026-03-01`, midnight UTC) or a moment with its offset (`2026-03-01T09:00:00Z`, `…+01:00`). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** As written above, and a day and time that exist (`2026-02-30` is not rolled over into March). */
export function isIsoDate(value: string): boolean {
  return ISO_DATE.test(value) && !Number.isNaN(parseIsoDate(value));
}

export const PropertyFilter = valueRules(
  z.strictObject({ path: Path, op: ValueOp, value: z.unknown().optional() }),
);
export type PropertyFilter = z.infer<typeof PropertyFilter>;

export const TraitCondition = valueRules(
  z.strictObject({ type: z.literal('trait'), path: Path, op: ValueOp, value: z.unknown().optional() }),
);
/** Holds when any of the profile's accounts (Segment `group`) has a matching trait. */
export const AccountTraitCondition = valueRules(
  z.strictObject({
    type: z.literal('account_trait'),
    path: Path,
    op: ValueOp,
    value: z.unknown().optional(),
  }),
);

/** Performed an event (with property filters) at least / at most so many times, ever or in a rolling window. */
export const EventCondition = z
  .strictObject({
    type: z.literal('event'),
    event: z.string().min(1).max(255),
    where: z
      .array(holdable(PropertyFilter, { isEventFilter: true }))
      .max(10)
      .default([]),
    /** Counting only the last this long: a rolling window. */
    within: PositiveDuration.optional(),
    atLeast: z.number().int().min(0).max(1_000_000).default(1),
    atMost: z.number().int().min(0).max(1_000_000).optional(),
  })
  .refine((c) => c.atMost === undefined || c.atMost >= c.atLeast, {
    message: 'atMost must not be below atLeast (1 unless given: add atLeast: 0 to count "never" too)',
    path: ['atMost'],
  });
export type EventCondition = z.infer<typeof EventCondition>;

/** When the profile first or last performed the event: before or after a date, or within a recent window. */
export const EventTimeCondition = z
  .strictObject({
    type: z.literal('event_time'),
    event: z.string().min(1).max(255),
    which: z.enum(['first', 'last']),
    op: z.enum(['before', 'after', 'within_last', 'not_within_last']),
    /** An ISO date for before/after, a duration for within_last/not_within_last. */
    value: z.string().min(1).max(40),
  })
  .refine(
    (c) =>
      c.op === 'before' || c.op === 'after'
        ? isIsoDate(c.value)
        : PositiveDuration.safeParse(c.value).success,
    {
      message:
        'value must be an ISO date for before/after (2026-03-01, or 2026-03-01T09:00:00Z with its offset), a duration such as 30d otherwise',
      path: ['value'],
    },
  );
export type EventTimeCondition = z.infer<typeof EventTimeCondition>;

export const SegmentMembershipCondition = z.strictObject({
  type: z.literal('segment'),
  segment: z.string().min(1).max(100),
  is: z.enum(['in', 'not_in']).default('in'),
});
export const SubscriptionCondition = z.strictObject({
  type: z.literal('subscription'),
  topic: z.string().min(1).max(64),
  /** On this channel; without one, on every channel (withdrawn on none). */
  channel: z.enum(CONSENT_CHANNELS).optional(),
  subscribed: z.boolean().default(true),
});
export const ScoreCondition = z
  .strictObject({
    type: z.literal('score'),
    model: z.string().min(1).max(64),
    min: z.number().optional(),
    max: z.number().optional(),
  })
  .refine((c) => c.min !== undefined || c.max !== undefined, {
    message: 'give min, max or both',
    path: ['min'],
  })
  .refine((c) => c.min === undefined || c.max === undefined || c.min <= c.max, {
    message: 'max must not be below min',
    path: ['max'],
  });
export const LifecycleCondition = z.strictObject({
  type: z.literal('lifecycle'),
  stages: z.array(z.string().min(1).max(64)).min(1).max(20),
});

export type SegmentCondition =
  | z.infer<typeof TraitCondition>
  | z.infer<typeof AccountTraitCondition>
  | EventCondition
  | EventTimeCondition
  | z.infer<typeof SegmentMembershipCondition>
  | z.infer<typeof SubscriptionCondition>
  | z.infer<typeof ScoreCondition>
  | z.infer<typeof LifecycleCondition>
  | { all: SegmentCondition[] }
  | { any: SegmentCondition[] }
  | { not: SegmentCondition };

/** The leaves, told apart by `type` so that a mistake is reported on the field, not as "no branch matched". */
const LeafCondition = z.discriminatedUnion('type', [
  holdable(TraitCondition),
  holdable(AccountTraitCondition),
  EventCondition,
  EventTimeCondition,
  SegmentMembershipCondition,
  SubscriptionCondition,
  ScoreCondition,
  LifecycleCondition,
]);

export const SegmentCondition: z.ZodType<SegmentCondition> = z
  .lazy(() =>
    z.union([
      z.object({ all: z.array(SegmentCondition).min(1).max(50) }).strict(),
      z.object({ any: z.array(SegmentCondition).min(1).max(50) }).strict(),
      z.object({ not: SegmentCondition }).strict(),
      LeafCondition,
    ]),
  )
  .meta({
    id: 'SegmentRule',
    description: 'A segment rule: a condition, or all/any/not of rules (docs/segments.md).',
  }) as z.ZodType<SegmentCondition>;

export const SegmentKind = z.enum(['live', 'static']);
export type SegmentKind = z.infer<typeof SegmentKind>;

const MAX_RULE_DEPTH = 20;
/**
 * Conditions a rule may hold. Each is evaluated for every profile an event touches and, in a preview
 * or a backfill, for every profile of the workspace: a rule of thousands would hold up both for
 * minutes. The richest segments people build hold a few dozen.
 */
export const MAX_RULE_CONDITIONS = 100;

/**
 * How deeply all/any/not nest, how many conditions the rule holds and how many values its `in` lists
 * hold, counted without recursion (a hostile rule may nest thousands deep); the walk stops once any
 * is past its bound.
 */
function ruleShape(rule: unknown): { depth: number; conditions: number; inValues: number } {
  let depth = 0;
  let conditions = 0;
  let inValues = 0;
  const pending: Array<[unknown, number]> = [[rule, 1]];
  while (
    pending.length > 0 &&
    depth <= MAX_RULE_DEPTH &&
    conditions <= MAX_RULE_CONDITIONS &&
    inValues <= MAX_IN_LIST_VALUES
  ) {
    const [node, level] = pending.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    depth = Math.max(depth, level);
    const record = node as Record<string, unknown>;
    const isGroup = Array.isArray(record.all) || Array.isArray(record.any) || 'not' in record;
    if (!isGroup) {
      conditions++;
      const filters = Array.isArray(record.where) ? record.where : [];
      for (const comparison of [record, ...filters]) inValues += inListLength(comparison);
    }
    for (const key of ['all', 'any'] as const)
      if (Array.isArray(record[key])) for (const part of record[key]) pending.push([part, level + 1]);
    if ('not' in record) pending.push([record.not, level + 1]);
  }
  return { depth, conditions, inValues };
}

/**
 * A rule as people send one: its depth and size checked before the recursive schema reads it. A
 * preprocess, not a refine piped on: the OpenAPI document then describes the rule, not "anything".
 */
export const SegmentRule = z.preprocess((rule, context) => {
  const shape = ruleShape(rule);
  if (shape.depth > MAX_RULE_DEPTH)
    context.addIssue({
      code: 'custom',
      message: `rules nest at most ${MAX_RULE_DEPTH} levels deep`,
      input: rule,
    });
  else if (shape.conditions > MAX_RULE_CONDITIONS)
    context.addIssue({
      code: 'custom',
      message: `a rule holds at most ${MAX_RULE_CONDITIONS} conditions`,
      input: rule,
    });
  else if (shape.inValues > MAX_IN_LIST_VALUES)
    context.addIssue({
      code: 'custom',
      message: tooManyInListValues('rule'),
      input: rule,
    });
  return rule;
}, SegmentCondition);

const SegmentFields = {
  name: z.string().trim().min(1).max(200),
  /** Left out of a change, the stored one stays; null clears it. */
  description: z.string().max(2000).nullable().optional(),
  rule: SegmentRule.optional(),
};

const LIVE_NEEDS_RULE = 'a live segment needs a rule';
const STATIC_HAS_NO_RULE = 'a static segment has no rule: upload its members';

/** What people send to create a segment: a live one has a rule, a static one a CSV upload. */
export const SegmentInput = z
  .strictObject({ ...SegmentFields, kind: SegmentKind.default('live') })
  .refine((input) => input.kind === 'static' || input.rule !== undefined, {
    message: LIVE_NEEDS_RULE,
    path: ['rule'],
  })
  .refine((input) => input.kind === 'live' || input.rule === undefined, {
    message: STATIC_HAS_NO_RULE,
    path: ['rule'],
  });
export type SegmentInput = z.infer<typeof SegmentInput>;

/**
 * What people send to change a segment. Its kind, left out, is the one it has (renaming a static list
 * needs no `kind: static`); whether it needs a rule is then told against that kind (`ruleProblem`).
 */
export const SegmentChange = z.strictObject({ ...SegmentFields, kind: SegmentKind.optional() });
export type SegmentChange = z.infer<typeof SegmentChange>;

/** What is wrong with a segment's rule for its kind, if anything. */
export function ruleProblem(kind: SegmentKind, rule: SegmentCondition | undefined): string | undefined {
  if (kind === 'live' && rule === undefined) return LIVE_NEEDS_RULE;
  if (kind === 'static' && rule !== undefined) return STATIC_HAS_NO_RULE;
  return undefined;
}

export interface Segment {
  id: string;
  workspaceId: string;
  name: string;
  description: string | null;
  kind: SegmentKind;
  rule: SegmentCondition | null;
  /** Goes up each time the rule changes; a backfill belongs to one version. */
  version: number;
  /** `backfilling` while existing profiles are being evaluated against this version. */
  status: 'backfilling' | 'ready';
  backfill: {
    total: number;
    done: number;
    startedAt: number | null;
    finishedAt: number | null;
    /** Why it stopped: it failed the same way at every attempt. Saving the segment again starts anew. */
    failure: string | null;
  };
  /**
   * When it first had all its members: its first backfill finished (a static list: made). Null
   * during a first backfill, whose members came with the segment and enter without Segment Entered,
   * however many versions it went through meanwhile.
   */
  readySince: number | null;
  createdAt: number;
  updatedAt: number;
}

/** Event names emitted on the profile when its membership changes (journeys can enter on them). */
export const SEGMENT_ENTERED = 'Segment Entered';
export const SEGMENT_EXITED = 'Segment Exited';
