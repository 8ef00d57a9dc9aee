import type { StoredEvent } from '../core/event.js';
import type { Profile, Traits } from '../core/profile.js';
import { setOwn } from '../profiles/traits.js';
import type { AccountTraitChange, AccountTraits, StorageReader, TraitChange } from '../storage/storage.js';

/** What fit rules read of a profile: its traits and its accounts' traits. */
export interface FitFacts {
  traits: Traits;
  accounts: Traits[];
}

/**
 * The fit facts of a batch's profiles as its events are walked: as they stood before the batch's
 * identify and group calls, then after each in turn (`applyCall`). Only what such a call changed is
 * kept: the rest had its value of now all along.
 */
export interface FactsThen {
  /** Per profile an identify call of the batch changed, its traits. */
  traits: Map<string, Traits>;
  traitChangesOf: Map<number, TraitChange[]>;
  /** Per account a group call of the batch changed, its traits. */
  accountTraits: Map<string, Traits>;
  accountChangesOf: Map<number, AccountTraitChange[]>;
  /** Per profile, its accounts (those of now: the group call that made it a contact is not undone). */
  accountsOf: ReadonlyMap<string, AccountTraits[]>;
}

/** Facts that no call of the batch changed: what a batch no score threshold looks at walks with. */
export function factsAsTheyAre(accountsOf: ReadonlyMap<string, AccountTraits[]>): FactsThen {
  return {
    traits: new Map(),
    traitChangesOf: new Map(),
    accountTraits: new Map(),
    accountChangesOf: new Map(),
    accountsOf,
  };
}

/**
 * The fit facts as they stood before the batch's identify and group calls (each trait a call
 * changed back to its value before the first), with those calls' changes to apply as they are met.
 */
export async function factsBeforeBatch(
  reader: StorageReader,
  options: {
    events: readonly StoredEvent[];
    profileOfEvent: ReadonlyMap<number, string>;
    profiles: readonly Profile[];
    accountsOf: ReadonlyMap<string, AccountTraits[]>;
  },
): Promise<FactsThen> {
  const { events, profileOfEvent, profiles, accountsOf } = options;
  const idsOf = (type: string) => events.filter((event) => event.type === type).map((event) => event.id);
  const [identifies, groupCalls] = [idsOf('identify'), idsOf('group')];
  const [traitChanges, accountChanges] = await Promise.all([
    identifies.length > 0 ? reader.profiles.listTraitChanges(identifies) : [],
    groupCalls.length > 0 ? reader.profiles.listAccountTraitChanges(groupCalls) : [],
  ]);
  const then = factsAsTheyAre(accountsOf);

  // An identify's changes are its profile's (not those a merge since moved to another).
  const ofItsProfile = traitChanges.filter(
    (change) => change.eventId !== null && profileOfEvent.get(change.eventId) === change.profileId,
  );
  for (const change of ofItsProfile) addTo(then.traitChangesOf, change.eventId as number, change);
  const profilesById = new Map(profiles.map((profile) => [profile.id, profile]));
  // Undone latest first, so each trait ends at its value before the earliest change.
  for (const change of [...ofItsProfile].reverse()) {
    const profile = profilesById.get(change.profileId);
    if (!profile) continue;
    const traits = then.traits.get(profile.id) ?? { ...profile.traits };
    undo(traits, change);
    then.traits.set(profile.id, traits);
  }

  // An account's traits are each of its contacts': a group call changes them for all of them at once.
  const accountsById = new Map([...accountsOf.values()].flat().map((account) => [account.id, account]));
  for (const change of accountChanges) addTo(then.accountChangesOf, change.eventId, change);
  for (const change of [...accountChanges].reverse()) {
    const account = accountsById.get(change.accountId);
    if (!account) continue;
    const traits = then.accountTraits.get(account.id) ?? { ...account.traits };
    undo(traits, change);
    then.accountTraits.set(account.id, traits);
  }
  return then;
}

/** The facts after `event`: what it changed, if it is an identify or a group call of the batch. */
export function applyCall(then: FactsThen, event: StoredEvent, profileId: string | undefined): void {
  const traitChanges = then.traitChangesOf.get(event.id);
  const traits = profileId === undefined ? undefined : then.traits.get(profileId);
  if (profileId !== undefined && traitChanges && traits)
    then.traits.set(profileId, changed(traits, traitChanges));
  for (const change of then.accountChangesOf.get(event.id) ?? []) {
    const accountTraits = then.accountTraits.get(change.accountId);
    if (accountTraits) then.accountTraits.set(change.accountId, changed(accountTraits, [change]));
  }
}

/** The profile's fit facts where the walk stands. */
export function factsThenOf(then: FactsThen, profile: Profile): FitFacts {
  return {
    traits: then.traits.get(profile.id) ?? profile.traits,
    accounts: (then.accountsOf.get(profile.id) ?? []).map(
      (account) => then.accountTraits.get(account.id) ?? account.traits,
    ),
  };
}

function addTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const values = map.get(key);
  if (values) values.push(value);
  else map.set(key, [value]);
}

function undo(traits: Traits, change: { trait: string; previous: unknown }): void {
  // Kept, an absent trait and a null one are alike: both are null.
  if (change.previous === undefined || change.previous === null) delete traits[change.trait];
  else setOwn<unknown>(traits, change.trait, change.previous);
}

function changed(traits: Traits, changes: ReadonlyArray<{ trait: string; value: unknown }>): Traits {
  const after = { ...traits };
  for (const change of changes) setOwn(after, change.trait, change.value);
  return after;
}
