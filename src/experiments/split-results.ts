import type { JourneyDefinition } from '../core/journey-definition.js';
import type { SplitTally } from '../storage/storage.js';
import { hasEnoughForTest, sampleRatioPValue, twoProportionPValue, wilsonInterval } from './proportions.js';

/** Below this (after the correction for comparing several arms), a difference is called real. */
export const SIGNIFICANCE = 0.05;

/**
 * Below this, the arms' sizes are called a sample ratio mismatch. Stricter than `SIGNIFICANCE`, as is
 * usual: the check runs on every look, and a false alarm discards a sound test.
 */
export const SAMPLE_RATIO_SIGNIFICANCE = 0.001;

/** Fewer contacts expected in a group than this, and the chi-square test of the split's sizes misleads. */
const MIN_EXPECTED_PER_GROUP = 5;

/**
 * What a comparison with the control can say: too early (too few outcomes known, and some still
 * within their goal window); too few outcomes to test; no difference beyond chance; or a conversion
 * rate higher or lower than the control's beyond chance.
 */
export type SplitVerdict = 'too_early' | 'too_few' | 'no_clear_difference' | 'higher' | 'lower';

export interface SplitGroupResult {
  /** The arm's name; null for the holdout. */
  arm: string | null;
  isControl: boolean;
  /** Contacts who took this arm (each once, however often they entered). */
  entered: number;
  /** Of them, those who met the goal so far. */
  converted: number;
  /**
   * Still within the goal's window (without one, still in the journey), converted or not: left out of
   * the rate until then.
   */
  pending: number;
  /** No longer pending: the contacts the rate is of. */
  decided: number;
  /** Of the decided, those who met the goal. */
  decidedConverted: number;
  /** decidedConverted / decided; null while none is decided. */
  rate: number | null;
  /** The rate's 95% (Wilson) interval. */
  interval: [number, number] | null;
  /** Against the control (none for the control itself, or without a goal). */
  comparison: {
    /** This arm's rate less the control's. */
    difference: number | null;
    /** Two-sided, corrected for the number of arms compared with the control (Bonferroni); null while too few. */
    pValue: number | null;
    verdict: SplitVerdict;
  } | null;
}

export interface SplitResult {
  stepId: string;
  /** Without a goal, a split's arms can be counted but not judged. */
  hasGoal: boolean;
  /**
   * The goal's window: a contact is pending until it closes. Null without one: pending while still
   * in the journey (an arm that waits before it acts must not look worse only for being slower).
   */
  goalWithin: string | null;
  groups: SplitGroupResult[];
  /**
   * Whether contacts were split in the shares the arms' weights ask for (Pearson's chi-square test of
   * the groups' sizes); null while too few contacts, or when the groups are not all the current
   * definition's (an arm renamed or removed since).
   */
  sampleRatio: { pValue: number; isMismatch: boolean } | null;
}

/**
 * Judges each split of a journey on its goal: every arm (and the holdout) with its conversion rate
 * and how sure that is, each compared with the control — the holdout when there is one (the
 * journey against doing nothing), else the first arm. Splits are taken as the current definition
 * draws them, arms in its order (those of earlier versions after, by name), the holdout last.
 */
export function judgeSplits(
  definition: JourneyDefinition | undefined,
  tallies: readonly SplitTally[],
): SplitResult[] {
  const drawn = (definition?.steps ?? []).flatMap((step) => (step.type === 'split' ? [step] : []));
  const stepIds = [...new Set([...drawn.map((step) => step.id), ...tallies.map((tally) => tally.stepId)])];
  return stepIds.map((stepId) => {
    const step = drawn.find((candidate) => candidate.id === stepId);
    const counted = tallies.filter((tally) => tally.stepId === stepId);
    const named = [...new Set(counted.flatMap((tally) => (tally.arm === null ? [] : [tally.arm])))];
    const fromDefinition = step?.arms.map((arm) => arm.name) ?? [];
    const arms: Array<string | null> = [
      ...fromDefinition,
      ...named.filter((name) => !fromDefinition.includes(name)).sort(),
    ];
    if (step?.holdout || counted.some((tally) => tally.arm === null)) arms.push(null);
    const hasGoal = definition?.goal !== undefined;
    const control = arms.includes(null) ? null : arms[0];
    const groups = arms.map((arm) => {
      const tally = counted.find((candidate) => candidate.arm === arm);
      const entered = tally?.entered ?? 0;
      const converted = tally?.converted ?? 0;
      const pending = tally?.pending ?? 0;
      const decided = entered - pending;
      const decidedConverted = converted - (tally?.pendingConverted ?? 0);
      return {
        arm,
        isControl: arm === control,
        entered,
        converted,
        pending,
        decided,
        decidedConverted,
        rate: hasGoal && decided > 0 ? decidedConverted / decided : null,
        interval: hasGoal ? wilsonInterval(decidedConverted, decided) : null,
      };
    });
    const controlGroup = groups.find((group) => group.isControl);
    const compared = groups.length - 1;
    return {
      stepId,
      hasGoal,
      goalWithin: definition?.goal?.within ?? null,
      sampleRatio: step ? sampleRatioOf(step, groups) : null,
      groups: groups.map((group): SplitGroupResult => {
        if (!hasGoal || group.isControl || !controlGroup) return { ...group, comparison: null };
        const mine = { successes: group.decidedConverted, trials: group.decided };
        const theirs = { successes: controlGroup.decidedConverted, trials: controlGroup.decided };
        const difference =
          group.rate === null || controlGroup.rate === null ? null : group.rate - controlGroup.rate;
        if (!hasEnoughForTest(mine) || !hasEnoughForTest(theirs)) {
          const isWaiting = group.pending > 0 || controlGroup.pending > 0;
          return {
            ...group,
            comparison: { difference, pValue: null, verdict: isWaiting ? 'too_early' : 'too_few' },
          };
        }
        const pValue = Math.min(1, twoProportionPValue(mine, theirs) * compared);
        const verdict: SplitVerdict =
          pValue >= SIGNIFICANCE ? 'no_clear_difference' : (difference ?? 0) > 0 ? 'higher' : 'lower';
        return { ...group, comparison: { difference, pValue, verdict } };
      }),
    };
  });
}

/** The split's sizes tested against its weights' shares (see `SplitResult.sampleRatio`). */
function sampleRatioOf(
  step: Extract<JourneyDefinition['steps'][number], { type: 'split' }>,
  groups: ReadonlyArray<{ arm: string | null; entered: number }>,
): SplitResult['sampleRatio'] {
  const weightOf = (arm: string | null) =>
    arm === null ? step.holdout?.weight : step.arms.find((candidate) => candidate.name === arm)?.weight;
  const weights = groups.map((group) => weightOf(group.arm));
  if (groups.length < 2 || weights.some((weight) => weight === undefined)) return null;
  const totalWeight = weights.reduce((sum: number, weight) => sum + (weight ?? 0), 0);
  const shares = weights.map((weight) => (weight ?? 0) / totalWeight);
  const counts = groups.map((group) => group.entered);
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (shares.some((share) => total * share < MIN_EXPECTED_PER_GROUP)) return null;
  const pValue = sampleRatioPValue(counts, shares);
  return { pValue, isMismatch: pValue < SAMPLE_RATIO_SIGNIFICANCE };
}
