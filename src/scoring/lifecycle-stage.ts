import { type LifecycleSettings, type StageRule, scoreThresholds } from '../core/lifecycle.js';
import { nextChange } from '../core/next-change.js';
import type { ScoreLedgerEntry, ScoreModel } from '../core/score-model.js';
import { type EventFact, isRelativeToNow, matchesFilters } from '../segments/evaluate.js';
import { scoreOverTime } from './score.js';

/** Something that can move a profile along its lifecycle. */
export type StageSignal =
  /**
   * A score as it stands now, and as it stood before (undefined: never scored), with the stages the
   * profile has ever held (a recycled lead held those it was recycled out of).
   */
  | {
      kind: 'score';
      model: string;
      score: number;
      previous: number | undefined;
      held?: ReadonlySet<string>;
      /**
       * The profile's scores in the other models at the same moment, for rules asking for several
       * (engagement ≥ 50 and fit ≥ 30); a threshold on a model not here is not reached.
       */
      others?: ReadonlyMap<string, number>;
    }
  | { kind: 'event'; event: Pick<EventFact, 'name' | 'properties' | 'timestamp'> };

export interface StageMove {
  from: string | undefined;
  to: string;
  /** The rule that moved it; undefined for a recycle. */
  rule: StageRule | undefined;
}

/**
 * Where a signal moves a profile: the furthest stage that a matching rule leads to, if that is further
 * along than where the profile is. Never backwards: a score that drops does not demote an MQL.
 */
export function advanceStage(
  lifecycle: LifecycleSettings,
  current: string | undefined,
  signal: StageSignal,
): StageMove | undefined {
  const position = current === undefined ? -1 : lifecycle.stages.indexOf(current);
  let best: { rule: StageRule; index: number } | undefined;
  for (const rule of lifecycle.rules) {
    if (!matchesSignal(rule, signal, hasHeld(lifecycle, signal, rule.to))) continue;
    const index = lifecycle.stages.indexOf(rule.to);
    if (index > position && (best === undefined || index > best.index)) best = { rule, index };
  }
  return best ? { from: current, to: best.rule.to, rule: best.rule } : undefined;
}

/** An explicit recycle (e.g. sales rejected the lead): back to the recycle stage, if that is behind. */
export function recycleStage(
  lifecycle: LifecycleSettings,
  current: string | undefined,
): StageMove | undefined {
  if (current === undefined) return undefined;
  const target = lifecycle.recycleTo;
  return lifecycle.stages.indexOf(target) < lifecycle.stages.indexOf(current)
    ? { from: current, to: target, rule: undefined }
    : undefined;
}

/** Whether a move reaches or passes `stage` (so that reaching SQL straight from lead still counts as MQL). */
export function reaches(lifecycle: LifecycleSettings, move: StageMove, stage: string): boolean {
  const target = lifecycle.stages.indexOf(stage);
  const from = move.from === undefined ? -1 : lifecycle.stages.indexOf(move.from);
  return target >= 0 && from < target && lifecycle.stages.indexOf(move.to) >= target;
}

/** Whether the profile held `stage`, or one further along, before: it was recycled out of it. */
function hasHeld(lifecycle: LifecycleSettings, signal: StageSignal, stage: string): boolean {
  if (signal.kind !== 'score' || !signal.held) return false;
  const target = lifecycle.stages.indexOf(stage);
  return [...signal.held].some((held) => lifecycle.stages.indexOf(held) >= target);
}

function matchesSignal(rule: StageRule, signal: StageSignal, wasRecycledOut: boolean): boolean {
  // A recycled lead whose score is still high comes back only once it has fallen below the threshold
  // and reached it again; a profile that never got that far moves whenever its score is over it (a
  // threshold added or lowered since it scored included). With several thresholds, all of them must
  // hold — and for a recycled lead, have not all held with this model's lowest score.
  if (rule.kind === 'score') {
    if (signal.kind !== 'score') return false;
    const thresholds = scoreThresholds(rule);
    if (!thresholds.some((threshold) => threshold.model === signal.model)) return false;
    const allReached = (score: number) =>
      thresholds.every((threshold) => {
        const value = threshold.model === signal.model ? score : signal.others?.get(threshold.model);
        return value !== undefined && value >= threshold.atLeast;
      });
    return (
      allReached(signal.score) &&
      (!wasRecycledOut || signal.previous === undefined || !allReached(signal.previous))
    );
  }
  return (
    signal.kind === 'event' &&
    signal.event.name === rule.event &&
    matchesFilters(signal.event, rule.where, signal.event.timestamp)
  );
}

