import { groupByWorkspace, type StoredEvent } from '../core/event.js';
import { newId } from '../core/ids.js';
import type { Account, Identity, Profile, Traits } from '../core/profile.js';
import type {
  IdentityKey,
  Page,
  PageRequest,
  PipelineBatch,
  ResolutionChanges,
  StageChange,
  Storage,
  StorageReader,
  StorageTx,
} from '../storage/storage.js';
import { groupIdOf, identityKeysOf, resolveIdentities } from './identity-resolution.js';

/** The profile consumer's cursor: the first consumer of the event log. */
export const PROFILES_CURSOR = 'profiles';

export interface ProfileDetails {
  profile: Profile;
  identities: Identity[];
  accounts: Account[];
}

/**
 * Identity resolution as a pipeline batch: loads the part of the identity graph the events mention
 * and decides (reads only), then returns the writes, which commit with the cursor's move.
 */
export const profileResolutionBatch = (now: () => number): PipelineBatch<void> => ({
  async prepare(events, reader) {
    const at = now();
    const decisions: Array<{
      changes: ResolutionChanges;
      stages: readonly string[] | undefined;
      handOffStages: readonly string[] | undefined;
    }> = [];
    // Mops's own events are filed under their profile as they are written: nothing to resolve.
    const clientEvents = events.filter((event) => event.origin !== 'mops');
    for (const [workspaceId, workspaceEvents] of groupByWorkspace(clientEvents)) {
      const identities = await reader.profiles.findIdentities(
        workspaceId,
        workspaceEvents.flatMap(identityKeysOf),
      );
      const profiles = await reader.profiles.findProfilesByIds(
        identities.map((identity) => identity.profileId),
      );
      const groupIds = workspaceEvents
        .map(groupIdOf)
        .filter((groupId): groupId is string => groupId !== null);
      const accounts =
        groupIds.length > 0 ? await reader.profiles.findAccountsByGroupIds(workspaceId, groupIds) : [];
      const changes = resolveIdentities({
        workspaceId,
        events: workspaceEvents,
        graph: { identities, profiles, accounts },
        now: at,
        newProfileId: () => newId('prf', at),
        newAccountId: () => newId('acc', at),
      });
      const settings = changes.merges.length > 0 ? await reader.settings.get(workspaceId) : undefined;
      const stages = settings?.lifecycle?.stages;
      // A merged profile sent back from sales (before these) does not make the other's owed hand-off go.
      const handOffStage = settings?.handOff?.stage;
      const handOffAt = handOffStage === undefined ? -1 : (stages?.indexOf(handOffStage) ?? -1);
      const handOffStages = stages && handOffAt >= 0 ? stages.slice(handOffAt) : undefined;
      decisions.push({ changes, stages, handOffStages });
    }
    return async (tx) => {
      if (decisions.some(({ changes }) => changes.merges.length > 0)) await tx.profiles.lockForMerges();
      for (const { changes, stages, handOffStages } of decisions) {
        const { mergedStages } = await tx.profiles.applyResolution(changes, { handOffStages });
        if (!stages || mergedStages.size === 0) continue;
        const kept = await stagesKeptThroughMerges(tx, { changes, stages, mergedStages, at });
        // Read and written under the merges lock, beside nothing else moving stages.
        if ((await tx.scoring.setStages(kept)).length > 0)
          throw new Error('a stage kept through a merge was refused: it was read under the merges lock');
      }
    };
  },
});

/**
 * Stages only move forward, so a profile merged into one behind it in the lifecycle brings its stage
 * along (a visitor who became a customer signs in as a known lead: a customer); the survivor keeps its
 * own stage otherwise (one without a stage took the merged-away one's with the merge). Merges are
 * taken in order, each from the stage the one before left the survivor at; along a chain in one batch
 * (a visitor into a user, that user aliased into another) the stage goes to the last survivor.
 */
