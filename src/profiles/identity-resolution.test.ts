import { describe, expect, it } from 'vitest';
import type { EventType, StoredEvent } from '../core/event.js';
import type { Identity, Profile } from '../core/profile.js';
import { type LoadedGraph, resolveIdentities } from './identity-resolution.js';

const NOW = Date.UTC(2026, 10, 23);
let nextEventId = 1;

function call(type: EventType, fields: Record<string, unknown>, timestamp = NOW): StoredEvent {
  return {
    id: nextEventId++,
    workspaceId: 'ws',
    messageId: `m${nextEventId}`,
    type,
    name: null,
    userId: (fields.userId as string | undefined) ?? null,
    anonymousId: (fields.anonymousId as string | undefined) ?? null,
    timestamp,
    originalTimestamp: null,
    sentAt: null,
    receivedAt: NOW,
    payload: { type, ...fields },
  };
}

function resolve(events: StoredEvent[], graph: LoadedGraph = { identities: [], profiles: [], accounts: [] }) {
  let n = 0;
  return resolveIdentities({
    workspaceId: 'ws',
    events,
    graph,
    now: NOW,
    newProfileId: () => `prf_${++n}`,
    newAccountId: () => `acc_${++n}`,
  });
}

function stored(id: string, userId: string | null, traits: Record<string, unknown> = {}): Profile {
  return {
    id,
    workspaceId: 'ws',
    userId,
    traits,
    traitTimes: Object.fromEntries(Object.keys(traits).map((k) => [k, NOW - 1000])),
    firstSeenAt: NOW - 1000,
    lastSeenAt: NOW - 1000,
    createdAt: NOW - 1000,
    updatedAt: NOW - 1000,
    mergedInto: null,
    revision: 0,
  };
}

function identity(id: number, kind: 'user' | 'anonymous', value: string, profileId: string): Identity {
  return { id, workspaceId: 'ws', kind, value, profileId, createdAt: NOW - 1000 };
}

