import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Duration } from './duration.js';
import { AccountTraitCondition, PropertyFilter, TraitCondition } from './segment-definition.js';

const RuleId = z.string().regex(/^[a-z0-9_-]{1,64}$/, 'must be 1–64 lowercase letters, digits, - or _');

/** Points for an event (with property filters), fading with a half-life if it has one. */
export const EventScoreRule = z.object({
  id: RuleId,
  kind: z.literal('event'),
  event: z.string().min(1).max(255),
  where: z.array(PropertyFilter).max(10).default([]),
  /** Negative to take points away (e.g. `Unsubscribed`, a careers-page visit). */
  points: z
    .number()
    .refine((points) => points !== 0, 'must not be 0')
    .refine((points) => Math.abs(points) <= 10_000, 'must be between -10000 and 10000'),
  repeat: z.enum(['every_time', 'once']).default('every_time'),
  /** At most this many points (in absolute value) from this rule at any time, after decay. */
  cap: z.number().positive().max(1_000_000).optional(),
  /** Each award loses half its points every this long: `30d`. Without it, points stay. */
  halfLife: Duration.optional(),
});
export type EventScoreRule = z.infer<typeof EventScoreRule>;

/** Points while a trait (or an account's trait) holds: "fit", decided from who they are, not what they did. */
export const FitScoreRule = z.object({
  id: RuleId,
  kind: z.literal('fit'),
  when: z.discriminatedUnion('type', [TraitCondition, AccountTraitCondition]),
  points: z
    .number()
    .refine((points) => points !== 0 && Math.abs(points) <= 10_000, 'must be non-zero, at most 10000'),
});
export type FitScoreRule = z.infer<typeof FitScoreRule>;

export const ScoreModel = z
  .object({
    id: RuleId,
    name: z.string().trim().min(1).max(200),
    rules: z
      .array(z.discriminatedUnion('kind', [EventScoreRule, FitScoreRule]))
      .min(1)
      .max(200),
    /** The score never goes above this (nor below its negative). */
    cap: z.number().positive().max(1_000_000).optional(),
  })
  .superRefine((model, context) => {
    const seen = new Set<string>();
    for (const [index, rule] of model.rules.entries()) {
      if (seen.has(rule.id))
        context.addIssue({
          code: 'custom',
          path: ['rules', index, 'id'],
          message: `${rule.id} is used twice`,
        });
      seen.add(rule.id);
    }
  });
export type ScoreModel = z.infer<typeof ScoreModel>;

const revisions = new WeakMap<ScoreModel, string>();
/** Changed when what a revision covers changes, so that no two meanings share one name. */
const REVISION_SCHEME = 'v1';

/**
 * Names what decides a model's scores (its rules and cap): a stored score under another is not
 * current. Keys are sorted at every level: a condition's value comes back from PostgreSQL's jsonb
 * with its keys reordered, and a client may send them in any order.
 */
export function modelRevision(model: ScoreModel): string {
  let revision = revisions.get(model);
  if (revision === undefined) {
    const decides = canonicalJson({ rules: model.rules, cap: model.cap ?? null });
    const digest = createHash('sha256').update(decides).digest('base64url').slice(0, 22);
    revision = `${REVISION_SCHEME}-${digest}`;
    revisions.set(model, revision);
  }
  return revision;
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, part: unknown) =>
    part !== null && typeof part === 'object' && !Array.isArray(part)
      ? Object.fromEntries(Object.entries(part).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : part,
  );
}

/** One award in a profile's score ledger: which rule, for which event, when, how many points then. */
export interface ScoreLedgerEntry {
  model: string;
  rule: string;
  eventId: number;
  at: number;
  points: number;
}

/** Less than any score's distance below a bucket's edge, more than the float noise of a quotient. */
export const BUCKET_TOLERANCE = 1e-9;

/**
 * The bucket of `bucket` points a score falls in, without the float noise of the quotient (0.29 / 0.01
 * is 28.999999999999996, which would put 0.29 in the bucket from 0.28). SQL counts it alike.
 */
export function bucketIndex(score: number, bucket: number): number {
  return Math.floor(score / bucket + BUCKET_TOLERANCE);
}

/**
 * Where the `index`th bucket of `bucket` points starts, without the float noise of the product
 * (5487 × 0.01 is 54.870000000000005).
 */
export function bucketStart(index: number, bucket: number): number {
  return Number((index * bucket).toPrecision(12));
}
