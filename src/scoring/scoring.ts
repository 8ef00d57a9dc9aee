import type { Logger } from 'pino';
import { AppError } from '../core/errors.js';
import { bucketIndex, bucketStart, modelRevision, type ScoreModel } from '../core/score-model.js';
import { profilesMergedSince } from '../profiles/profiles.js';
import type { HandOff, StageChange, Storage } from '../storage/storage.js';
import { ledgersByProfile, movesWithTime, type ScoreExplanation, scoreOf } from './score.js';

export { recycleProfile, runOverdueHandOffs } from './hand-offs.js';
export { rescoreEvent, SCORING_CURSOR, type ScoringWork, scoringBatch } from './scoring-batch.js';

/** Everything intent scoring knows about a profile: each model's score explained, stage, history, hand-offs. */
export interface ProfileIntent {
  scores: ScoreExplanation[];
  stage: string | null;
  stageHistory: StageChange[];
  handOffs: HandOff[];
}

/**
 * A profile's scores recomputed from its ledger at `now` (so decay shows as it happens), with its
 * lifecycle stage, how it got there, and its hand-offs to sales.
 */
export async function profileIntent(
  storage: Storage,
  options: { workspaceId: string; profileId: string; now: number },
): Promise<ProfileIntent> {
  const { workspaceId, now } = options;
  // One snapshot: a stage move committing between two reads would show a stage its history lacks.
  const { profile, settings, ledger, accounts, stages, stageHistory, handOffs } = await storage.readSnapshot(
    async (snapshot) => {
      const profile = await snapshot.profiles.find(workspaceId, options.profileId);
      if (!profile) throw new AppError('not_found', `profile ${options.profileId} does not exist`);
      const [settings, ledger, accounts, stages, stageHistory, handOffs] = await Promise.all([
        snapshot.settings.get(workspaceId),
        snapshot.scoring.ledgerOfProfile(profile.id),
        snapshot.segments.accountTraits([profile.id]),
        snapshot.scoring.stages([profile.id]),
        snapshot.scoring.stageHistory(profile.id),
        snapshot.scoring.listHandOffs(workspaceId, { profileId: profile.id }, { limit: 100 }),
      ]);
      return { profile, settings, ledger, accounts, stages, stageHistory, handOffs };
    },
  );
  const facts = { traits: profile.traits, accounts: accounts.get(profile.id) ?? [] };
  return {
    scores: settings.scoring.models.map((model) => scoreOf(model, ledger, facts, now)),
    stage: stages.get(profile.id) ?? null,
    stageHistory,
    handOffs: handOffs.items,
  };
}

/** Per model, how an account's contacts score together. */
export interface AccountScore {
  model: string;
  total: number;
  average: number;
  max: number;
  contacts: number;
}

/**
 * An account's scores at `now`: each contact's score recomputed from its ledger (so decay shows, as on
 * the profile, rather than each contact's score as of its last event), summed, averaged and maxed.
 */
export async function accountScores(
  storage: Storage,
  options: { workspaceId: string; accountId: string; now: number },
): Promise<AccountScore[]> {
  const { workspaceId, now } = options;
  const memberIds = await storage.profiles.listAccountMembers(workspaceId, options.accountId);
  if (memberIds.length === 0) return [];
  const [settings, profiles, ledger, accounts] = await Promise.all([
    storage.settings.get(workspaceId),
    storage.profiles.findProfilesByIds(memberIds),
    storage.scoring.ledger(memberIds),
    storage.segments.accountTraits(memberIds),
  ]);
  const ledgers = ledgersByProfile(ledger);
  const contacts = profiles.filter((profile) => profile.mergedInto === null);
  return settings.scoring.models.map((model) => {
    const scores = contacts.map(
      (profile) =>
        scoreOf(
          model,
          ledgers.get(profile.id) ?? [],
          { traits: profile.traits, accounts: accounts.get(profile.id) ?? [] },
          now,
        ).score,
    );
    return { model: model.id, ...contactScoresTogether(scores) };
  });
}

