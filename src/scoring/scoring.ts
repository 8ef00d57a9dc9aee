import { AppError } from '../core/errors.js';
import type { HandOff, StageChange, Storage } from '../storage/storage.js';
import { type ScoreExplanation, scoreOf } from './score.js';

export { recycleProfile, runOverdueHandOffs } from './hand-offs.js';
export { SCORING_CURSOR, type ScoringWork, scoringBatch } from './scoring-batch.js';

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
  const profile = await storage.profiles.find(workspaceId, options.profileId);
  if (!profile) throw new AppError('not_found', `profile ${options.profileId} does not exist`);
  const [settings, ledger, accounts, stages, stageHistory, handOffs] = await Promise.all([
    storage.settings.get(workspaceId),
    storage.scoring.ledgerOfProfile(profile.id),
    storage.segments.accountTraits([profile.id]),
    storage.scoring.stages([profile.id]),
    storage.scoring.stageHistory(profile.id),
    storage.scoring.listHandOffs(workspaceId, { profileId: profile.id }, { limit: 100 }),
  ]);
  const facts = { traits: profile.traits, accounts: accounts.get(profile.id) ?? [] };
  return {
    scores: settings.scoring.models.map((model) => scoreOf(model, ledger, facts, now)),
    stage: stages.get(profile.id) ?? null,
    stageHistory,
    handOffs: handOffs.items,
  };
}