/**
 * The next moment after `now` time alone may take one of the profile's scores over the threshold of a
 * stage further along than its own: a negative award fading (the score rises as it decays) or a fit
 * rule starting or stopping to hold. Undefined when none can (positive awards only fall). A threshold
 * the score is over already is not looked for: a recycled lead comes back when its score dips below
 * and reaches it again, which events decide.
 */
export function nextStageCheck(
  lifecycle: LifecycleSettings,
  models: readonly ScoreModel[],
  profile: {
    stage: string | undefined;
    ledger: readonly ScoreLedgerEntry[];
    facts: { traits: Record<string, unknown>; accounts: Array<Record<string, unknown>> };
    /** Each model's score at `now`. */
    scores: ReadonlyMap<string, number>;
  },
  now: number,
): number | undefined {
  const position = profile.stage === undefined ? -1 : lifecycle.stages.indexOf(profile.stage);
  let earliest: number | undefined;
  for (const model of models) {
    const scoreNow = profile.scores.get(model.id);
    if (scoreNow === undefined) continue;
    // A rule asking for several scores may still want another: its time is looked for on its own,
    // and the stage checked then moves the profile only if the others hold by that time too.
    const above = lifecycle.rules.flatMap((rule) =>
      rule.kind === 'score' && lifecycle.stages.indexOf(rule.to) > position
        ? scoreThresholds(rule).flatMap((threshold) =>
            threshold.model === model.id && threshold.atLeast > scoreNow ? [threshold.atLeast] : [],
          )
        : [],
    );
    if (above.length === 0) continue;
    const lowest = Math.min(...above);
    // Most profiles cannot get there by time at all: what fading penalties can give back, and fit
    // rules relative to now can add, falls short. Only the rest are searched (a batch decides many).
    const { fading, timedFit } = timeDependence(model);
    let penalties = 0;
    for (const entry of profile.ledger)
      if (entry.model === model.id && entry.points < 0 && fading.has(entry.rule)) penalties -= entry.points;
    if (scoreNow + penalties + timedFit < lowest) continue;
    const over = scoreOverTime(model, profile.ledger, profile.facts);
    // A fit rule's change reshapes the curve: the timer is set for it, and looks again from there.
    const fitChange = timedFit > 0 ? Math.min(...over.fitChangesAfter(now)) : Number.POSITIVE_INFINITY;
    const crossing =
      penalties > 0 && over.settlesBy !== undefined
        ? nextChange((at) => over.at(at) >= lowest, now, Math.min(over.settlesBy, fitChange))
        : undefined;
    const due = Math.min(crossing ?? Number.POSITIVE_INFINITY, fitChange);
    // Whole milliseconds: the moment becomes a durable timer's (a bigint on PostgreSQL).
    if (Number.isFinite(due)) earliest = Math.min(earliest ?? Math.ceil(due), Math.ceil(due));
  }
  return earliest;
}

const timeDependences = new WeakMap<ScoreModel, { fading: Set<string>; timedFit: number }>();

/**
 * What of a model moves its scores by time: the event rules whose awards fade (a negative award raises
 * the score as it does), and the points of fit rules relative to now. Once per model, not per profile.
 */
function timeDependence(model: ScoreModel): { fading: Set<string>; timedFit: number } {
  let found = timeDependences.get(model);
  if (!found) {
    const fading = new Set(
      model.rules.flatMap((rule) => (rule.kind === 'event' && rule.halfLife ? [rule.id] : [])),
    );
    let timedFit = 0;
    for (const rule of model.rules)
      if (rule.kind === 'fit' && isRelativeToNow(rule.when)) timedFit += Math.abs(rule.points);
    found = { fading, timedFit };
    timeDependences.set(model, found);
  }
  return found;
}
