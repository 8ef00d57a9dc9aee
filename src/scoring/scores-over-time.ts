import type { ScoreModel } from '../core/score-model.js';
import type { StorageReader } from '../storage/storage.js';
import { ledgersByProfile, type ScoreOverTime, scoreOverTime } from './score.js';

/** A profile's scores by model, each as decay moves it. */
export type ProfileScores = ReadonlyMap<string, ScoreOverTime>;

/**
 * These profiles' scores under the models, recomputed from their ledgers so that decay counts at
 * whatever moment they are asked about: the stored scores are as of each profile's last scored
 * event, and a score decays between events. Every model gives every profile a score (0 without
 * awards or fit), as the profile page shows it.
 */
export async function readScoresOverTime(
  reader: StorageReader,
  options: {
    profiles: ReadonlyArray<{ id: string; traits: Record<string, unknown> }>;
    models: readonly ScoreModel[];
  },
): Promise<Map<string, ProfileScores>> {
  const { profiles, models } = options;
  if (profiles.length === 0 || models.length === 0) return new Map();
  const ids = profiles.map((profile) => profile.id);
  const readsAccounts = models.some((model) =>
    model.rules.some((rule) => rule.kind === 'fit' && rule.when.type === 'account_trait'),
  );
  const [entries, accounts] = await Promise.all([
    reader.scoring.ledger(ids),
    readsAccounts ? reader.segments.accountTraits(ids) : undefined,
  ]);
  const ledgers = ledgersByProfile(entries);
  return new Map(
    profiles.map((profile) => {
      const ledger = ledgers.get(profile.id) ?? [];
      const facts = { traits: profile.traits, accounts: accounts?.get(profile.id) ?? [] };
      return [profile.id, new Map(models.map((model) => [model.id, scoreOverTime(model, ledger, facts)]))];
    }),
  );
}
