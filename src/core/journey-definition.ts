import { z } from 'zod';
import { PositiveDuration } from './duration.js';
import { holdable } from './holdable-schema.js';
import { inListLength, MAX_IN_LIST_VALUES, tooManyInListValues } from './in-lists.js';
import type { JourneyDraft } from './journey-draft.js';

/**
 * A journey, as people write it (JSON or YAML through the API and `mops journeys apply`) and as each
 * published version stores it. docs/journeys.md explains every field with examples.
 */

const Identifier = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, - or _');

/** Where a condition looks: the profile's traits, the event being handled, or the event that entered the journey. */
export const ConditionSource = z.enum(['trait', 'event', 'entry_event']);

/**
 * The longest SMS template: its Liquid (a branch per language, comments) may be far longer than the
 * 1,600 characters a rendered text may have, which rendering checks.
 */
export const SMS_TEMPLATE_MAX_CHARACTERS = 10_000;

export const Comparison = z.enum([
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'contains',
  'in',
  'exists',
  'not_exists',
]);
export type Comparison = z.infer<typeof Comparison>;

/** A comparison needs a value, except `exists` and `not_exists`; `in` needs a list. */
export function requireComparisonValue<T extends z.ZodType<{ op: string; value?: unknown }>>(schema: T): T {
  return schema
    .refine((c) => c.op === 'exists' || c.op === 'not_exists' || c.value !== undefined, {
      message: 'value is required for this op',
      path: ['value'],
    })
    .refine((c) => c.op !== 'in' || Array.isArray(c.value), {
      message: 'value must be a list for op in',
      path: ['value'],
    });
}

/** Refused where it could never hold (ordered by a word or a code, in no choices), as segment rules are. */
export const ValueCondition = holdable(
  requireComparisonValue(
    z.strictObject({
      source: ConditionSource,
      /** A dotted path: `plan` for a trait, `properties.total` for an event. */
      path: z.string().min(1).max(200),
      op: Comparison,
      value: z.unknown().optional(),
    }),
  ),
);
export type ValueCondition = z.infer<typeof ValueCondition>;

/** What a branch may ask of an e-mail sent earlier in the journey, and of a text. */
export const EMAIL_MESSAGE_OPS = ['opened', 'clicked', 'not_opened', 'not_clicked'] as const;
export const TEXT_MESSAGE_OPS = ['delivered', 'not_delivered', 'clicked', 'not_clicked'] as const;
/** What a text can be asked only when its step shortens and tracks its links (`trackLinks`). */
export const TRACKED_LINK_OPS = ['clicked', 'not_clicked'] as const;

/**
 * Whether a message sent earlier in this journey was opened or clicked (an e-mail), or delivered (a
 * text, as its provider reported) or clicked (a text whose links are tracked).
 */
export const EngagementCondition = z.strictObject({
  source: z.literal('message'),
  /** The id of the send_email or send_sms step whose message is meant. */
  step: Identifier,
  /** Both lists above, each once. */
  op: z.enum(['opened', 'clicked', 'not_opened', 'not_clicked', 'delivered', 'not_delivered']),
});
export type EngagementCondition = z.infer<typeof EngagementCondition>;

/** Where the profile stands: in a segment, a score under a model, its lifecycle stage. */
export const AudienceCondition = z.discriminatedUnion('source', [
  z.strictObject({
    source: z.literal('segment'),
    segment: z.string().min(1).max(100),
    op: z.enum(['in', 'not_in']).default('in'),
  }),
  z.strictObject({
    source: z.literal('score'),
    model: z.string().min(1).max(64),
    op: z.enum(['gt', 'gte', 'lt', 'lte', 'eq']),
    value: z.number(),
  }),
  z.strictObject({
    source: z.literal('lifecycle'),
    op: z.enum(['in', 'not_in']).default('in'),
    stages: z.array(z.string().min(1).max(64)).min(1).max(20),
  }),
]);
export type AudienceCondition = z.infer<typeof AudienceCondition>;

export const Condition = z.union([ValueCondition, EngagementCondition, AudienceCondition]);
export type Condition = z.infer<typeof Condition>;

const EventConditions = z.array(ValueCondition).max(20).default([]);

