import type { Profile } from '../core/profile.js';
import type { ResolutionChanges } from '../storage/storage.js';
import type { JourneyWorld } from './journey-world.js';

/** A known user and, apart from them, a visitor who will turn out to be the same person. */
export async function userAndVisitor(
  world: JourneyWorld,
  ids: { userId: string; anonymousId: string },
): Promise<{ user: Profile; visitor: Profile }> {
  await world.send([
    { type: 'identify', userId: ids.userId, traits: {} },
    { type: 'page', anonymousId: ids.anonymousId, properties: {} },
  ]);
  await world.settle();
  const user = await world.storage.profiles.find(world.workspaceId, await world.profileOf(ids.userId));
  const [identity] = await world.storage.profiles.findIdentities(world.workspaceId, [
    { kind: 'anonymous', value: ids.anonymousId },
  ]);
  const visitor = await world.storage.profiles.find(world.workspaceId, identity?.profileId ?? '');
  if (!user || !visitor || user.id === visitor.id) throw new Error('expected two profiles');
  return { user, visitor };
}

/** What identity resolution writes when `visitor` is found to be `user` (as another process would). */
export function mergeOf(visitor: Profile, user: Profile, eventId = 1): ResolutionChanges {
  return {
    workspaceId: visitor.workspaceId,
    newProfiles: [],
    updatedProfiles: [{ ...visitor, mergedInto: user.id }],
    seenProfiles: [],
    merges: [{ from: visitor.id, into: user.id, eventId }],
    newIdentities: [],
    identityEvents: [],
    upsertedAccounts: [],
    accountMembers: [],
    traitChanges: [],
    accountTraitChanges: [],
  };
}
