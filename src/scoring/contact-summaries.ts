import type { Profile } from '../core/profile.js';
import type { WorkspaceSettings } from '../core/workspace-settings.js';
import type { HandOff, Storage } from '../storage/storage.js';
import { ledgersByProfile, scoreOf } from './score.js';

/** What the contacts list shows of a contact's intent: where it stands, who in sales has it, its scores. */
export interface ContactSummary {
  stage: string | null;
  /**
   * The owner of its latest hand-off while sales has it: none before a hand-off, nor once sent back.
   * `email` is for messages to the contact (members of the console see owners by name only).
   */
  owner: { id: string; name: string; email: string | null } | null;
  /** Per model of the workspace, in their order, as the profile shows it now (decay included). */
  scores: Array<{ model: string; score: number }>;
}

/** A hand-off in these states leaves the contact with its owner; recycled or dropped, with marketing. */
const OWNED: ReadonlySet<HandOff['status']> = new Set(['pending', 'accepted', 'passed', 'breached']);

/**
 * Whether a contact at `stage` was sent back from sales: it stands before the hand-off stage, which
 * only a recycle takes it back behind. A recycle by hand ends the pending hand-offs and the latest
 * one as `recycled`, but one it ended before it did so for an accepted or breached hand-off (an older
 * Mops) is still `accepted` or `breached`: the stage tells that it is over.
 */
function sentBack(settings: WorkspaceSettings): (stage: string | undefined) => boolean {
  const { lifecycle, handOff } = settings;
  if (!lifecycle || !handOff) return () => false;
  const handOffAt = lifecycle.stages.indexOf(handOff.stage);
  return (stage) => stage !== undefined && lifecycle.stages.indexOf(stage) < handOffAt;
}

/** Summaries of a page of contacts, read together (a few queries for the page, not per contact). */
export async function summarizeContacts(
  storage: Storage,
  options: { workspaceId: string; profiles: Profile[]; now: number },
): Promise<Map<string, ContactSummary>> {
  const { workspaceId, profiles, now } = options;
  const ids = profiles.map((profile) => profile.id);
  if (ids.length === 0) return new Map();
  const [settings, ledger, accounts, stages, handOffs] = await Promise.all([
    storage.settings.get(workspaceId),
    storage.scoring.ledger(ids),
    storage.segments.accountTraits(ids),
    storage.scoring.stages(ids),
    storage.scoring.latestHandOffs(ids),
  ]);
  const ledgers = ledgersByProfile(ledger);
  const owners = new Map((settings.handOff?.owners ?? []).map((owner) => [owner.id, owner]));
  const isSentBack = sentBack(settings);
  return new Map(
    profiles.map((profile) => {
      const handOff = handOffs.get(profile.id);
      const ownerId =
        handOff && OWNED.has(handOff.status) && !isSentBack(stages.get(profile.id)) ? handOff.owner : null;
      const facts = { traits: profile.traits, accounts: accounts.get(profile.id) ?? [] };
      const summary: ContactSummary = {
        stage: stages.get(profile.id) ?? null,
        // An owner since taken off the team keeps their id: the contact is still theirs in the CRM.
        owner: ownerId
          ? {
              id: ownerId,
              name: owners.get(ownerId)?.name ?? ownerId,
              email: owners.get(ownerId)?.email ?? null,
            }
          : null,
        scores: settings.scoring.models.map((model) => ({
          model: model.id,
          score: scoreOf(model, ledgers.get(profile.id) ?? [], facts, now).score,
        })),
      };
      return [profile.id, summary];
    }),
  );
}
