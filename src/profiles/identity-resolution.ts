import { isDeepStrictEqual } from 'node:util';
import type { SegmentPayload, StoredEvent } from '../core/event.js';
import type { Account, Identity, IdentityKind, Profile, Traits } from '../core/profile.js';
import type { IdentityKey, ResolutionChanges } from '../storage/storage.js';
import { identifyTraits, mergeTraitHolders, mergeTraits } from './traits.js';

/** What resolution needs loaded from storage before it can decide a batch. */
export interface LoadedGraph {
  identities: Identity[];
  profiles: Profile[];
  accounts: Account[];
}

export interface ResolveOptions {
  workspaceId: string;
  /** This workspace's events, in log order. */
  events: StoredEvent[];
  graph: LoadedGraph;
  now: number;
  newProfileId: () => string;
  newAccountId: () => string;
}

/** The identity keys an event mentions, for loading the graph before `resolveIdentities`. */
export function identityKeysOf(event: StoredEvent): IdentityKey[] {
  const keys: IdentityKey[] = [];
  if (event.userId !== null) keys.push({ kind: 'user', value: event.userId });
  if (event.anonymousId !== null) keys.push({ kind: 'anonymous', value: event.anonymousId });
  const previousId = event.type === 'alias' ? idField(event.payload, 'previousId') : null;
  if (previousId !== null)
    keys.push({ kind: 'user', value: previousId }, { kind: 'anonymous', value: previousId });
  return keys;
}

export function groupIdOf(event: StoredEvent): string | null {
  return event.type === 'group' ? idField(event.payload, 'groupId') : null;
}

/**
 * Decides, for a batch of events, which profile each belongs to and what that changes:
 * - an anonymousId seen with a userId joins that user's profile; an anonymous profile that meets a
 *   known user is merged into it, keeping its history;
 * - a profile holds one userId: an anonymousId already tied to another user (a shared device) does
 *   not merge two people; `alias` is the explicit exception, and merges whatever it names;
 * - identify traits and group traits merge per trait, newest event timestamp first.
 * Pure: the caller loads the graph and writes the changes in one transaction.
 */
export function resolveIdentities(options: ResolveOptions): ResolutionChanges {
  return new BatchResolution(options).run();
}

class BatchResolution {
  readonly #options: ResolveOptions;
  readonly #identities = new Map<string, { key: IdentityKey; profileId: string }>();
  readonly #profiles = new Map<string, Profile>();
  readonly #newProfiles = new Set<string>();
  readonly #touchedProfiles = new Set<string>();
  readonly #accounts = new Map<string, Account>();
  readonly #newIdentities: ResolutionChanges['newIdentities'] = [];
  readonly #merges: ResolutionChanges['merges'] = [];
  readonly #identityEvents: ResolutionChanges['identityEvents'] = [];
  readonly #touchedAccounts = new Set<string>();
  readonly #members = new Map<string, ResolutionChanges['accountMembers'][number]>();
  readonly #traitChanges: ResolutionChanges['traitChanges'] = [];
  readonly #accountTraitChanges: ResolutionChanges['accountTraitChanges'] = [];

  constructor(options: ResolveOptions) {
    this.#options = options;
    for (const identity of options.graph.identities) {
      this.#identities.set(keyString(identity), { key: identity, profileId: identity.profileId });
    }
    for (const profile of options.graph.profiles) this.#profiles.set(profile.id, structuredClone(profile));
    for (const account of options.graph.accounts)
      this.#accounts.set(account.groupId, structuredClone(account));
  }