/**
 * Contacts' scores summed, averaged and maxed. Summed in whole hundredths, as scores are kept: a sum
 * of fractions in floating point depends on the order of its terms, and an average falling on a half
 * hundredth (20.355) would round down or up with the order the contacts were listed in. The highest
 * is found in a loop: `Math.max(...scores)` passes every score as an argument, which overflows the
 * stack (RangeError) for an account of some hundred thousand contacts.
 */
export function contactScoresTogether(scores: readonly number[]): Omit<AccountScore, 'model'> {
  let hundredths = 0;
  let max = Number.NEGATIVE_INFINITY;
  for (const score of scores) {
    hundredths += Math.round(score * 100);
    if (score > max) max = score;
  }
  return {
    total: hundredths / 100,
    average: scores.length === 0 ? 0 : Math.round(hundredths / scores.length) / 100,
    max: scores.length === 0 ? 0 : max,
    contacts: scores.length,
  };
}

/** Profiles recomputed per page of the distribution: their ledgers and account traits are read together. */
const DISTRIBUTION_PAGE = 500;

export type ScoreBuckets = Array<{ from: number; count: number }>;

/**
 * Recomputed distributions, kept a while: the console asks every few seconds, and a recompute reads
 * every scored profile's ledger (~2.3 s per 100,000 profiles measured here). One is shown for ten
 * times as long as it took, so keeping it fresh costs at most a tenth of a core however large the
 * workspace; after that, for up to `maxAgeMs` while no score was written since (`stamp`): decay alone
 * moves it slowly. Callers asking meanwhile share the one being computed.
 */
export class RecentDistributions {
  readonly #maxAgeMs: number;
  readonly #held = new Map<
    string,
    { at: number; stamp: string; tookMs: number | undefined; buckets: Promise<ScoreBuckets> }
  >();

  constructor(maxAgeMs: number) {
    this.#maxAgeMs = maxAgeMs;
  }