export const EntryTrigger = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('event'),
    event: z.string().min(1).max(255),
    conditions: EventConditions,
  }),
  /** An identify that changes this trait (to `value`, when given). */
  z.strictObject({
    type: z.literal('trait_changed'),
    trait: z.string().min(1).max(200),
    value: z.unknown().optional(),
  }),
  /** Entering (or leaving) a segment: its `Segment Entered` / `Segment Exited` event. */
  z.strictObject({
    type: z.literal('segment'),
    segment: z.string().min(1).max(100),
    on: z.enum(['entered', 'exited']).default('entered'),
    /**
     * Entered on entering the segment: an instance still active when the contact leaves it exits
     * (the cart reminder of someone who has just ordered stops; an event that arrived while the
     * contact was being entered counts too, as leaving follows it in the log).
     */
    exitOnSegmentExit: z.boolean().optional(),
    /**
     * Entered on entering the segment: publishing it also enters those in the segment already, as if
     * they had just entered (in the background, with progress on the journey). Publishing a later
     * version that keeps it enters nobody again.
     */
    currentMembers: z.boolean().optional(),
  }),
  /** Only through the API (`POST …/journeys/:id/enrol`). */
  z.strictObject({ type: z.literal('manual') }),
]);
export type EntryTrigger = z.infer<typeof EntryTrigger>;

export const ReentryPolicy = z.discriminatedUnion('policy', [
  z.strictObject({ policy: z.literal('once') }),
  z.strictObject({ policy: z.literal('once_per_period'), period: PositiveDuration }),
  z.strictObject({ policy: z.literal('every_time') }),
]);
export type ReentryPolicy = z.infer<typeof ReentryPolicy>;

const Next = Identifier.describe('the id of the step that follows');

/** A split's weight: arms share in proportion; a total past what a number holds sent everyone one way. */
const SplitWeight = z.number().positive().max(1_000_000);

export const Step = z.discriminatedUnion('type', [
  // Positive: a wait of nothing that leads back to itself would loop for ever, a step at a time.
  z.strictObject({ id: Identifier, type: z.literal('wait'), duration: PositiveDuration, next: Next }),
  z.strictObject({
    id: Identifier,
    type: z.literal('wait_until'),
    /** Local time of day in the profile's timezone (trait `timezone`, else the workspace's). */
    time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM, 24-hour'),
    days: z
      .array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']))
      .min(1)
      .optional(),
    next: Next,
  }),
  z.strictObject({
    id: Identifier,
    type: z.literal('wait_for_event'),
    event: z.string().min(1).max(255),
    conditions: EventConditions,
    /** Only an event whose property at this path equals the entry event's (e.g. `properties.cart_id`). */
    matchEntryProperty: z.string().min(1).max(200).optional(),
    timeout: PositiveDuration,
    next: Next,
    timeoutNext: Next,
  }),
  z.strictObject({
    id: Identifier,
    type: z.literal('branch'),
    branches: z
      .array(z.strictObject({ conditions: z.array(Condition).min(1).max(20), next: Next }))
      .min(1)
      .max(20),
    otherwise: Next,
  }),
  z.strictObject({
    id: Identifier,
    type: z.literal('split'),
    /** Weighted arms; the same profile always takes the same arm of the same journey. */
    arms: z
      .array(z.strictObject({ name: Identifier, weight: SplitWeight, next: Next }))
      .min(1)
      .max(10)
      .superRefine((arms, ctx) => {
        // Results are told by arm name: two arms of one name would be counted as one.
        const seen = new Set<string>();
        for (const [index, arm] of arms.entries()) {
          if (seen.has(arm.name))
            ctx.addIssue({
              code: 'custom',
              message: `arm name ${arm.name} is used twice`,
              path: [index, 'name'],
            });
          seen.add(arm.name);
        }
      }),
    /** A control group that leaves the journey here, for measuring the journey against doing nothing. */
    holdout: z.strictObject({ weight: SplitWeight }).optional(),
  }),
  z.strictObject({
    id: Identifier,
    type: z.literal('send_email'),
    template: z.string().min(1).max(100),
    /** Subscription topic; unsubscribed contacts never get messages on it. */
    topic: z.string().min(1).max(64).default('marketing'),
    /** What to do when a frequency cap or quiet hours forbid sending now. */
    whenNotAllowed: z.enum(['defer', 'skip']).default('defer'),
    next: Next,
  }),
  z.strictObject({
    id: Identifier,
    type: z.literal('send_sms'),
    /** Liquid, rendered as plain text: `Hi {{ profile.traits.first_name }}, your cart is waiting`. */
    body: z.string().trim().min(1).max(SMS_TEMPLATE_MAX_CHARACTERS),
    topic: z.string().min(1).max(64).default('marketing'),
    whenNotAllowed: z.enum(['defer', 'skip']).default('defer'),
    /**
     * Each link in the text (http:// or https://) is sent as a short link of the workspace's public
     * address (`{publicUrl}/s/{code}`) that records the click, as `SMS Link Clicked`, and redirects.
     */
    trackLinks: z.boolean().optional(),
    next: Next,
  }),
  z.strictObject({
    id: Identifier,
    type: z.literal('update_traits'),
    /** Trait values; strings are Liquid templates (`{{ event.properties.total }}`). */
    set: z.record(z.string().min(1).max(200), z.unknown()),
    next: Next,
  }),
  z.strictObject({
    id: Identifier,
    type: z.literal('webhook'),
    /** One of the workspace's webhook destinations (settings): a step can call nowhere else. */
    destination: z.string().regex(/^[a-z0-9_-]{1,64}$/, 'must name a webhook destination'),
    /** Added to the destination's URL, e.g. `/leads`; it cannot leave the destination's origin. */
    path: z
      .string()
      .max(500)
      .regex(/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*$/, 'must start with / and hold only URL path characters')
      .refine(
        // URLs read %2e as a dot: an encoded dot segment climbs out of the destination's path too;
        // and a receiver (or a proxy before it) that decodes %2f or %5c before resolving dot
        // segments reads `..%2f` as `../`.
        (path) => {
          // The query is the receiver's to read (`?next=https://…`); only the path must stay put.
          const pathname = path.split('?', 1)[0] as string;
          return !pathname.includes('//') && !/%2f|%5c/i.test(pathname) && !holdsDotSegment(pathname);
        },
        'must not hold //, dot segments or encoded slashes',
      )
      .default('/'),
    method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
    /** A Liquid template producing the JSON body. */
    body: z.string().max(32_000).default('{"profile": {{ profile | json }}, "event": {{ event | json }}}'),
    next: Next,
  }),
  z.strictObject({ id: Identifier, type: z.literal('exit') }),
]);
export type Step = z.infer<typeof Step>;
export type StepType = Step['type'];

