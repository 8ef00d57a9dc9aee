import { AppError } from '../core/errors.js';
import type { HandOff, StageChange, Storage } from '../storage/storage.js';
import { ledgersByProfile, type ScoreExplanation, scoreOf } from './score.js';

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
    const total = scores.reduce((sum, score) => sum + score, 0);
    return {
      model: model.id,
      total,
      average: scores.length === 0 ? 0 : total / scores.length,
      max: scores.length === 0 ? 0 : Math.max(...scores),
      contacts: scores.length,
    };
  });
}
