import type { StoredEvent } from '../core/event.js';
import { newId } from '../core/ids.js';
import type { Account, Identity, Profile } from '../core/profile.js';
import type { Page, PageRequest, Storage, StorageTx } from '../storage/storage.js';
import { groupIdOf, identityKeysOf, resolveIdentities } from './identity-resolution.js';

export interface ProfileDetails {
  profile: Profile;
  identities: Identity[];
  accounts: Account[];
}

/**
 * Applies identity resolution to a batch of events inside the pipeline's transaction: loads the part
 * of the identity graph the events mention, decides, writes. Returns each event's profile id.
 */
export async function resolveEventBatch(tx: StorageTx, events: StoredEvent[], now: number): Promise<void> {
  const byWorkspace = new Map<string, StoredEvent[]>();
  for (const event of events) {
    const list = byWorkspace.get(event.workspaceId);
    if (list) list.push(event);
    else byWorkspace.set(event.workspaceId, [event]);
  }
  for (const [workspaceId, workspaceEvents] of byWorkspace) {
    const identities = await tx.profiles.findIdentities(workspaceId, workspaceEvents.flatMap(identityKeysOf));
    const profiles = await tx.profiles.findProfilesByIds(identities.map((identity) => identity.profileId));
    const groupIds = workspaceEvents.map(groupIdOf).filter((groupId): groupId is string => groupId !== null);
    const accounts =
      groupIds.length > 0 ? await tx.profiles.findAccountsByGroupIds(workspaceId, groupIds) : [];
    const changes = resolveIdentities({
      workspaceId,
      events: workspaceEvents,
      graph: { identities, profiles, accounts },
      now,
      newProfileId: () => newId('prf', now),
      newAccountId: () => newId('acc', now),
    });
    await tx.profiles.applyResolution(changes);
  }
}

export async function findProfileDetails(
  storage: Storage,
  workspaceId: string,
  profileId: string,
): Promise<ProfileDetails | undefined> {
  const profile = await storage.profiles.find(workspaceId, profileId);
  if (!profile) return undefined;
  const [identities, accounts] = await Promise.all([
    storage.profiles.listIdentities(profile.id),
    storage.profiles.listAccounts(profile.id),
  ]);
  return { profile, identities, accounts };
}

/** The profile's events, newest first, across every identity it has gathered. */
export async function listProfileTimeline(
  storage: Storage,
  workspaceId: string,
  profileId: string,
  page: PageRequest,
): Promise<Page<StoredEvent> | undefined> {
  const profile = await storage.profiles.find(workspaceId, profileId);
  if (!profile) return undefined;
  const identities = await storage.profiles.listIdentities(profile.id);
  return storage.events.listForIdentities(
    identities.map((identity) => identity.id),
    page,
  );
}