/**
 * Marks a problem of how steps refer to each other (a step not there, or not an e-mail step): one a
 * draft may have while it is being built, as steps come and go (see `readDraft`).
 */
/**
 * Whether a URL path holds a dot segment, encoded (`%2e%2e`) or carrying a path parameter (`..;x`):
 * URLs resolve the first kind, and receivers on Tomcat, Spring or Jetty drop the parameter and
 * resolve the second, so either climbs out of the path it is added to.
 */
export function holdsDotSegment(pathname: string): boolean {
  return pathname
    .replace(/%2e/gi, '.')
    .split('/')
    .some((segment) => /^\.\.?(;|$)/.test(segment));
}

export const STEP_REFERENCE = { isStepReference: true } as const;

const JourneyDocument = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).optional(),
    entry: z.strictObject({
      trigger: EntryTrigger,
      reentry: ReentryPolicy.default({ policy: 'once' }),
      /** More than one active instance per profile (e.g. one per cart). */
      allowConcurrent: z.boolean().default(false),
    }),
    /** Reaching it exits the instance and counts it as converted. */
    goal: z
      .strictObject({
        event: z.string().min(1).max(255),
        conditions: EventConditions,
        /** Only an event whose property at this path equals the entry event's (e.g. the same `properties.cart_id`). */
        matchEntryProperty: z.string().min(1).max(200).optional(),
        within: PositiveDuration.optional(),
      })
      .optional(),
    /** The first step. */
    start: Identifier,
    steps: z.array(Step).min(1).max(200),
    /** Where the web console's builder draws each step (by step id); the engine ignores it. */
    canvas: z
      .record(Identifier, z.strictObject({ x: z.number().finite(), y: z.number().finite() }))
      .optional(),
  })
  .superRefine((journey, ctx) => {
    const trigger = journey.entry.trigger;
    for (const field of ['exitOnSegmentExit', 'currentMembers'] as const)
      if (trigger.type === 'segment' && trigger.on === 'exited' && trigger[field] === true)
        ctx.addIssue({
          code: 'custom',
          message: 'applies to a journey entered on entering the segment, not on leaving it',
          path: ['entry', 'trigger', field],
        });
    const ids = new Map<string, number>();
    journey.steps.forEach((step, index) => {
      if (ids.has(step.id)) {
        ctx.addIssue({
          code: 'custom',
          message: `step id ${step.id} is used twice`,
          path: ['steps', index, 'id'],
        });
      }
      ids.set(step.id, index);
    });
    if (!ids.has(journey.start)) {
      ctx.addIssue({
        code: 'custom',
        message: `start names no step: ${journey.start}`,
        path: ['start'],
        params: STEP_REFERENCE,
      });
    }
    journey.steps.forEach((step, index) => {
      for (const [field, target] of nextPointers(step)) {
        if (!ids.has(target)) {
          ctx.addIssue({
            code: 'custom',
            message: `${field} names no step: ${target}`,
            path: ['steps', index, ...field.split('.')],
            params: STEP_REFERENCE,
          });
        }
      }
      if (step.type === 'branch') {
        for (const [b, branch] of step.branches.entries()) {
          for (const [c, condition] of branch.conditions.entries()) {
            if (condition.source !== 'message') continue;
            const target = journey.steps[ids.get(condition.step) ?? -1];
            const problem = messageConditionProblem(condition, target);
            if (problem)
              ctx.addIssue({
                code: 'custom',
                message: problem,
                path: ['steps', index, 'branches', b, 'conditions', c, 'step'],
                params: STEP_REFERENCE,
              });
          }
        }
      }
    });
  });

