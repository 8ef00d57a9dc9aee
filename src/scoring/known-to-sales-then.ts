import type { StoredEvent } from '../core/event.js';
import { isKnownToSales } from '../core/hand-off.js';
import type { Profile } from '../core/profile.js';
import { identityKeysOf } from '../profiles/profiles.js';
import type { StorageReader, TraitChange } from '../storage/storage.js';

/**
 * When, in a scoring batch, sales could first tell who each of its leads was (see `isKnownToSales`).
 * Identity resolution has read the whole batch before scoring does, so a profile found known now may
 * have been a visitor at the event that made it an MQL, known only from an identify further on: its
 * hand-off's SLA starts there, as it would had scoring read the identify in a batch of its own.
 */
export interface KnownToSalesThen {
  /**
   * For a lead that the batch's event at `index` took to the hand-off stage: `'then'` if sales could
   * tell who it was at that event; else the index of the later event of the batch that made it known;
   * undefined if none did (what made it known, if anything, is beyond the batch: the hand-off is owed).
   */
  knownSince(profileId: string, index: number): Promise<number | 'then' | undefined>;
  /**
   * For a lead owed a hand-off since an earlier batch: the index of the batch's event that made it
   * known — the login or alias merging it into a known profile, else the first call giving it a user
   * id or an e-mail — if one did.
   */
  madeKnownBy(profileId: string): number | undefined;
}

export async function knownToSalesThen(
  reader: StorageReader,
  options: {
    /** The batch's events, in log order: indices are theirs. */
    events: readonly StoredEvent[];
    profileOfEvent: ReadonlyMap<number, string>;
    profiles: ReadonlyMap<string, Profile>;
    /** The leads asked about: only their events are looked at. */
    leads: ReadonlySet<string>;
  },
): Promise<KnownToSalesThen> {
  const { events, profileOfEvent, profiles, leads } = options;
  /** Per lead, the indices of its batch events, in log order. */
  const indicesOf = new Map<string, number[]>();
  for (const [index, event] of events.entries()) {
    const profileId = profileOfEvent.get(event.id);
    if (profileId === undefined || !leads.has(profileId)) continue;
    const indices = indicesOf.get(profileId);
    if (indices) indices.push(index);
    else indicesOf.set(profileId, [index]);
  }
  const asked = [...indicesOf.values()].flat().map((index) => events[index] as StoredEvent);
  const identifies = asked.filter((event) => event.type === 'identify').map((event) => event.id);
  const [traitChanges, merged] = await Promise.all([
    identifies.length > 0 ? reader.profiles.listTraitChanges(identifies) : ([] as TraitChange[]),
    asked.length > 0 ? reader.profiles.eventsThatMerged(asked.map((event) => event.id)) : new Set<number>(),
  ]);
  /** Per identify of the batch, the e-mail it set on its lead. */
  const emailSetBy = new Map<number, TraitChange>();
  for (const change of traitChanges)
    if (
      change.trait === 'email' &&
      change.eventId !== null &&
      profileOfEvent.get(change.eventId) === change.profileId
    )
      emailSetBy.set(change.eventId, change);
  const hasEmail = (value: unknown) => isKnownToSales({ userId: null, traits: { email: value } });
  const makesKnown = (event: StoredEvent) =>
    event.userId !== null || hasEmail(emailSetBy.get(event.id)?.value);

  /** The lead's e-mail as it stood at the event at `index`: the changes later events made undone. */
  const emailAt = (profile: Profile, index: number): unknown => {
    const later = (indicesOf.get(profile.id) ?? [])
      .filter((other) => other > index)
      .map((other) => emailSetBy.get((events[other] as StoredEvent).id))
      .find((change) => change !== undefined);
    return later ? later.previous : profile.traits.email;
  };
  const userIdentityIds = async (profileId: string) =>
    (await reader.profiles.listIdentities(profileId))
      .filter((identity) => identity.kind === 'user')
      .map((identity) => identity.id);
  const namesWithUserId = (event: StoredEvent, anonymousId: string) =>
    event.userId !== null &&
    identityKeysOf(event).some((key) => key.kind === 'anonymous' && key.value === anonymousId);

  return {
    async knownSince(profileId, index) {
      const profile = profiles.get(profileId);
      const event = events[index];
      if (!profile || !event || !isKnownToSales(profile)) return undefined;
      if (event.userId !== null || event.anonymousId === null) return 'then';
      const { anonymousId } = event;
      const later = (indicesOf.get(profileId) ?? []).filter((other) => other > index);
      const firstLater = (isMaking: (call: StoredEvent) => boolean) =>
        later.find((other) => isMaking(events[other] as StoredEvent));
      const users = await userIdentityIds(profileId);
      if (!(await reader.profiles.hasEventBefore(users, event.id))) {
        // The lead had no user id yet: the event was its own, known then by its e-mail alone.
        if (hasEmail(emailAt(profile, index))) return 'then';
        return firstLater(makesKnown);
      }
      if (
        await reader.profiles.wasAnonymousIdJoinedBefore({
          userIdentityIds: users,
          anonymousId,
          beforeEventId: event.id,
        })
      )
        return 'then';
      // The lead had a user id, the visitor whose event it was not yet: merged into the lead since (a
      // login naming both ids, an alias), it was known from then, or from an e-mail it gave before.
      const ofVisitor = (call: StoredEvent) =>
        call.userId === null && call.anonymousId === anonymousId && hasEmail(emailSetBy.get(call.id)?.value);
      if (
        (indicesOf.get(profileId) ?? []).some(
          (other) => other < index && ofVisitor(events[other] as StoredEvent),
        )
      )
        return 'then';
      return firstLater((call) => namesWithUserId(call, anonymousId) || ofVisitor(call));
    },
    madeKnownBy(profileId) {
      const ofLead = indicesOf.get(profileId) ?? [];
      // An owed hand-off a merge moved here was the visitor's: the merge is what made it known.
      return (
        ofLead.find((index) => merged.has((events[index] as StoredEvent).id)) ??
        ofLead.find((index) => makesKnown(events[index] as StoredEvent))
      );
    },
  };
}