describe('resolveIdentities', () => {
  it('turns an anonymous visitor into the known user on identify, keeping one profile', () => {
    const changes = resolve([
      call('page', { anonymousId: 'a1' }),
      call('identify', { anonymousId: 'a1', userId: 'u1', traits: { email: 'ada@example.com' } }),
    ]);
    expect(changes.newProfiles).toHaveLength(1);
    expect(changes.newProfiles[0]).toMatchObject({ userId: 'u1', traits: { email: 'ada@example.com' } });
    expect(changes.newIdentities.map((i) => `${i.kind}:${i.value}`)).toEqual(['anonymous:a1', 'user:u1']);
    expect(changes.identityEvents.map((e) => `${e.identity.kind}:${e.identity.value}`)).toEqual([
      'anonymous:a1',
      'user:u1',
    ]);
  });

  it("takes an identify call's context.traits (RudderStack's SDKs send traits only there), under its own traits", () => {
    const changes = resolve([
      call('identify', { userId: 'u1', context: { traits: { email: 'ada@example.com', plan: 'free' } } }),
      call('identify', {
        userId: 'u2',
        traits: { plan: 'pro' },
        context: { traits: { plan: 'free', seats: 3 } },
      }),
      call('track', {
        userId: 'u3',
        event: 'Clicked',
        context: { traits: { email: 'not-identify@example.com' } },
      }),
    ]);
    expect(changes.newProfiles.map((p) => [p.userId, p.traits])).toEqual([
      ['u1', { email: 'ada@example.com', plan: 'free' }],
      ['u2', { plan: 'pro', seats: 3 }],
      ['u3', {}],
    ]);
  });

  it('merges a stored anonymous profile into the stored user profile it turns out to be', () => {
    const graph = {
      identities: [identity(1, 'anonymous', 'a1', 'prf_anon'), identity(2, 'user', 'u1', 'prf_user')],
      profiles: [
        stored('prf_anon', null, { plan: 'free' }),
        stored('prf_user', 'u1', { email: 'ada@example.com' }),
      ],
      accounts: [],
    };
    const login = call('track', { anonymousId: 'a1', userId: 'u1', event: 'Signed In' });
    const changes = resolve([login], graph);
    expect(changes.merges).toEqual([{ from: 'prf_anon', into: 'prf_user', eventId: login.id }]);
    const survivor = changes.updatedProfiles.find((p) => p.id === 'prf_user');
    expect(survivor?.traits).toEqual({ email: 'ada@example.com', plan: 'free' });
    expect(changes.updatedProfiles.find((p) => p.id === 'prf_anon')?.mergedInto).toBe('prf_user');
  });

  it('does not merge two known people who shared a device', () => {
    const graph = {
      identities: [identity(1, 'anonymous', 'device', 'prf_ada'), identity(2, 'user', 'ada', 'prf_ada')],
      profiles: [stored('prf_ada', 'ada')],
      accounts: [],
    };
    const changes = resolve([call('identify', { anonymousId: 'device', userId: 'bob' })], graph);
    expect(changes.merges).toEqual([]);
    expect(changes.newProfiles.map((p) => p.userId)).toEqual(['bob']);
    expect(changes.newIdentities.map((i) => `${i.kind}:${i.value}`)).toEqual(['user:bob']);
  });

  it('lets alias merge what it names, even two known ids', () => {
    const graph = {
      identities: [identity(1, 'user', 'old-id', 'prf_old'), identity(2, 'user', 'new-id', 'prf_new')],
      profiles: [stored('prf_old', 'old-id', { city: 'Rome' }), stored('prf_new', 'new-id')],
      accounts: [],
    };
    const alias = call('alias', { userId: 'new-id', previousId: 'old-id' });
    const changes = resolve([alias], graph);
    expect(changes.merges).toEqual([{ from: 'prf_old', into: 'prf_new', eventId: alias.id }]);
    expect(changes.updatedProfiles.find((p) => p.id === 'prf_new')?.traits).toEqual({ city: 'Rome' });
  });

  it('takes the events of an id an alias named before it was seen, as a user id or a visitor’s', () => {
    const changes = resolve([
      call('alias', { userId: 'new-id', previousId: 'old-id' }),
      call('track', { userId: 'old-id', event: 'Legacy Backend Event' }),
      call('track', { anonymousId: 'old-id', event: 'Page Viewed' }),
    ]);
    expect(changes.newProfiles.map((profile) => profile.userId)).toEqual(['new-id']);
    expect(changes.newIdentities.map((i) => `${i.kind}:${i.value}`).sort()).toEqual([
      'anonymous:old-id',
      'user:new-id',
      'user:old-id',
    ]);
  });

  it('keeps the newest value of each trait, whatever order the events arrive in', () => {
    const changes = resolve([
      call('identify', { userId: 'u1', traits: { plan: 'pro', city: 'Milan' } }, NOW + 2000),
      call('identify', { userId: 'u1', traits: { plan: 'free', name: 'Ada' } }, NOW + 1000),
    ]);
    expect(changes.newProfiles[0]?.traits).toEqual({ plan: 'pro', city: 'Milan', name: 'Ada' });
    expect(changes.newProfiles[0]?.firstSeenAt).toBe(NOW + 1000);
    expect(changes.newProfiles[0]?.lastSeenAt).toBe(NOW + 2000);
  });

  it('creates an account on group and links the profile, merging account traits', () => {
    const [first, second] = [
      call('group', { userId: 'u1', groupId: 'acme', traits: { name: 'Acme', employees: 50 } }),
      call('group', { userId: 'u2', groupId: 'acme', traits: { employees: 60, name: 'Acme' } }, NOW + 1),
    ];
    const changes = resolve([first, second]);
    expect(changes.upsertedAccounts).toHaveLength(1);
    expect(changes.upsertedAccounts[0]).toMatchObject({
      groupId: 'acme',
      traits: { name: 'Acme', employees: 60 },
    });
    expect(changes.accountMembers).toHaveLength(2);
    // What each call changed, for scoring to walk a batch's account traits call by call.
    const accountId = changes.upsertedAccounts[0]?.id;
    expect(changes.accountTraitChanges).toEqual([
      {
        workspaceId: 'ws',
        eventId: first.id,
        accountId,
        trait: 'name',
        value: 'Acme',
        previous: undefined,
        at: NOW,
      },
      {
        workspaceId: 'ws',
        eventId: first.id,
        accountId,
        trait: 'employees',
        value: 50,
        previous: undefined,
        at: NOW,
      },
      {
        workspaceId: 'ws',
        eventId: second.id,
        accountId,
        trait: 'employees',
        value: 60,
        previous: 50,
        at: NOW + 1,
      },
    ]);
  });

  it('merges into the last survivor when a profile an alias merged into is itself aliased away in the batch', () => {
    const graph = {
      identities: [identity(1, 'user', 'u7', 'prf_u7')],
      profiles: [stored('prf_u7', 'u7', { city: 'Rome' })],
      accounts: [],
    };
    const changes = resolve(
      [
        call('track', { userId: 'u3' }),
        call('alias', { userId: 'u3', previousId: 'u7' }),
        call('alias', { userId: 'u9', previousId: 'u3' }),
      ],
      graph,
    );
    // u3's profile (prf_1), made in the batch, went into u9's (prf_2): u7's goes there too, not to prf_1.
    expect(changes.merges).toEqual([{ from: 'prf_u7', into: 'prf_2', eventId: expect.any(Number) }]);
    expect(changes.updatedProfiles.find((p) => p.id === 'prf_u7')?.mergedInto).toBe('prf_2');
    expect(changes.newProfiles.map((p) => [p.id, p.mergedInto])).toEqual([
      ['prf_1', 'prf_2'],
      ['prf_2', null],
    ]);
    expect(changes.newIdentities.map((i) => `${i.kind}:${i.value} ${i.profileId}`)).toEqual([
      'user:u3 prf_2',
      'user:u9 prf_2',
    ]);
  });

  it('hands identities of a profile created and merged in the same batch to the survivor', () => {
    const graph = {
      identities: [identity(2, 'user', 'u1', 'prf_user')],
      profiles: [stored('prf_user', 'u1')],
      accounts: [],
    };
    const changes = resolve(
      [call('page', { anonymousId: 'fresh' }), call('identify', { anonymousId: 'fresh', userId: 'u1' })],
      graph,
    );
    expect(changes.merges).toEqual([]);
    expect(changes.newIdentities).toEqual([
      expect.objectContaining({ kind: 'anonymous', value: 'fresh', profileId: 'prf_user' }),
    ]);
    expect(changes.newProfiles.map((p) => p.mergedInto)).toEqual(['prf_user']);
  });
});
