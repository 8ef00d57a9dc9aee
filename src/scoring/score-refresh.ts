import { durationMs } from '../core/duration.js';
import type { ScoreLedgerEntry, ScoreModel } from '../core/score-model.js';
import { timeDependence } from './lifecycle-stage.js';
import { scoreOverTime } from './score.js';

/**
 * How far a stored score may drift from the score decay or a timed fit rule moves it to before it is
 * stored again: a point, or 5 % of the score when that is more. Close enough to rank contacts by and
 * count them into a distribution; a profile, the contacts list and the ledger show the exact score
 * of the moment they are read.
 */
const TOLERANCE_POINTS = 1;
const TOLERANCE_SHARE = 0.05;
/** However fast a score fades (a half-life may be a minute), it is not stored again sooner than this. */
const MIN_REFRESH_MS = 60_000;

const halfLivesOf = new WeakMap<ScoreModel, Map<string, number>>();

/** The model's event rules whose awards fade, with their half-lives in milliseconds. */
function halfLives(model: ScoreModel): Map<string, number> {
  let found = halfLivesOf.get(model);
  if (!found) {
    found = new Map(
      model.rules.flatMap((rule) =>
        rule.kind === 'event' && rule.halfLife ? [[rule.id, durationMs(rule.halfLife)] as const] : [],
      ),
    );
    halfLivesOf.set(model, found);
  }
  return found;
}

/**
 * When a profile's stored scores, each as it is at `now`, are to be stored again because time alone
 * may have moved one past the tolerance: undefined when none can (nothing fades, or what still fades
 * is within it). Never late: each award fades ever slower, so no score moves faster than it does now.
 */
export function nextScoreRefresh(
  models: readonly ScoreModel[],
  profile: {
    ledger: readonly ScoreLedgerEntry[];
    facts: { traits: Record<string, unknown>; accounts: Array<Record<string, unknown>> };
    /** Each model's score at `now`. */
    scores: ReadonlyMap<string, number>;
  },
  now: number,
): number | undefined {
  let earliest: number | undefined;
  for (const model of models) {
    const score = profile.scores.get(model.id);
    if (score === undefined) continue;
    const tolerance = Math.max(TOLERANCE_POINTS, Math.abs(score) * TOLERANCE_SHARE);
    const fading = halfLives(model);
    /** What fading awards still hold, and how fast they lose it now (points per millisecond). */
    let held = 0;
    let rate = 0;
    for (const entry of profile.ledger) {
      const halfLife = entry.model === model.id ? fading.get(entry.rule) : undefined;
      if (halfLife === undefined || halfLife <= 0) continue;
      const left = Math.abs(entry.points) * 0.5 ** (Math.max(0, now - entry.at) / halfLife);
      held += left;
      rate += (left * Math.LN2) / halfLife;
    }
    if (held >= tolerance && rate > 0)
      earliest = Math.min(earliest ?? Number.POSITIVE_INFINITY, now + tolerance / rate);
    if (timeDependence(model).timedFit > 0) {
      const fitChange = Math.min(...scoreOverTime(model, profile.ledger, profile.facts).fitChangesAfter(now));
      if (Number.isFinite(fitChange)) earliest = Math.min(earliest ?? fitChange, fitChange);
    }
  }
  // Whole milliseconds: the moment becomes a durable timer's (a bigint on PostgreSQL).
  return earliest === undefined ? undefined : Math.ceil(Math.max(earliest, now + MIN_REFRESH_MS));
}
