import { z } from 'zod';
import { PropertyFilter } from './segment-definition.js';

const Stage = z.string().regex(/^[a-z0-9_-]{1,64}$/, 'must be 1–64 lowercase letters, digits, - or _');

const ScoreThreshold = z.object({ model: z.string().min(1).max(64), atLeast: z.number() });

/**
 * What moves a profile to a stage: a score reaching a threshold — with `and`, other models' scores
 * reaching theirs at the same time (engagement ≥ 50 and fit ≥ 30) — or an event (with property filters).
 */
const StageRule = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('score'),
    to: Stage,
    model: z.string().min(1).max(64),
    atLeast: z.number(),
    and: z.array(ScoreThreshold).max(4).optional(),
  }),
  z.object({
    kind: z.literal('event'),
    to: Stage,
    event: z.string().min(1).max(255),
    where: z.array(PropertyFilter).max(10).default([]),
  }),
]);
export type StageRule = z.infer<typeof StageRule>;

export const DEFAULT_STAGES = ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer'];

/**
 * A workspace's lifecycle: its stages in order, the rules that move profiles forward, and where an
 * explicit recycle sends them back to. Profiles only move forward, except by recycling.
 */
export const LifecycleSettings = z
  .object({
    stages: z.array(Stage).min(2).max(20).default(DEFAULT_STAGES),
    rules: z.array(StageRule).max(100).default([]),
    recycleTo: Stage.default('lead'),
  })
  .superRefine((lifecycle, context) => {
    const known = new Set<string>();
    for (const [index, stage] of lifecycle.stages.entries()) {
      if (known.has(stage))
        context.addIssue({ code: 'custom', path: ['stages', index], message: `${stage} is listed twice` });
      known.add(stage);
    }
    for (const [index, rule] of lifecycle.rules.entries()) {
      if (!known.has(rule.to))
        context.addIssue({
          code: 'custom',
          path: ['rules', index, 'to'],
          message: `${rule.to} is not one of the stages`,
        });
      if (rule.kind !== 'score') continue;
      const models = new Set([rule.model]);
      for (const [andIndex, threshold] of (rule.and ?? []).entries()) {
        if (models.has(threshold.model))
          context.addIssue({
            code: 'custom',
            path: ['rules', index, 'and', andIndex, 'model'],
            message: `${threshold.model} has a threshold in this rule already`,
          });
        models.add(threshold.model);
      }
    }
    if (!known.has(lifecycle.recycleTo))
      context.addIssue({
        code: 'custom',
        path: ['recycleTo'],
        message: `${lifecycle.recycleTo} is not one of the stages`,
      });
  });
export type LifecycleSettings = z.infer<typeof LifecycleSettings>;

/** Every threshold a score rule asks for: its model's, and those its `and` adds. */
export function scoreThresholds(
  rule: Extract<StageRule, { kind: 'score' }>,
): Array<{ model: string; atLeast: number }> {
  return [{ model: rule.model, atLeast: rule.atLeast }, ...(rule.and ?? [])];
}

/** Events Mops writes on the profile as it moves (journeys can enter on them), and the one sales sends back. */
export const STAGE_CHANGED = 'Lifecycle Stage Changed';
export const HAND_OFF_CREATED = 'Hand-off Created';
export const SLA_MISSED = 'Hand-off SLA Missed';
export const SALES_ACCEPTED = 'Sales Accepted';
