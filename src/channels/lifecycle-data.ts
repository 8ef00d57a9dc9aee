import type { Profile } from '../core/profile.js';
import { summarizeContacts } from '../scoring/contact-summaries.js';
import type { Storage } from '../storage/storage.js';
import type { LifecycleData } from '../templates/email-template.js';

const NAMES_LIFECYCLE = /\blifecycle\b/;

/**
 * The contact's stage, sales owner and scores (decayed to `now`) for a message whose Liquid names
 * `lifecycle`; undefined for the others, which pay nothing: reading a contact's ledger per message
 * would cost every send.
 */
export async function lifecycleDataFor(
  storage: Storage,
  options: { workspaceId: string; profile: Profile; now: number; sources: Array<string | null | undefined> },
): Promise<LifecycleData | undefined> {
  if (!options.sources.some((source) => source && NAMES_LIFECYCLE.test(source))) return undefined;
  const { profile } = options;
  const summary = (
    await summarizeContacts(storage, {
      workspaceId: options.workspaceId,
      profiles: [profile],
      now: options.now,
    })
  ).get(profile.id);
  if (!summary) return undefined;
  return {
    stage: summary.stage,
    owner: summary.owner,
    scores: Object.fromEntries(summary.scores.map(({ model, score }) => [model, score])),
  };
}
