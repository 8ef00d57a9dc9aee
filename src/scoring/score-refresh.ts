import { groupByWorkspace } from '../core/event.js';
import type { ScoreLedgerEntry, ScoreModel } from '../core/score-model.js';
import type { ProfileTimer, Storage } from '../storage/storage.js';
import { fadingHalfLives, hasTimedFit, ledgersByProfile, scoreOf, scoreOverTime } from './score.js';

/**
 * How far a profile's current score (`profile_scores.current_score`, what the contacts list ranks
 * by) may drift from the score decay or a timed fit rule moves it to before it is stored again: a
 * point, or 5 % of the score when that is more. A profile, the contacts list and the ledger show the
 * exact score of the moment they are read. The score stored at each scored event (`score`), which
 * stage decisions read, is left as it is.
 */
const TOLERANCE_POINTS = 1;
const TOLERANCE_SHARE = 0.05;
/** However fast a score fades (a half-life may be a minute), it is not stored again sooner than this. */
const MIN_REFRESH_MS = 60_000;

/**
 * When a profile's current scores, each as it is at `now`, are to be stored again because time alone
 * may have moved one past the tolerance: undefined when none can (nothing fades, or what still fades
 * is within it). Never late: fading points lower a score and fading penalties raise it, each ever
 * slower, so no score moves faster than the faster of the two does now.
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
    const fading = fadingHalfLives(model);
    /** What fading points and fading penalties still hold, and how fast each loses it now (per ms). */
    const points = { held: 0, rate: 0 };
    const penalties = { held: 0, rate: 0 };
    for (const entry of profile.ledger) {
      const halfLife = entry.model === model.id ? fading.get(entry.rule) : undefined;
      if (halfLife === undefined || halfLife <= 0) continue;
      const left = Math.abs(entry.points) * 0.5 ** (Math.max(0, now - entry.at) / halfLife);
      const side = entry.points < 0 ? penalties : points;
      side.held += left;
      side.rate += (left * Math.LN2) / halfLife;
    }
    const rate = Math.max(points.rate, penalties.rate);
    if (Math.max(points.held, penalties.held) >= tolerance && rate > 0)
      earliest = Math.min(earliest ?? Number.POSITIVE_INFINITY, now + tolerance / rate);
    if (hasTimedFit(model)) {
      const fitChange = Math.min(...scoreOverTime(model, profile.ledger, profile.facts).fitChangesAfter(now));
      if (Number.isFinite(fitChange)) earliest = Math.min(earliest ?? fitChange, fitChange);
    }
  }
  // Whole milliseconds: the moment becomes a durable timer's (a bigint on PostgreSQL).
  return earliest === undefined ? undefined : Math.ceil(Math.max(earliest, now + MIN_REFRESH_MS));
}

/** Profiles whose score refreshes a round stores, in one transaction. */
const REFRESHES_PER_ROUND = 500;

/**
 * Stores the current scores of the profiles whose score refresh fell due, each model's as it stands
 * now, and sets their next refresh. A scoring batch that stored a score since it was read wins: its
 * score is the current one too. Returns how many refreshes it took.
 */
export async function runDueScoreRefreshes(
  storage: Storage,
  options: { now: number; limit?: number },
): Promise<number> {
  const { now } = options;
  return storage.transaction(async (tx) => {
    const due = await tx.scoring.takeDueScoreRefreshes(now, options.limit ?? REFRESHES_PER_ROUND);
    for (const [workspaceId, timers] of groupByWorkspace(due)) {
      const models = (await tx.settings.get(workspaceId)).scoring.models;
      const ids = timers.map((timer) => timer.profileId);
      const [profiles, accounts, ledger, stored] = await Promise.all([
        tx.profiles.findProfilesByIds(ids),
        tx.segments.accountTraits(ids),
        tx.scoring.ledger(ids),
        tx.scoring.scores(ids),
      ]);
      const ledgers = ledgersByProfile(ledger);
      const current: Parameters<typeof tx.scoring.setCurrentScores>[0] = [];
      const next: ProfileTimer[] = [];
      for (const profile of profiles) {
        // Merged away, it has no scores left: the survivor's are refreshed as its own.
        if (profile.mergedInto !== null) continue;
        const profileLedger = ledgers.get(profile.id) ?? [];
        const facts = { traits: profile.traits, accounts: accounts.get(profile.id) ?? [] };
        const scores = new Map<string, number>();
        for (const model of models) {
          const storedScore = stored.get(profile.id)?.[model.id];
          if (storedScore === undefined) continue;
          const score = scoreOf(model, profileLedger, facts, now).score;
          scores.set(model.id, score);
          current.push({
            profileId: profile.id,
            model: model.id,
            currentScore: score,
            storedAt: storedScore.at,
          });
        }
        const dueAt = nextScoreRefresh(models, { ledger: profileLedger, facts, scores }, now);
        if (dueAt !== undefined) next.push({ workspaceId, profileId: profile.id, dueAt });
      }
      await tx.scoring.setCurrentScores(current);
      await tx.scoring.bringScoreRefreshesForward(next);
    }
    return due.length;
  });
}