  get(
    key: string,
    options: { now: number; stamp: string },
    compute: () => Promise<ScoreBuckets>,
  ): Promise<ScoreBuckets> {
    const { now, stamp } = options;
    const isFresh = (entry: { at: number; stamp: string; tookMs: number | undefined }) =>
      entry.tookMs === undefined ||
      now - entry.at < entry.tookMs * 10 ||
      (entry.stamp === stamp && now - entry.at < this.#maxAgeMs);
    const held = this.#held.get(key);
    if (held && isFresh(held)) return held.buckets;
    for (const [heldKey, entry] of this.#held)
      if (now - entry.at >= Math.max(this.#maxAgeMs, (entry.tookMs ?? 0) * 10)) this.#held.delete(heldKey);
    const started = performance.now();
    const entry = { at: now, stamp, tookMs: undefined as number | undefined, buckets: compute() };
    this.#held.set(key, entry);
    entry.buckets.then(
      () => {
        entry.tookMs = performance.now() - started;
      },
      () => this.#held.delete(key),
    );
    return entry.buckets;
  }
}

/**
 * How the workspace's scored profiles spread over a model's scores at `now`, in buckets of `bucket`
 * points (each bucket named by its lower bound). A model whose points decay, or whose fit rules hold
 * for a time ("trial started within 14d"), moves between events, so its scores are recomputed from
 * the ledgers, as the profile page shows them (through `recent` when given); the stored ones (as of
 * each profile's last scored event) are counted directly only when nothing moves them and all were
 * computed under the model's rules as they are (not before an edit).
 */
export async function scoreDistribution(
  storage: Storage,
  options: {
    workspaceId: string;
    modelId: string;
    bucket: number;
    now: number;
    recent?: RecentDistributions;
    /** Where a failure to store recomputed scores is told (the distribution is counted all the same). */
    logger?: Pick<Logger, 'warn'>;
  },
): Promise<ScoreBuckets> {
  const { workspaceId, modelId, bucket, now, recent, logger } = options;
  const model = (await storage.settings.get(workspaceId)).scoring.models.find(({ id }) => id === modelId);
  if (!model) throw new AppError('not_found', `score model ${modelId} does not exist`);
  const isStill = !movesWithTime(model);
  if (isStill) {
    // Stored scores are current unless some were computed under another revision of the model (or
    // come from a merge): recomputed once, and stored, they are again.
    const stored = await storage.scoring.distribution(
      workspaceId,
      { id: model.id, modelRevision: modelRevision(model) },
      bucket,
    );
    if (stored.otherRevisions === 0) return stored.buckets;
  }
  const recompute = () =>
    recomputedDistribution(storage, {
      workspaceId,
      model,
      bucket,
      now,
      storesScores: isStill,
      ...(logger ? { logger } : {}),
    });
  if (!recent) return recompute();
  // The model is part of the key: changing its rules gives a fresh distribution at once.
  const key = JSON.stringify([workspaceId, model, bucket]);
  const { count, lastAt } = await storage.scoring.scoresWritten(workspaceId, modelId);
  return recent.get(key, { now, stamp: `${count}:${lastAt}` }, recompute);
}

/**
 * Every scored profile's score at `now`, from its ledger, counted in buckets. `storesScores` (for a
 * model nothing moves between events) also stores the scores of another revision it recomputed, so
 * that the stored ones are counted directly again.
 */
async function recomputedDistribution(
  storage: Storage,
  options: {
    workspaceId: string;
    model: ScoreModel;
    bucket: number;
    now: number;
    storesScores: boolean;
    logger?: Pick<Logger, 'warn'>;
  },
): Promise<ScoreBuckets> {
  const { workspaceId, model, bucket, now } = options;
  const revision = { id: model.id, modelRevision: modelRevision(model) };
  const counts = new Map<number, number>();
  for (let after: string | null = null; ; ) {
    // Before any read: a merge committed after it may have brought a ledger these reads missed.
    const mergesBefore = await storage.profiles.mergeSequence();
    const profiles = await storage.scoring.scoredProfilesAfter(
      workspaceId,
      model.id,
      after,
      DISTRIBUTION_PAGE,
    );
    if (profiles.length === 0) break;
    const ids = profiles.map((profile) => profile.id);
    const [ledger, accounts] = await Promise.all([
      storage.scoring.ledger(ids),
      storage.segments.accountTraits(ids),
    ]);
    const ledgers = ledgersByProfile(ledger);
    const outdated: Array<{ profileId: string; score: number }> = [];
    for (const profile of profiles) {
      const facts = { traits: profile.traits, accounts: accounts.get(profile.id) ?? [] };
      const { score } = scoreOf(model, ledgers.get(profile.id) ?? [], facts, now);
      const from = bucketIndex(score, bucket);
      counts.set(from, (counts.get(from) ?? 0) + 1);
      if (profile.modelRevision !== revision.modelRevision) outdated.push({ profileId: profile.id, score });
    }
    // Storing saves the next distribution a recompute; one score that cannot be stored (the page's
    // transaction failing every time) must not deny everyone's distribution, counted already.
    if (options.storesScores && outdated.length > 0)
      await storage
        .transaction(async (tx) => {
          await tx.profiles.holdOffMerges();
          const merged = await profilesMergedSince(
            tx,
            outdated.map((entry) => entry.profileId),
            mergesBefore,
          );
          await tx.scoring.refreshScores(
            revision,
            outdated.filter((entry) => !merged.has(entry.profileId)),
          );
        })
        .catch((error: unknown) =>
          options.logger?.warn(
            { err: error, workspaceId, model: model.id },
            'storing recomputed scores failed; the distribution is recomputed next time',
          ),
        );
    after = ids[ids.length - 1] as string;
  }
  return [...counts]
    .sort(([a], [b]) => a - b)
    .map(([from, count]) => ({ from: bucketStart(from, bucket), count }));
}