async function stagesKeptThroughMerges(
  tx: StorageTx,
  options: {
    changes: ResolutionChanges;
    stages: readonly string[];
    mergedStages: ReadonlyMap<string, string>;
    at: number;
  },
): Promise<StageChange[]> {
  const { changes, stages, mergedStages, at } = options;
  const mergedInto = new Map(changes.merges.map(({ from, into }) => [from, into]));
  const lastSurvivor = (profileId: string): string => {
    let survivor = profileId;
    for (let hops = 0; mergedInto.has(survivor) && hops <= changes.merges.length; hops++)
      survivor = mergedInto.get(survivor) as string;
    return survivor;
  };
  const survivors = [...new Set(changes.merges.map(({ into }) => lastSurvivor(into)))];
  const survivorStages = await tx.scoring.stages(survivors);
  const kept: StageChange[] = [];
  for (const { from, into } of changes.merges) {
    const merged = mergedStages.get(from);
    const survivorId = lastSurvivor(into);
    const survivor = survivorStages.get(survivorId);
    if (
      merged === undefined ||
      stages.indexOf(merged) <= (survivor === undefined ? -1 : stages.indexOf(survivor))
    )
      continue;
    kept.push({
      workspaceId: changes.workspaceId,
      profileId: survivorId,
      from: survivor ?? null,
      to: merged,
      reason: 'merged with a profile further along',
      at,
    });
    survivorStages.set(survivorId, merged);
  }
  return kept;
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

/** The traits of these profiles, by id (none for an id no profile has), to tell who each one is in a list. */
export async function traitsOfProfiles(
  reader: Pick<StorageReader, 'profiles'>,
  profileIds: string[],
): Promise<Map<string, Traits>> {
  const profiles = await reader.profiles.findProfilesByIds(profileIds);
  return new Map(profiles.map((profile) => [profile.id, profile.traits]));
}

/**
 * Which of these profiles a merge changed since `mergeSequence` said `mergesBefore`: merged away, or
 * absorbing another. Reads made before then missed what the merge moved. Call under `holdOffMerges`.
 */
export async function profilesMergedSince(
  tx: Pick<StorageTx, 'profiles'>,
  profileIds: string[],
  mergesBefore: number,
): Promise<Set<string>> {
  if (profileIds.length === 0) return new Set();
  return new Set([
    ...(await tx.profiles.mergedAwayAmong(profileIds)),
    ...(await tx.profiles.survivorsOfMergesSince(profileIds, mergesBefore)),
  ]);
}

/**
 * The contacts of every account whose traits these events' group calls set: an account's traits are
 * each of its contacts' account traits, so one contact's group call changes the others' too.
 */
export async function contactsOfAccountsChanged(
  reader: Pick<StorageReader, 'profiles'>,
  workspaceId: string,
  events: readonly StoredEvent[],
): Promise<string[]> {
  const groupIds = new Set<string>();
  for (const event of events) {
    const groupId = groupIdOf(event);
    const traits = (event.payload as { traits?: unknown }).traits;
    if (groupId !== null && traits !== null && typeof traits === 'object' && Object.keys(traits).length > 0)
      groupIds.add(groupId);
  }
  if (groupIds.size === 0) return [];
  const contacts = new Set<string>();
  for (const account of await reader.profiles.findAccountsByGroupIds(workspaceId, [...groupIds]))
    for (const profileId of await reader.profiles.listAccountMembers(workspaceId, account.id))
      contacts.add(profileId);
  return [...contacts];
}

/** Each event's profile, through its identity (identities always point at the surviving profile). */
export async function eventProfileIds(
  reader: Pick<StorageReader, 'profiles'>,
  workspaceId: string,
  events: StoredEvent[],
): Promise<Map<number, string>> {
  const keys: IdentityKey[] = [];
  for (const event of events) {
    if (event.userId !== null) keys.push({ kind: 'user', value: event.userId });
    else if (event.anonymousId !== null) keys.push({ kind: 'anonymous', value: event.anonymousId });
  }
  const identities = await reader.profiles.findIdentities(workspaceId, keys);
  const byKey = new Map(
    identities.map((identity) => [`${identity.kind}:${identity.value}`, identity.profileId]),
  );
  const result = new Map<number, string>();
  for (const event of events) {
    const key = event.userId !== null ? `user:${event.userId}` : `anonymous:${event.anonymousId}`;
    const profileId = byKey.get(key);
    if (profileId) result.set(event.id, profileId);
  }
  return result;
}