/**
 * A journey as people send one: the values of its `in` lists counted before the schema reads it, as a
 * segment's rule is. A preprocess, not a refine: it holds for a draft still missing settings too, and
 * the OpenAPI document describes the journey, not "anything".
 */
export const JourneyDefinition = z.preprocess((journey, context) => {
  let inValues = 0;
  for (const condition of conditionsSent(journey)) inValues += inListLength(condition);
  if (inValues > MAX_IN_LIST_VALUES)
    context.addIssue({ code: 'custom', message: tooManyInListValues('journey'), input: journey });
  return journey;
}, JourneyDocument);
export type JourneyDefinition = z.infer<typeof JourneyDefinition>;

/** Every condition a journey document holds (entry, goal, waits, branches), as sent: not yet checked. */
function* conditionsSent(journey: unknown): Generator<unknown> {
  const entry = fieldOf(journey, 'entry');
  yield* listOf(fieldOf(fieldOf(entry, 'trigger'), 'conditions'));
  yield* listOf(fieldOf(fieldOf(journey, 'goal'), 'conditions'));
  for (const step of listOf(fieldOf(journey, 'steps'))) {
    yield* listOf(fieldOf(step, 'conditions'));
    for (const branch of listOf(fieldOf(step, 'branches'))) yield* listOf(fieldOf(branch, 'conditions'));
  }
}

function fieldOf(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

const listOf = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : []);

/** The segment whose current members a version enters when published; undefined when it enters none. */
export function currentMembersSegment(definition: JourneyDefinition): string | undefined {
  const trigger = definition.entry.trigger;
  return trigger.type === 'segment' && trigger.on === 'entered' && trigger.currentMembers === true
    ? trigger.segment
    : undefined;
}

/** Why a branch cannot ask this of the step it names (none of its kind, links not tracked); undefined when it can. */
function messageConditionProblem(
  condition: EngagementCondition,
  target: Step | undefined,
): string | undefined {
  const ofEmail = (EMAIL_MESSAGE_OPS as readonly string[]).includes(condition.op);
  const ofText = (TEXT_MESSAGE_OPS as readonly string[]).includes(condition.op);
  if (target?.type === 'send_email' && ofEmail) return undefined;
  if (target?.type === 'send_sms' && ofText) {
    const asksLinks = (TRACKED_LINK_OPS as readonly string[]).includes(condition.op);
    return asksLinks && target.trackLinks !== true
      ? `${condition.step} does not track its links: turn on trackLinks to branch on a click`
      : undefined;
  }
  const kinds = [ofEmail ? 'send_email' : undefined, ofText ? 'send_sms' : undefined].filter(Boolean);
  return `${condition.step} is not a ${kinds.join(' or ')} step of this journey`;
}

/** The segments a definition or a draft asks about: entry on one, branches on membership. A draft may be partial. */
export function segmentsNamed(definition: JourneyDraft): Set<string> {
  const named = new Set<string>();
  const trigger = definition.entry?.trigger;
  if (trigger?.type === 'segment' && typeof trigger.segment === 'string') named.add(trigger.segment);
  for (const step of definition.steps ?? [])
    if (step?.type === 'branch')
      for (const branch of (step.branches as Array<{ conditions?: Array<Partial<Condition>> }> | undefined) ??
        [])
        for (const condition of branch?.conditions ?? [])
          if (condition?.source === 'segment' && typeof condition.segment === 'string')
            named.add(condition.segment);
  return named;
}

/** Each `[field, stepId]` a step can continue to. */
export function nextPointers(step: Step): Array<[string, string]> {
  switch (step.type) {
    case 'exit':
      return [];
    case 'wait_for_event':
      return [
        ['next', step.next],
        ['timeoutNext', step.timeoutNext],
      ];
    case 'branch':
      return [
        ...step.branches.map((branch, i): [string, string] => [`branches.${i}.next`, branch.next]),
        ['otherwise', step.otherwise],
      ];
    case 'split':
      return step.arms.map((arm, i): [string, string] => [`arms.${i}.next`, arm.next]);
    default:
      return [['next', step.next]];
  }
}

export const JOURNEY_STATUSES = ['draft', 'published', 'paused', 'archived'] as const;
export type JourneyStatus = (typeof JOURNEY_STATUSES)[number];