  run(): ResolutionChanges {
    for (const event of this.#options.events) this.#apply(event);
    const { workspaceId } = this.#options;
    const profiles = [...this.#touchedProfiles].map((id) => this.#profile(id));
    for (const profile of profiles)
      if (profile.mergedInto !== null) profile.mergedInto = this.#storedAs(profile.mergedInto);
    const read = new Map(this.#options.graph.profiles.map((profile) => [profile.id, profile]));
    const isOnlySeen = (profile: Profile) => {
      const before = read.get(profile.id);
      return (
        before !== undefined &&
        before.mergedInto === profile.mergedInto &&
        isDeepStrictEqual(before.traits, profile.traits) &&
        isDeepStrictEqual(before.traitTimes, profile.traitTimes)
      );
    };
    const existing = profiles.filter((profile) => !this.#newProfiles.has(profile.id));
    return {
      workspaceId,
      newProfiles: profiles.filter((profile) => this.#newProfiles.has(profile.id)),
      updatedProfiles: existing.filter((profile) => !isOnlySeen(profile)),
      seenProfiles: existing.filter(isOnlySeen),
      merges: this.#merges.map((merge) => ({ ...merge, into: this.#storedAs(merge.into) })),
      newIdentities: this.#newIdentities.map((identity) => ({
        ...identity,
        // A profile created and merged within this batch hands its identities to the survivor.
        profileId: this.#survivor(identity.profileId).id,
      })),
      identityEvents: this.#identityEvents,
      upsertedAccounts: [...this.#touchedAccounts].map((groupId) => this.#accounts.get(groupId) as Account),
      accountMembers: [...this.#members.values()].map((member) => ({
        ...member,
        profileId: this.#survivor(member.profileId).id,
      })),
      traitChanges: this.#traitChanges.map((change) => ({
        ...change,
        profileId: this.#survivor(change.profileId).id,
      })),
      accountTraitChanges: this.#accountTraitChanges,
    };
  }

  #apply(event: StoredEvent): void {
    const profile = this.#resolve(event);
    const filedUnder: IdentityKey =
      event.userId !== null
        ? { kind: 'user', value: event.userId }
        : { kind: 'anonymous', value: event.anonymousId ?? '' };
    this.#identityEvents.push({ identity: filedUnder, timestamp: event.timestamp, eventId: event.id });

    profile.firstSeenAt = Math.min(profile.firstSeenAt, event.timestamp);
    profile.lastSeenAt = Math.max(profile.lastSeenAt, event.timestamp);
    this.#touch(profile);

    if (event.type === 'identify') {
      for (const change of mergeTraits(profile, identifyTraits(event.payload), event.timestamp)) {
        this.#traitChanges.push({
          workspaceId: this.#options.workspaceId,
          eventId: event.id,
          profileId: profile.id,
          trait: change.trait,
          value: change.value,
          previous: change.previous,
          at: event.timestamp,
        });
      }
    } else if (event.type === 'group') {
      const groupId = groupIdOf(event);
      if (groupId !== null) this.#joinAccount(profile, groupId, objectField(event.payload, 'traits'), event);
    }
  }

  #resolve(event: StoredEvent): Profile {
    const { userId, anonymousId } = event;
    let profile: Profile;
    if (userId === null) {
      profile =
        this.#lookup('anonymous', anonymousId ?? '') ??
        this.#create(null, event, [['anonymous', anonymousId ?? '']]);
    } else {
      profile = this.#resolveUser(userId, anonymousId, event);
    }
    const previousId = event.type === 'alias' ? idField(event.payload, 'previousId') : null;
    if (previousId !== null && previousId !== userId) {
      const previous = this.#lookup('user', previousId) ?? this.#lookup('anonymous', previousId);
      // Unknown yet, it may be a visitor's id or a former user id whose events come later (a
      // backend's, a delayed mobile flush): either way they are this person's.
      if (previous === undefined) {
        this.#addIdentity(profile, 'anonymous', previousId);
        this.#addIdentity(profile, 'user', previousId);
      } else if (previous.id !== profile.id) this.#merge(previous, profile, event);
    }
    return profile;
  }

  #resolveUser(userId: string, anonymousId: string | null, event: StoredEvent): Profile {
    const known = this.#lookup('user', userId);
    const anonymous = anonymousId === null ? undefined : this.#lookup('anonymous', anonymousId);
    if (known === undefined && anonymous === undefined) {
      const identities: Array<[IdentityKind, string]> = [['user', userId]];
      if (anonymousId !== null) identities.push(['anonymous', anonymousId]);
      return this.#create(userId, event, identities);
    }
    if (known !== undefined && anonymous === undefined) {
      if (anonymousId !== null) this.#addIdentity(known, 'anonymous', anonymousId);
      return known;
    }
    if (known === undefined && anonymous !== undefined) {
      if (anonymous.userId !== null) return this.#create(userId, event, [['user', userId]]);
      anonymous.userId = userId;
      this.#addIdentity(anonymous, 'user', userId);
      return anonymous;
    }
    const user = known as Profile;
    const other = anonymous as Profile;
    if (user.id !== other.id && other.userId === null) this.#merge(other, user, event);
    return user;
  }

  #lookup(kind: IdentityKind, value: string): Profile | undefined {
    const identity = this.#identities.get(`${kind}:${value}`);
    return identity && this.#survivor(identity.profileId);
  }

  #survivor(profileId: string): Profile {
    let profile = this.#profile(profileId);
    while (profile.mergedInto !== null) profile = this.#profile(profile.mergedInto);
    return profile;
  }

  /**
   * The profile a merge into `profileId` is stored as going into. A profile made in this batch and
   * merged on within it (alias u3 ← u7, then u9 ← u3) is stored merged already, with no merge of its
   * own to hand on what went into it: that goes to where it went. A stored profile merged on is a
   * merge storage applies after this one, moving all it holds by then, stage history and all.
   */
  #storedAs(profileId: string): string {
    let profile = this.#profile(profileId);
    while (profile.mergedInto !== null && this.#newProfiles.has(profile.id))
      profile = this.#profile(profile.mergedInto);
    return profile.id;
  }

  #profile(id: string): Profile {
    const profile = this.#profiles.get(id);
    if (!profile) throw new Error(`profile ${id} was not loaded before resolution`);
    return profile;
  }

  #create(userId: string | null, event: StoredEvent, identities: Array<[IdentityKind, string]>): Profile {
    const { now, workspaceId } = this.#options;
    const profile: Profile = {
      id: this.#options.newProfileId(),
      workspaceId,
      userId,
      traits: {},
      traitTimes: {},
      firstSeenAt: event.timestamp,
      lastSeenAt: event.timestamp,
      createdAt: now,
      updatedAt: now,
      mergedInto: null,
      revision: 0,
    };
    this.#profiles.set(profile.id, profile);
    this.#newProfiles.add(profile.id);
    this.#touch(profile);
    for (const [kind, value] of identities) this.#addIdentity(profile, kind, value);
    return profile;
  }

  #addIdentity(profile: Profile, kind: IdentityKind, value: string): void {
    const key = `${kind}:${value}`;
    if (this.#identities.has(key)) return;
    this.#identities.set(key, { key: { kind, value }, profileId: profile.id });
    this.#newIdentities.push({ kind, value, profileId: profile.id, createdAt: this.#options.now });
  }

  #merge(from: Profile, into: Profile, event: StoredEvent): void {
    mergeTraitHolders(into, from);
    into.firstSeenAt = Math.min(into.firstSeenAt, from.firstSeenAt);
    into.lastSeenAt = Math.max(into.lastSeenAt, from.lastSeenAt);
    into.userId ??= from.userId;
    from.mergedInto = into.id;
    this.#touch(into);
    this.#touch(from);
    if (!this.#newProfiles.has(from.id))
      this.#merges.push({ from: from.id, into: into.id, eventId: event.id });
  }

  #touch(profile: Profile): void {
    profile.updatedAt = this.#options.now;
    this.#touchedProfiles.add(profile.id);
  }

  #joinAccount(profile: Profile, groupId: string, traits: Traits, event: StoredEvent): void {
    const { now, workspaceId } = this.#options;
    let account = this.#accounts.get(groupId);
    if (!account) {
      account = {
        id: this.#options.newAccountId(),
        workspaceId,
        groupId,
        traits: {},
        traitTimes: {},
        createdAt: now,
        updatedAt: now,
      };
      this.#accounts.set(groupId, account);
    }
    for (const change of mergeTraits(account, traits, event.timestamp))
      this.#accountTraitChanges.push({
        workspaceId,
        eventId: event.id,
        accountId: account.id,
        trait: change.trait,
        value: change.value,
        previous: change.previous,
        at: event.timestamp,
      });
    account.updatedAt = now;
    this.#touchedAccounts.add(groupId);
    this.#members.set(`${account.id}:${profile.id}`, {
      accountId: account.id,
      profileId: profile.id,
      createdAt: now,
    });
  }
}

function keyString(key: IdentityKey): string {
  return `${key.kind}:${key.value}`;
}

function idField(payload: SegmentPayload, name: string): string | null {
  const value = payload[name];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  return null;
}

function objectField(payload: SegmentPayload, name: string): Traits {
  const value = payload[name];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Traits) : {};
}
