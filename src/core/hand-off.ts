import { z } from 'zod';
import { addBusinessTime, BusinessHours } from './business-hours.js';
import { businessDurationMs, fitsInBusinessYear } from './business-year.js';
import { durationMs, PositiveDuration } from './duration.js';
import { AccountTraitCondition, TraitCondition } from './segment-definition.js';

const OwnerId = z.string().regex(/^[a-z0-9_.@-]{1,100}$/i, 'must be 1–100 letters, digits, _ . @ or -');

/**
 * Where a hand-off stands. `passed`: the profile went past the hand-off stage at once (a purchase
 * made a lead a customer), so there was nothing for sales to accept and no SLA ran.
 * `awaiting_identity`: owed — the profile reached the hand-off stage before it was known to sales;
 * it is made (and becomes `pending`, `accepted` or `passed`) once the profile is known.
 * `dropped`: an owed hand-off no longer owed (the lead was recycled, or merged into one already handed off).
 */
export const HAND_OFF_STATUSES = [
  'awaiting_identity',
  'pending',
  'accepted',
  'passed',
  'breached',
  'recycled',
  'dropped',
] as const;
export type HandOffStatus = (typeof HAND_OFF_STATUSES)[number];

/**
 * A made hand-off in one of these is with sales: the CRM was handed the lead and has not heard it is
 * over (a recycle, by hand or on a missed SLA, ends it as `recycled`).
 */
export const WITH_SALES_STATUSES = [
  'pending',
  'accepted',
  'passed',
  'breached',
] as const satisfies readonly HandOffStatus[];

/**
 * Whether sales can tell who a profile is: it has a user id or an `email` trait. Only a profile known
 * to sales is handed off; one reaching the hand-off stage before is owed its hand-off until it is.
 */
export function isKnownToSales(profile: { userId: string | null; traits: Record<string, unknown> }): boolean {
  const { email } = profile.traits;
  return profile.userId !== null || (typeof email === 'string' && email.trim() !== '');
}

export const SalesOwner = z.object({
  id: OwnerId,
  name: z.string().trim().min(1).max(200),
  email: z.email().max(320),
});
export type SalesOwner = z.infer<typeof SalesOwner>;

/**
 * The sales hand-off: when a profile reaches `stage`, it gets an owner (the first assignment rule that
 * holds, else the next in turn), the CRM hears of it through a webhook destination, and sales has
 * `acceptWithin` to send `Sales Accepted`. A miss is told to the CRM destination (`mops.hand_off.sla_missed`)
 * and on the profile (`Hand-off SLA Missed`, where a journey can e-mail the owner); the lead is recycled if so set.
 */
export const HandOffSettings = z
  .object({
    stage: z.string().min(1).max(64).default('mql'),
    owners: z.array(SalesOwner).min(1).max(500),
    /** Checked in order; a profile no rule places is assigned round-robin. */
    assignment: z
      .array(
        z.object({
          when: z.discriminatedUnion('type', [TraitCondition, AccountTraitCondition]),
          owner: OwnerId,
        }),
      )
      .max(100)
      .default([]),
    /** A webhook destination (settings.webhooks) that receives the hand-off. */
    destination: z.string().min(1).max(64).optional(),
    acceptWithin: PositiveDuration.default('2d'),
    /** When set, `acceptWithin` counts only these hours (in the workspace's time zone); else it is calendar time. */
    businessHours: BusinessHours.optional(),
    recycleOnMiss: z.boolean().default(false),
  })
  .superRefine((handOff, context) => {
    if (
      handOff.businessHours &&
      !fitsInBusinessYear(
        businessDurationMs(handOff.acceptWithin, handOff.businessHours),
        handOff.businessHours,
      )
    )
      context.addIssue({
        code: 'custom',
        path: ['acceptWithin'],
        message: 'must be at most a year (52 weeks) of the business hours',
      });
    const owners = new Set(handOff.owners.map((owner) => owner.id));
    for (const [index, rule] of handOff.assignment.entries()) {
      if (!owners.has(rule.owner))
        context.addIssue({
          code: 'custom',
          path: ['assignment', index, 'owner'],
          message: `${rule.owner} is not one of the owners`,
        });
    }
  });
export type HandOffSettings = z.infer<typeof HandOffSettings>;

/**
 * When a hand-off made at `at` is due: `acceptWithin` later, counted in business hours when the
 * workspace keeps them (its days then working days).
 */
export function handOffDueAt(handOff: HandOffSettings, at: number, timeZone: string): number {
  const hours = handOff.businessHours;
  if (!hours) return at + durationMs(handOff.acceptWithin);
  return addBusinessTime(at, businessDurationMs(handOff.acceptWithin, hours), hours, timeZone);
}
