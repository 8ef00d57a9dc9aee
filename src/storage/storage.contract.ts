import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewEvent } from '../core/event.js';
import { newId } from '../core/ids.js';
import { type Message, newMessage } from '../core/journey.js';
import type { Profile } from '../core/profile.js';
import type { SuppressionReason } from '../core/topic-consent.js';
import { trackEvent } from '../test-support/events.js';
import { untilEventsReadable } from '../test-support/readable-events.js';
import type { HandOff, PipelineBatch, PipelineOutcome, PipelineReadOptions, Storage } from './storage.js';

const NOW = Date.UTC(2026, 10, 23, 9, 0, 0);

const event = (overrides: Partial<NewEvent> & { workspaceId: string }): NewEvent => trackEvent(overrides);

function profile(workspaceId: string, overrides: Partial<Profile> = {}): Profile {
  return {
    id: newId('prf'),
    workspaceId,
    userId: null,
    traits: {},
    traitTimes: {},
    firstSeenAt: NOW,
    lastSeenAt: NOW,
    createdAt: NOW,
    updatedAt: NOW,
    mergedInto: null,
    revision: 0,
    ...overrides,
  };
}

function outboxMessage(workspaceId: string, overrides: Partial<Message> = {}): Message {
  const message = newMessage(
    {
      workspaceId,
      profileId: newId('prf'),
      channel: 'email',
      topic: 'marketing',
      idempotencyKey: newId('key'),
      context: {},
    },
    NOW,
  );
  return { ...message, id: newId('msg'), ...overrides };
}

/** The behaviour every Storage backend must have; run against SQLite and PostgreSQL alike. */
export function runStorageContract(
  newStorage: () => Promise<{ storage: Storage; cleanup: () => Promise<void> }>,
) {
  let storage: Storage;
  let cleanup: () => Promise<void>;
  let workspaceId: string;

  beforeEach(async () => {
    ({ storage, cleanup } = await newStorage());
    await storage.migrate();
    workspaceId = newId('ws');
    await storage.workspaces.create({ id: workspaceId, name: 'Shop', createdAt: NOW });
  });

  afterEach(async () => {
    await storage.close();
    await cleanup();
  });

  describe('migrations', () => {
    it('applies nothing the second time', async () => {
      expect(await storage.migrate()).toEqual([]);
    });
  });

  describe('event log', () => {
    it('counts each request’s own stored events and duplicates when appends go together', async () => {
      const a = event({ workspaceId, messageId: 'same-a' });
      const b = event({ workspaceId, messageId: 'same-b' });
      const c = event({ workspaceId, messageId: 'same-c' });
      const results = await Promise.all([
        storage.events.append({ events: [a, b], rejected: [] }),
        storage.events.append({ events: [b, c, c], rejected: [] }),
        storage.events.append({ events: [a], rejected: [] }),
      ]);
      expect(results).toEqual([
        { stored: 2, duplicates: 0 },
        { stored: 1, duplicates: 2 },
        { stored: 0, duplicates: 1 },
      ]);
      const listed = await storage.events.list(workspaceId, { limit: 10 });
      expect(listed.items.map((e) => e.messageId).sort()).toEqual(['same-a', 'same-b', 'same-c']);
    });

    it('stores events and lists them newest first, in pages', async () => {
      const events = Array.from({ length: 5 }, (_, i) => event({ workspaceId, name: `E${i}` }));
      expect(await storage.events.append({ events, rejected: [] })).toEqual({ stored: 5, duplicates: 0 });
      const first = await storage.events.list(workspaceId, { limit: 3 });
      expect(first.items.map((e) => e.name)).toEqual(['E4', 'E3', 'E2']);
      expect(first.nextCursor).not.toBeNull();
      const second = await storage.events.list(workspaceId, {
        limit: 3,
        cursor: first.nextCursor ?? undefined,
      });
      expect(second.items.map((e) => e.name)).toEqual(['E1', 'E0']);
      expect(second.nextCursor).toBeNull();
      expect(second.items[0]?.payload).toMatchObject({ type: 'track', event: 'Product Viewed' });
    });

    it('names the latest events, most borne first, looking no further back than it is asked', async () => {
      const named = (name: string | null) => ({ ...event({ workspaceId }), name });
      await storage.events.append({
        events: [named('Old Only'), named('Page Viewed'), named('Order Completed'), named(null)],
        rejected: [],
      });
      await storage.events.append({
        events: [named('Page Viewed'), named('Page Viewed'), named('Order Completed'), named('Added')],
        rejected: [],
      });
      await storage.events.append({
        events: [event({ workspaceId: 'ws_other', name: 'Elsewhere' })],
        rejected: [],
      });
      expect(await storage.events.recentNames(workspaceId, { scan: 100, limit: 10 })).toEqual([
        { name: 'Page Viewed', count: 3 },
        { name: 'Order Completed', count: 2 },
        { name: 'Added', count: 1 },
        { name: 'Old Only', count: 1 },
      ]);
      // The latest six only (the first Page Viewed and Old Only are older), two names at most.
      expect(await storage.events.recentNames(workspaceId, { scan: 6, limit: 2 })).toEqual([
        { name: 'Order Completed', count: 2 },
        { name: 'Page Viewed', count: 2 },
      ]);
    });

    it('stores an event once when the same messageId arrives again, within a batch or later', async () => {
      const once = event({ workspaceId, messageId: 'm-1' });
      expect(await storage.events.append({ events: [once, { ...once }], rejected: [] })).toEqual({
        stored: 1,
        duplicates: 1,
      });
      expect(await storage.events.append({ events: [{ ...once }], rejected: [] })).toEqual({
        stored: 0,
        duplicates: 1,
      });
      const page = await storage.events.list(workspaceId, { limit: 10 });
      expect(page.items).toHaveLength(1);
    });

    it('scopes messageIds by workspace', async () => {
      const otherWorkspace = newId('ws');
      await storage.workspaces.create({ id: otherWorkspace, name: 'Other', createdAt: NOW });
      await storage.events.append({ events: [event({ workspaceId, messageId: 'same' })], rejected: [] });
      const result = await storage.events.append({
        events: [event({ workspaceId: otherWorkspace, messageId: 'same' })],
        rejected: [],
      });
      expect(result.stored).toBe(1);
      expect((await storage.events.list(workspaceId, { limit: 10 })).items).toHaveLength(1);
    });

    it('keeps rejected events with their reason, newest first', async () => {
      await storage.events.append({
        events: [event({ workspaceId })],
        rejected: [
          {
            workspaceId,
            receivedAt: NOW,
            messageId: 'bad-1',
            reason: 'userId or anonymousId is required',
            field: 'batch[1].userId',
            payload: '{}',
          },
          {
            workspaceId,
            receivedAt: NOW,
            messageId: null,
            reason: 'type is required',
            field: 'batch[2].type',
            payload: '{"a":1}',
          },
        ],
      });
      const page = await storage.events.listRejected(workspaceId, { limit: 10 });
      expect(page.items.map((r) => r.field)).toEqual(['batch[2].type', 'batch[1].userId']);
      const inRange = await storage.events.listRejected(
        workspaceId,
        { limit: 10 },
        { from: NOW, to: NOW + 1 },
      );
      expect(inRange.items).toHaveLength(2);
      const before = await storage.events.listRejected(
        workspaceId,
        { limit: 10 },
        { from: NOW - 10, to: NOW },
      );
      expect(before.items).toEqual([]);
      expect(page.items[1]).toMatchObject({
        messageId: 'bad-1',
        reason: 'userId or anonymousId is required',
        payload: '{}',
      });
    });

    it('writes nothing of an append that fails', async () => {
      const good = event({ workspaceId, messageId: 'good' });
      // A NOT NULL violation on the rejected row aborts the whole append, valid events included.
      const broken = {
        workspaceId,
        receivedAt: NOW,
        messageId: null,
        reason: null as unknown as string,
        field: null,
        payload: '{}',
      };
      await expect(storage.events.append({ events: [good], rejected: [broken] })).rejects.toThrow();
      expect((await storage.events.list(workspaceId, { limit: 10 })).items).toHaveLength(0);
      // …and the messageId is still free: a retry stores it.
      expect(await storage.events.append({ events: [good], rejected: [] })).toEqual({
        stored: 1,
        duplicates: 0,
      });
    });

    it('tells when its newest client event was received, passing over Mops’s own written since', async () => {
      expect(await storage.events.newestReceivedAt()).toBeUndefined();
      await storage.events.append({ events: [event({ workspaceId, receivedAt: NOW - 10 })], rejected: [] });
      await storage.events.append({ events: [event({ workspaceId, receivedAt: NOW })], rejected: [] });
      await storage.transaction((tx) =>
        tx.generatedEvents.append([{ event: event({ workspaceId, receivedAt: NOW + 10 }), identityId: 1 }]),
      );
      expect(await storage.events.newestReceivedAt()).toBe(NOW);
      await storage.events.append({
        events: [
          event({ workspaceId, messageId: 'demo-1-0' }),
          event({ workspaceId, messageId: 'Demo-2-0' }),
        ],
        rejected: [],
      });
      expect(await storage.events.listMessageIdsWithPrefix(workspaceId, 'demo-')).toEqual(['demo-1-0']);
      expect(await storage.events.listMessageIdsWithPrefix('ws_other', 'demo-')).toEqual([]);
    });

    it('rejects a cursor it did not hand out', async () => {
      await expect(storage.events.list(workspaceId, { limit: 5, cursor: 'not-a-cursor' })).rejects.toThrow(
        /cursor/,
      );
    });
  });

  describe('pipeline batches', () => {
    /** A batch run by hand, once all that was appended is readable (see `untilEventsReadable`). */
    async function runBatch<T>(
      cursor: string,
      limit: number,
      batch: PipelineBatch<T>,
      options?: PipelineReadOptions,
    ): Promise<PipelineOutcome<T>> {
      await untilEventsReadable(storage);
      return storage.runPipelineBatch(cursor, limit, batch, NOW, options);
    }

    const names = (failWith?: string): PipelineBatch<Array<string | null>> => ({
      async prepare(events) {
        return async () => {
          if (failWith) throw new Error(failWith);
          return events.map((e) => e.name);
        };
      },
    });

    it('reads events after the cursor in commit order, and remembers where it stopped', async () => {
      expect(await runBatch('test', 2, names())).toEqual({ status: 'idle' });
      await storage.events.append({
        events: [1, 2, 3].map((i) => event({ workspaceId, name: `E${i}`, receivedAt: NOW + i })),
        rejected: [],
      });
      expect(await runBatch('test', 2, names())).toMatchObject({
        status: 'done',
        result: ['E1', 'E2'],
      });
      await storage.events.append({ events: [event({ workspaceId, name: 'E4' })], rejected: [] });
      expect(await storage.pipelineLag('test')).toBe(2);
      // E3 is the first it has not processed: received when it was.
      expect(await storage.firstUnprocessedAt('test')).toBe(NOW + 3);
      expect(await runBatch('test', 10, names())).toMatchObject({
        status: 'done',
        result: ['E3', 'E4'],
      });
      expect(await storage.pipelineLag('test')).toBe(0);
      expect(await storage.firstUnprocessedAt('test')).toBeUndefined();
      expect(await runBatch('test', 10, names())).toEqual({ status: 'idle' });
      // Cursors are independent of each other.
      expect(await runBatch('other', 10, names())).toMatchObject({
        result: ['E1', 'E2', 'E3', 'E4'],
      });
    });

    it("passes over Mops's own events for a consumer that skips them, and counts only clients' toward the limit", async () => {
      const client = (name: string) =>
        storage.events.append({ events: [event({ workspaceId, name })], rejected: [] });
      const mops = (...names: string[]) =>
        storage.transaction((tx) =>
          tx.generatedEvents.append(
            names.map((name) => ({
              event: event({ workspaceId, name, payload: JSON.stringify({ properties: { segment: name } }) }),
              identityId: 1,
            })),
          ),
        );
      await client('C1');
      await mops('M1', 'M2');
      await client('C2');
      await client('C3');
      await mops('M3');
      const seen: PipelineBatch<unknown[]> = {
        async prepare(events) {
          return async () =>
            events.map((e) => [
              e.name,
              e.origin ?? 'client',
              (e.payload.properties as { segment?: string } | undefined)?.segment,
            ]);
        },
      };
      expect(await runBatch('whole', 2, seen)).toMatchObject({
        result: [
          ['C1', 'client', undefined],
          ['M1', 'mops', 'M1'],
          ['M2', 'mops', 'M2'],
          ['C2', 'client', undefined],
        ],
      });
      expect(await runBatch('whole', 2, seen)).toMatchObject({
        result: [
          ['C3', 'client', undefined],
          ['M3', 'mops', 'M3'],
        ],
      });
      expect(await storage.pipelineLag('whole')).toBe(0);

      const skip = { skipMopsEvents: true };
      expect(await runBatch('skip', 2, seen, skip)).toMatchObject({
        result: [
          ['C1', 'client', undefined],
          ['C2', 'client', undefined],
        ],
      });
      expect(await runBatch('skip', 2, seen, skip)).toMatchObject({
        result: [['C3', 'client', undefined]],
      });
      // The cursor went past M3, which it skipped, so it is not behind.
      expect(await storage.pipelineLag('skip')).toBe(0);
      expect(await runBatch('skip', 2, seen, skip)).toEqual({ status: 'idle' });
      // Those asked for by name are read all the same.
      const some = { skipMopsEvents: true, mopsEventsRead: ['M2', 'M3'] };
      expect(await runBatch('some', 3, seen, some)).toMatchObject({
        result: [
          ['C1', 'client', undefined],
          ['M2', 'mops', 'M2'],
          ['C2', 'client', undefined],
          ['C3', 'client', undefined],
        ],
      });
      expect(await runBatch('some', 3, seen, some)).toMatchObject({
        result: [['M3', 'mops', 'M3']],
      });
      // A batch of nothing but Mops's own events moves the cursor and hands over none.
      await mops('M4');
      expect(await runBatch('skip', 2, seen, skip)).toMatchObject({
        status: 'done',
        result: [],
      });
      expect(await storage.pipelineLag('skip')).toBe(0);
    });

    it('does not move the cursor when the batch fails, so it is replayed', async () => {
      await storage.events.append({ events: [event({ workspaceId, name: 'E1' })], rejected: [] });
      await expect(runBatch('test', 10, names('crash before commit'))).rejects.toThrow('crash before commit');
      expect(await runBatch('test', 10, names())).toMatchObject({
        status: 'done',
        result: ['E1'],
      });
    });

    it('commits what the batch writes together with the cursor', async () => {
      await storage.events.append({ events: [event({ workspaceId, name: 'E1' })], rejected: [] });
      const writer = (fail: boolean): PipelineBatch<void> => ({
        async prepare() {
          return async (tx) => {
            await tx.workspaces.create({
              id: `ws_written_${fail}`,
              name: 'written by a batch',
              createdAt: NOW,
            });
            if (fail) throw new Error('after the write');
          };
        },
      });
      await expect(runBatch('test', 10, writer(true))).rejects.toThrow('after the write');
      expect(await storage.workspaces.find('ws_written_true')).toBeUndefined();
      await runBatch('test', 10, writer(false));
      expect(await storage.workspaces.find('ws_written_false')).toBeDefined();
    });
  });

  describe('profiles', () => {
    it('stores a resolution and finds identities, profiles, accounts and the timeline', async () => {
      const [stored] = await Promise.all([
        storage.events.append({
          events: [
            event({ workspaceId, messageId: 'a', timestamp: NOW }),
            event({ workspaceId, messageId: 'b', timestamp: NOW + 1000 }),
          ],
          rejected: [],
        }),
      ]);
      expect(stored.stored).toBe(2);
      const events = (await storage.events.list(workspaceId, { limit: 10 })).items;
      const person = profile(workspaceId, {
        userId: 'user-1',
        traits: { email: 'ada@example.com' },
        traitTimes: { email: NOW },
      });
      const accountId = newId('acc');
      await storage.transaction((tx) =>
        tx.profiles.applyResolution({
          workspaceId,
          newProfiles: [person],
          updatedProfiles: [],
          seenProfiles: [],
          merges: [],
          newIdentities: [{ kind: 'user', value: 'user-1', profileId: person.id, createdAt: NOW }],
          identityEvents: events.map((e) => ({
            identity: { kind: 'user', value: 'user-1' },
            timestamp: e.timestamp,
            eventId: e.id,
          })),
          upsertedAccounts: [
            {
              id: accountId,
              workspaceId,
              groupId: 'acme',
              traits: { plan: 'pro' },
              traitTimes: { plan: NOW },
              createdAt: NOW,
              updatedAt: NOW,
            },
          ],
          accountMembers: [{ accountId, profileId: person.id, createdAt: NOW }],
          traitChanges: [],
          accountTraitChanges: [
            {
              workspaceId,
              eventId: events[0]?.id as number,
              accountId,
              trait: 'plan',
              value: 'pro',
              previous: undefined,
              at: NOW,
            },
          ],
        }),
      );
      const identities = await storage.profiles.findIdentities(workspaceId, [
        { kind: 'user', value: 'user-1' },
        { kind: 'anonymous', value: 'user-1' },
      ]);
      expect(identities.map((i) => [i.kind, i.value, i.profileId])).toEqual([['user', 'user-1', person.id]]);
      expect(await storage.profiles.find(workspaceId, person.id)).toMatchObject({
        traits: { email: 'ada@example.com' },
      });
      expect((await storage.profiles.listAccounts(person.id)).map((a) => a.groupId)).toEqual(['acme']);
      expect(await storage.profiles.findAccount(workspaceId, accountId)).toMatchObject({
        groupId: 'acme',
        traits: { plan: 'pro' },
      });
      expect(await storage.profiles.findAccount('another-workspace', accountId)).toBeUndefined();
      expect(await storage.profiles.findAccount(workspaceId, 'no-such-account')).toBeUndefined();
      const accountsOf = await storage.profiles.accountsOf([person.id, 'prf_of_no_account']);
      expect([...accountsOf.keys()]).toEqual([person.id]);
      expect(accountsOf.get(person.id)).toMatchObject([{ id: accountId, traits: { plan: 'pro' } }]);
      // No value before is kept as null, as a profile's trait changes keep it.
      expect(await storage.profiles.listAccountTraitChanges(events.map((e) => e.id))).toEqual([
        {
          workspaceId,
          eventId: events[0]?.id,
          accountId,
          trait: 'plan',
          value: 'pro',
          previous: null,
          at: NOW,
        },
      ]);
      const timeline = await storage.events.listForIdentities(
        identities.map((i) => i.id),
        { limit: 1 },
      );
      expect(timeline.items.map((e) => e.messageId)).toEqual(['b']);
      const next = await storage.events.listForIdentities(
        identities.map((i) => i.id),
        { limit: 1, cursor: timeline.nextCursor ?? undefined },
      );
      expect(next.items.map((e) => e.messageId)).toEqual(['a']);
    });

    it('follows a merge from the merged profile to the survivor, moving identities and accounts', async () => {
      const anonymous = profile(workspaceId);
      const known = profile(workspaceId, { userId: 'u-9' });
      const accountId = newId('acc');
      await storage.transaction((tx) =>
        tx.profiles.applyResolution({
          workspaceId,
          newProfiles: [anonymous, known],
          updatedProfiles: [],
          seenProfiles: [],
          merges: [],
          newIdentities: [
            { kind: 'anonymous', value: 'anon-9', profileId: anonymous.id, createdAt: NOW },
            { kind: 'user', value: 'u-9', profileId: known.id, createdAt: NOW },
          ],
          identityEvents: [],
          upsertedAccounts: [
            {
              id: accountId,
              workspaceId,
              groupId: 'g',
              traits: {},
              traitTimes: {},
              createdAt: NOW,
              updatedAt: NOW,
            },
          ],
          accountMembers: [{ accountId, profileId: anonymous.id, createdAt: NOW }],
          traitChanges: [],
          accountTraitChanges: [],
        }),
      );
      // Topic choices: the newer one wins, and an unsubscribe wins a tie.
      const choose = (profileId: string, topic: string, isSubscribed: boolean, at: number) =>
        storage.consent.setSubscription({ workspaceId, profileId, topic, isSubscribed, at });
      await choose(anonymous.id, 'news', false, NOW + 2);
      await choose(known.id, 'news', true, NOW + 1);
      await choose(anonymous.id, 'offers', true, NOW + 1);
      await choose(known.id, 'offers', false, NOW + 2);
      await choose(anonymous.id, 'tips', false, NOW);
      await choose(known.id, 'tips', true, NOW);
      await choose(anonymous.id, 'events', false, NOW);
      await storage.messages.insert(outboxMessage(workspaceId, { profileId: anonymous.id }));
      await storage.transaction((tx) =>
        tx.profiles.applyResolution({
          workspaceId,
          newProfiles: [],
          updatedProfiles: [{ ...anonymous, mergedInto: known.id }],
          seenProfiles: [],
          merges: [{ from: anonymous.id, into: known.id, eventId: 42 }],
          newIdentities: [],
          identityEvents: [],
          upsertedAccounts: [],
          accountMembers: [],
          traitChanges: [],
          accountTraitChanges: [],
        }),
      );
      expect((await storage.profiles.find(workspaceId, anonymous.id))?.id).toBe(known.id);
      expect(await storage.profiles.eventsThatMerged([41, 42, 43])).toEqual(new Set([42]));
      expect((await storage.profiles.listIdentities(known.id)).map((i) => i.value).sort()).toEqual([
        'anon-9',
        'u-9',
      ]);
      expect((await storage.profiles.listAccounts(known.id)).map((a) => a.groupId)).toEqual(['g']);
      expect(await storage.consent.findSubscriptions(workspaceId, known.id)).toEqual({
        news: false,
        offers: false,
        tips: false,
        events: false,
      });
      expect(await storage.consent.findSubscriptions(workspaceId, anonymous.id)).toEqual({});
      const history = await storage.messages.list(workspaceId, { profileId: known.id }, { limit: 10 });
      expect(history.items).toHaveLength(1);
      const listed = await storage.profiles.list(workspaceId, { limit: 10 });
      expect(listed.items.map((p) => p.id)).toEqual([known.id]);
    });

    it('names a survivor by its own user id, not that of a profile merged into it', async () => {
      const earlier = profile(workspaceId, { userId: 'u-earlier' });
      const survivor = profile(workspaceId, { userId: 'u-survivor' });
      const resolution = {
        workspaceId,
        updatedProfiles: [],
        seenProfiles: [],
        merges: [],
        identityEvents: [],
        upsertedAccounts: [],
        accountMembers: [],
        traitChanges: [],
        accountTraitChanges: [],
      };
      // The merged-away profile's user id was stored first, so it has the lower identity id.
      await storage.transaction((tx) =>
        tx.profiles.applyResolution({
          ...resolution,
          newProfiles: [earlier],
          newIdentities: [{ kind: 'user', value: 'u-earlier', profileId: earlier.id, createdAt: NOW }],
        }),
      );
      await storage.transaction((tx) =>
        tx.profiles.applyResolution({
          ...resolution,
          newProfiles: [survivor],
          newIdentities: [{ kind: 'user', value: 'u-survivor', profileId: survivor.id, createdAt: NOW }],
        }),
      );
      await storage.transaction((tx) =>
        tx.profiles.applyResolution({
          ...resolution,
          newProfiles: [],
          newIdentities: [],
          updatedProfiles: [{ ...earlier, mergedInto: survivor.id }],
          merges: [{ from: earlier.id, into: survivor.id, eventId: 7 }],
        }),
      );
      const ids = await storage.segments.idsOf([survivor.id]);
      expect(ids.get(survivor.id)).toMatchObject({ kind: 'user', value: 'u-survivor' });
    });

    it('searches profiles by identity value and by trait value, case-insensitively', async () => {
      const ada = profile(workspaceId, {
        userId: 'ada',
        traits: {
          email: 'Ada@Example.com',
          name: '50%_off',
          phone: '+39 333 123-4567',
          surname: 'Müller-Åberg',
          nickname: 'Ada "the Countess"',
          home: { folder: 'C:\\Users\\ada', floors: [3] },
        },
      });
      const bob = profile(workspaceId, {
        userId: 'bob',
        traits: { email: 'bob@example.com', phone: '+44 (20) 7946.0958' },
      });
      await storage.transaction((tx) =>
        tx.profiles.applyResolution({
          workspaceId,
          newProfiles: [ada, bob],
          updatedProfiles: [],
          seenProfiles: [],
          merges: [],
          newIdentities: [
            { kind: 'user', value: 'ada', profileId: ada.id, createdAt: NOW },
            { kind: 'user', value: 'bob', profileId: bob.id, createdAt: NOW },
          ],
          identityEvents: [],
          upsertedAccounts: [],
          accountMembers: [],
          traitChanges: [],
          accountTraitChanges: [],
        }),
      );
      const byTrait = await storage.profiles.list(workspaceId, { limit: 10, query: 'ada@example' });
      expect(byTrait.items.map((p) => p.id)).toEqual([ada.id]);
      const byIdentity = await storage.profiles.list(workspaceId, { limit: 10, query: 'bob' });
      expect(byIdentity.items.map((p) => p.id)).toEqual([bob.id]);
      // Letters beyond ASCII are matched whatever their case, as a team in Europe searches names.
      for (const query of ['müller', 'MÜLLER-åberg']) {
        const accented = await storage.profiles.list(workspaceId, { limit: 10, query });
        expect(
          accented.items.map((p) => p.id),
          query,
        ).toEqual([ada.id]);
      }
      // LIKE wildcards in the query are matched literally.
      const literal = await storage.profiles.list(workspaceId, { limit: 10, query: '%_' });
      expect(literal.items.map((p) => p.id)).toEqual([ada.id]);
      // Values are found as typed, nested ones too, not as their JSON escapes them.
      for (const query of ['"the countess"', 'c:\\users\\ada', 'C:\\Users']) {
        const typed = await storage.profiles.list(workspaceId, { limit: 10, query });
        expect(
          typed.items.map((p) => p.id),
          query,
        ).toEqual([ada.id]);
      }
      // A trait's name, or the JSON around the values, finds no one.
      for (const query of ['email', 'surname', '"phone"', '\\"the', 'folder', '{"', '":"']) {
        const none = await storage.profiles.list(workspaceId, { limit: 10, query });
        expect(
          none.items.map((p) => p.id),
          query,
        ).toEqual([]);
      }
      // A phone number is found however its spaces, dashes, dots and brackets fall, in the query or the trait.
      for (const [query, found] of [
        ['+393331234567', ada.id],
        ['333 1234567', ada.id],
        ['+44 20 7946 0958', bob.id],
        ['(020) 7946-0958', undefined],
      ] as const) {
        const byPhone = await storage.profiles.list(workspaceId, { limit: 10, query });
        expect(byPhone.items.map((p) => p.id)).toEqual(found ? [found] : []);
      }
      const all = await storage.profiles.list(workspaceId, { limit: 1 });
      expect(all.items.map((p) => p.id)).toEqual([bob.id]);
      const rest = await storage.profiles.list(workspaceId, {
        limit: 1,
        cursor: all.nextCursor ?? undefined,
      });
      expect(rest.items.map((p) => p.id)).toEqual([ada.id]);
    });

    it('finds a profile by its trait values as they are now, and a survivor by what a merge brought it', async () => {
      const ada = profile(workspaceId, { userId: 'ada', traits: { plan: 'Silver', city: 'Bologna' } });
      const visitor = profile(workspaceId, { traits: { coupon: 'WELCOME10', city: 'Bologna' } });
      const resolution = {
        workspaceId,
        newProfiles: [],
        updatedProfiles: [],
        seenProfiles: [],
        merges: [],
        newIdentities: [],
        identityEvents: [],
        upsertedAccounts: [],
        accountMembers: [],
        traitChanges: [],
        accountTraitChanges: [],
      };
      const found = async (query: string) =>
        (await storage.profiles.list(workspaceId, { limit: 10, query })).items.map((p) => p.id);
      await storage.transaction((tx) =>
        tx.profiles.applyResolution({ ...resolution, newProfiles: [ada, visitor] }),
      );
      expect(await found('silver')).toEqual([ada.id]);

      // Identity resolution changes a trait.
      const goldAda = { ...ada, traits: { plan: 'Gold', city: 'Bologna' } };
      await storage.transaction((tx) =>
        tx.profiles.applyResolution({ ...resolution, updatedProfiles: [goldAda] }),
      );
      expect(await found('gold')).toEqual([ada.id]);
      expect(await found('silver')).toEqual([]);

      // A journey's update_traits changes it again.
      await storage.transaction(async (tx) => {
        const current = await tx.profiles.lockForTraits(ada.id);
        if (!current) throw new Error('ada is stored');
        current.traits.plan = 'Platinum';
        await tx.profiles.updateTraits(current, []);
      });
      expect(await found('platinum')).toEqual([ada.id]);
      expect(await found('gold')).toEqual([]);

      // The visitor turns out to be Ada: the survivor holds both profiles' traits, as merged.
      const survivor = await storage.profiles.find(workspaceId, ada.id);
      if (!survivor) throw new Error('ada is stored');
      await storage.transaction((tx) =>
        tx.profiles.applyResolution({
          ...resolution,
          updatedProfiles: [
            { ...survivor, traits: { ...survivor.traits, coupon: 'WELCOME10' } },
            { ...visitor, mergedInto: ada.id },
          ],
          merges: [{ from: visitor.id, into: ada.id, eventId: 1 }],
        }),
      );
      for (const query of ['welcome10', 'PLATINUM', 'bologna'])
        expect(await found(query), query).toEqual([ada.id]);
    });
  });

  describe('message outbox', () => {
    it('lists why messages failed with a reason kept before those without, whichever backend breaks the tie', async () => {
      const failed = (reason: string | null) =>
        outboxMessage(workspaceId, { status: 'failed', reason, updatedAt: NOW });
      await storage.messages.insertMany([failed(null), failed('no SMTP server is configured')]);
      const reasons = await storage.dashboard.failureReasons({
        workspaceId,
        from: NOW,
        to: NOW + 1,
        limit: 1,
      });
      expect(reasons).toEqual([{ channel: 'email', reason: 'no SMTP server is configured', count: 1 }]);
    });

    it('lists why messages wait to go out now, whenever queued, of one channel when asked', async () => {
      const waiting = (channel: 'email' | 'sms', reason: string, updatedAt: number) =>
        outboxMessage(workspaceId, { status: 'deferred', channel, reason, updatedAt });
      await storage.messages.insertMany([
        waiting('sms', 'retrying: sms-gateway.invalid: getaddrinfo ENOTFOUND', NOW - 30 * 24 * 3_600_000),
        waiting('sms', 'retrying: sms-gateway.invalid: getaddrinfo ENOTFOUND', NOW),
        waiting('email', 'quiet hours', NOW),
        outboxMessage(workspaceId, { status: 'failed', reason: 'given up', updatedAt: NOW }),
        outboxMessage(workspaceId, { status: 'sent', updatedAt: NOW }),
        // Re-driven, or about to go: waiting too, with no reason.
        outboxMessage(workspaceId, { status: 'queued', channel: 'webhook', reason: null, updatedAt: NOW }),
      ]);
      expect(await storage.dashboard.waitingReasons({ workspaceId, limit: 5 })).toEqual([
        { channel: 'sms', reason: 'retrying: sms-gateway.invalid: getaddrinfo ENOTFOUND', count: 2 },
        { channel: 'email', reason: 'quiet hours', count: 1 },
        { channel: 'webhook', reason: null, count: 1 },
      ]);
      expect(await storage.dashboard.waitingReasons({ workspaceId, channel: 'email', limit: 5 })).toEqual([
        { channel: 'email', reason: 'quiet hours', count: 1 },
      ]);
    });

    it('lets one claimant at a time hold a due message, until its lease runs out', async () => {
      const message = outboxMessage(workspaceId);
      await storage.messages.insert(message);
      await storage.messages.insert({ ...message, id: newId('msg') }); // same idempotency key: ignored
      const first = await storage.messages.claimDue({ now: NOW, limit: 10, leaseMs: 1000, claimant: 'a' });
      expect(first.map((m) => [m.id, m.status, m.attempts])).toEqual([[message.id, 'sending', 1]]);
      expect(
        await storage.messages.claimDue({ now: NOW + 999, limit: 10, leaseMs: 1000, claimant: 'b' }),
      ).toEqual([]);
      // a renewed lease holds on…
      expect(
        await storage.messages.renewClaims({ ids: [message.id], claimant: 'a', until: NOW + 5000 }),
      ).toEqual(new Set([message.id]));
      expect(
        await storage.messages.claimDue({ now: NOW + 2000, limit: 10, leaseMs: 1000, claimant: 'b' }),
      ).toEqual([]);
      // …and one that ran out passes to the next claimant, after which the first can neither renew nor record.
      const second = await storage.messages.claimDue({
        now: NOW + 6000,
        limit: 10,
        leaseMs: 1000,
        claimant: 'b',
      });
      expect(second.map((m) => [m.id, m.attempts])).toEqual([[message.id, 2]]);
      expect(
        await storage.messages.renewClaims({ ids: [message.id], claimant: 'a', until: NOW + 9000 }),
      ).toEqual(new Set());
      const rendered = { id: message.id, context: { sms: { body: 'Hi {{ x }}', text: 'Hi' } } };
      expect(await storage.messages.saveContext(rendered, 'a')).toBe(false);
      // Null is for a message nobody claims (a test send): never one a claimant holds.
      expect(await storage.messages.saveContext(rendered, null)).toBe(false);
      expect(await storage.messages.saveContext(rendered, 'b')).toBe(true);
      expect((await storage.messages.findById(message.id))?.context).toEqual(rendered.context);
      const sent = { ...message, status: 'sent' as const, sentAt: NOW + 6001, updatedAt: NOW + 6001 };
      expect(await storage.messages.update(sent, 'a')).toBe(false);
      expect(await storage.messages.update(sent, 'b')).toBe(true);
      expect(await storage.messages.findById(message.id)).toMatchObject({
        status: 'sent',
        sentAt: NOW + 6001,
      });
      expect(
        await storage.messages.claimDue({ now: NOW + 99_000, limit: 10, leaseMs: 1000, claimant: 'c' }),
      ).toEqual([]);
    });

    it('settles many messages at once, only those the claimant still holds', async () => {
      const held = outboxMessage(workspaceId);
      const lost = outboxMessage(workspaceId, { nextAttemptAt: NOW + 10 });
      await storage.messages.insert(held);
      await storage.messages.insert(lost);
      await storage.messages.claimDue({ now: NOW, limit: 10, leaseMs: 1000, claimant: 'a' });
      await storage.messages.claimDue({ now: NOW + 10, limit: 10, leaseMs: 1000, claimant: 'b' });
      const sent = (message: Message) => ({
        ...message,
        status: 'sent' as const,
        toAddress: 'x@example.com',
        subject: 'Hi',
        providerMessageId: '<p@x>',
        sentAt: NOW + 20,
        updatedAt: NOW + 20,
      });
      const written = await storage.messages.settleAll([sent(held), sent(lost)], 'a');
      expect(written).toEqual(new Set([held.id]));
      // Written again, as after an answer lost on the way back: what `a` settled is answered as written.
      expect(await storage.messages.settleAll([sent(held), sent(lost)], 'a')).toEqual(new Set([held.id]));
      expect(await storage.messages.findById(held.id)).toMatchObject({
        status: 'sent',
        toAddress: 'x@example.com',
        subject: 'Hi',
        providerMessageId: '<p@x>',
        sentAt: NOW + 20,
        nextAttemptAt: NOW,
      });
      expect(await storage.messages.findById(lost.id)).toMatchObject({ status: 'sending', sentAt: null });
    });

    it('keeps a re-drive that came between a round dead-lettering a message and that round writing it again', async () => {
      const call = outboxMessage(workspaceId, { channel: 'webhook', topic: null });
      await storage.messages.insert(call);
      const [claimed] = await storage.messages.claimDue({
        now: NOW,
        limit: 10,
        leaseMs: 60_000,
        claimant: 'a',
      });
      if (!claimed) throw new Error('the call is due');
      const deadLettered = {
        ...claimed,
        status: 'failed' as const,
        reason: 'crm.example: 400',
        nextAttemptAt: null,
        updatedAt: NOW + 1,
      };
      expect(await storage.messages.settleAll([deadLettered], 'a')).toEqual(new Set([call.id]));
      await storage.messages.requeueFailed({ workspaceId, channel: 'webhook', ids: [call.id], now: NOW + 2 });
      // Round `a` writes its outcomes again (the answer to its first write was lost), or writes late:
      // the message is queued again, no round's, and stays so. The answer says `a` had settled it.
      expect(await storage.messages.settleAll([deadLettered], 'a')).toEqual(new Set([call.id]));
      expect(await storage.messages.settleAll([deadLettered], 'b')).toEqual(new Set());
      expect(await storage.messages.update(deadLettered, 'a')).toBe(false);
      const rendered = {
        webhook: { destination: 'crm', path: '/', method: 'POST', body: '{}', rendered: '{}' },
      };
      expect(await storage.messages.saveContext({ id: call.id, context: rendered }, 'a')).toBe(false);
      expect(await storage.messages.findById(call.id)).toMatchObject({
        status: 'queued',
        reason: null,
        attempts: 0,
        nextAttemptAt: NOW + 2,
        context: {},
      });
      const redriven = await storage.messages.claimDue({
        now: NOW + 2,
        limit: 10,
        leaseMs: 1000,
        claimant: 'b',
      });
      expect(redriven.map((message) => [message.id, message.attempts])).toEqual([[call.id, 1]]);
    });

    it('makes deferred messages held back for the reasons named due now, and no others', async () => {
      const held = (reason: string, extra: Partial<Message> = {}) =>
        outboxMessage(workspaceId, {
          status: 'deferred',
          reason,
          nextAttemptAt: NOW + 10 * 3_600_000,
          ...extra,
        });
      const quiet = held('quiet hours 20:30–08:00 (Europe/Rome)');
      const capped = held('frequency cap: 2 per 1d');
      // Waiting out a back-off or a Retry-After: judged again, it would use up an attempt early.
      const retrying = held('retrying: HTTP 429');
      const dueAlready = held('quiet hours 20:30–08:00 (UTC)', { nextAttemptAt: NOW - 1 });
      const queuedLater = outboxMessage(workspaceId, { status: 'queued', nextAttemptAt: NOW + 60_000 });
      const elsewhere = held('quiet hours 20:30–08:00 (UTC)', { workspaceId: 'ws_other' });
      for (const message of [quiet, capped, retrying, dueAlready, queuedLater, elsewhere])
        await storage.messages.insert(message);
      const query = { reasonsStartingWith: ['quiet hours ', 'frequency cap: '], now: NOW };
      expect(await storage.messages.redueDeferred(workspaceId, query)).toBe(2);
      expect((await storage.messages.findById(quiet.id))?.nextAttemptAt).toBe(NOW);
      expect((await storage.messages.findById(capped.id))?.nextAttemptAt).toBe(NOW);
      expect((await storage.messages.findById(retrying.id))?.nextAttemptAt).toBe(NOW + 10 * 3_600_000);
      expect((await storage.messages.findById(dueAlready.id))?.nextAttemptAt).toBe(NOW - 1);
      expect((await storage.messages.findById(queuedLater.id))?.nextAttemptAt).toBe(NOW + 60_000);
      expect((await storage.messages.findById(elsewhere.id))?.nextAttemptAt).toBe(NOW + 10 * 3_600_000);

      // One journey's only (it was resumed), not another's held back for the same reason.
      const resumed = held('journey paused', { journeyId: 'jrn_resumed' });
      const stillPaused = held('journey paused', { journeyId: 'jrn_paused' });
      for (const message of [resumed, stillPaused]) await storage.messages.insert(message);
      const paused = { reasonsStartingWith: ['journey paused'], now: NOW, journeyId: 'jrn_resumed' };
      expect(await storage.messages.redueDeferred(workspaceId, paused)).toBe(1);
      expect((await storage.messages.findById(resumed.id))?.nextAttemptAt).toBe(NOW);
      expect((await storage.messages.findById(stillPaused.id))?.nextAttemptAt).toBe(NOW + 10 * 3_600_000);
    });

    it("skips an instance's messages no attempt has gone to yet, and leaves those sent, sending or retrying", async () => {
      const of = (instanceId: string, extra: Partial<Message>) =>
        outboxMessage(workspaceId, { instanceId, nextAttemptAt: NOW + 60_000, ...extra });
      const queued = of('ins_left', { status: 'queued' });
      const quiet = of('ins_left', { status: 'deferred', reason: 'quiet hours 21:00–08:00 (Europe/Rome)' });
      // Its first attempt may have reached the receiver: the retry goes as it would have.
      const retrying = of('ins_left', { status: 'deferred', reason: 'retrying: HTTP 500', attempts: 1 });
      // Held back when the database failed it, which gives its attempt back: it may have gone out.
      const retryingHeldBack = of('ins_left', { status: 'deferred', reason: 'retrying: database gone' });
      const sending = of('ins_left', { status: 'sending', attempts: 1 });
      const sent = of('ins_left', { status: 'sent', attempts: 1 });
      const another = of('ins_stays', { status: 'queued' });
      for (const message of [queued, quiet, retrying, retryingHeldBack, sending, sent, another])
        await storage.messages.insert(message);
      const skip = {
        workspaceId,
        instanceIds: ['ins_left'],
        reason: 'left the entry segment',
        now: NOW,
        keepingReasonsStartingWith: ['retrying: '],
      };
      expect(await storage.messages.skipUntried(skip)).toBe(2);
      for (const message of [queued, quiet])
        expect(await storage.messages.findById(message.id)).toMatchObject({
          status: 'skipped',
          reason: 'left the entry segment',
          nextAttemptAt: null,
        });
      for (const message of [retrying, retryingHeldBack, sending, sent, another])
        expect((await storage.messages.findById(message.id))?.status).toBe(message.status);
    });

    it('tells settings saves apart by when they were saved, even two within one millisecond', async () => {
      expect(await storage.settings.savedAt(workspaceId)).toBeNull();
      const settings = await storage.settings.get(workspaceId);
      await storage.settings.put(workspaceId, settings, NOW);
      expect(await storage.settings.savedAt(workspaceId)).toBe(NOW);
      await storage.settings.put(workspaceId, { ...settings, timezone: 'Europe/Rome' }, NOW);
      expect(await storage.settings.savedAt(workspaceId)).toBe(NOW + 1);
      await storage.settings.put(workspaceId, settings, NOW + 50);
      expect(await storage.settings.savedAt(workspaceId)).toBe(NOW + 50);
    });

    it('puts failed messages of a channel back in the queue: some or all, and no others', async () => {
      const failedWebhook = (extra: Partial<Message> = {}) =>
        outboxMessage(workspaceId, {
          channel: 'webhook',
          topic: null,
          status: 'failed',
          reason: 'HTTP 500',
          attempts: 8,
          nextAttemptAt: null,
          ...extra,
        });
      const [first, second] = [failedWebhook(), failedWebhook()];
      const sentWebhook = failedWebhook({ status: 'sent', reason: null });
      const failedEmail = outboxMessage(workspaceId, {
        status: 'failed',
        reason: '550',
        nextAttemptAt: null,
      });
      const elsewhere = failedWebhook({ workspaceId: 'ws_other' });
      // Nothing of an archived journey is sent: requeued, its dead letter would be skipped and lost.
      const archivedJourney = {
        id: newId('jrn'),
        workspaceId,
        name: 'Old',
        status: 'archived' as const,
        draft: {
          name: 'Old',
          entry: {
            trigger: { type: 'manual' as const },
            reentry: { policy: 'once' as const },
            allowConcurrent: false,
          },
          start: 'end',
          steps: [{ id: 'end', type: 'exit' as const }],
        },
        currentVersion: null,
        createdAt: NOW,
        updatedAt: NOW,
      };
      await storage.journeys.create(archivedJourney);
      const ofArchived = failedWebhook({ journeyId: archivedJourney.id });
      for (const message of [first, second, sentWebhook, failedEmail, elsewhere, ofArchived])
        await storage.messages.insert(message);

      const deadLetters = await storage.messages.list(
        workspaceId,
        { channel: 'webhook', status: 'failed' },
        { limit: 10 },
      );
      expect(deadLetters.items.map((m) => m.id).sort()).toEqual([first.id, second.id, ofArchived.id].sort());

      expect(
        await storage.messages.requeueFailed({
          workspaceId,
          channel: 'webhook',
          ids: [first.id, sentWebhook.id, ofArchived.id],
          now: NOW + 5,
        }),
      ).toEqual({ requeued: [first.id], ofArchivedJourneys: [ofArchived.id] });
      expect(await storage.messages.findById(first.id)).toMatchObject({
        status: 'queued',
        attempts: 0,
        reason: null,
        nextAttemptAt: NOW + 5,
      });
      expect(await storage.messages.requeueFailed({ workspaceId, channel: 'webhook', now: NOW + 6 })).toEqual(
        {
          requeued: [second.id],
          ofArchivedJourneys: [ofArchived.id],
        },
      );
      expect(await storage.messages.findById(ofArchived.id)).toMatchObject({ status: 'failed', attempts: 8 });
      expect(await storage.messages.findById(failedEmail.id)).toMatchObject({ status: 'failed' });
      expect(await storage.messages.findById(elsewhere.id)).toMatchObject({ status: 'failed' });
      expect(await storage.messages.findById(sentWebhook.id)).toMatchObject({ status: 'sent' });
      const due = await storage.messages.claimDue({ now: NOW + 6, limit: 10, leaseMs: 1000, claimant: 'a' });
      expect(due.map((m) => m.id).sort()).toEqual([first.id, second.id].sort());
    });

    it('tells which provider message ids messages on a channel to an address were recorded as, whatever profile', async () => {
      const number = '+393471234567';
      const sms = (extra: Partial<Message>) =>
        outboxMessage(workspaceId, { channel: 'sms', status: 'sent', toAddress: number, ...extra });
      const texted = sms({ providerMessageId: 'SM1' });
      const otherProfile = sms({ providerMessageId: 'SM2', profileId: 'prf_other' });
      const otherNumber = sms({ providerMessageId: 'SM5', toAddress: '+393470000000' });
      const email = outboxMessage(workspaceId, {
        status: 'sent',
        providerMessageId: 'SM3',
        profileId: texted.profileId,
        toAddress: number,
      });
      for (const message of [texted, otherProfile, otherNumber, email])
        await storage.messages.insert(message);
      const recorded = (providerMessageIds: string[]) =>
        storage.messages.providerIdsRecorded({
          workspaceId,
          address: number,
          channel: 'sms',
          providerMessageIds,
        });
      expect(await recorded(['SM1', 'SM2', 'SM3', 'SM4', 'SM5'])).toEqual(new Set(['SM1', 'SM2']));
      expect(await recorded([])).toEqual(new Set());
    });

    it('keeps suppressions per channel and lifts one only for the reason given', async () => {
      const at = NOW;
      await storage.consent.suppress({
        workspaceId,
        channel: 'sms',
        address: '+393330000001',
        reason: 'unsubscribed',
        at,
      });
      await storage.consent.suppress({
        workspaceId,
        channel: 'sms',
        address: '+393330000002',
        reason: 'complaint',
        at,
      });
      await storage.consent.suppress({
        workspaceId,
        channel: 'email',
        address: 'Ada@Example.com',
        reason: 'unsubscribed',
        at,
      });
      expect(
        await storage.consent.findSuppressions(workspaceId, 'sms', [
          '+393330000001',
          '+393330000002',
          'ada@example.com',
        ]),
      ).toEqual(
        new Map([
          ['+393330000001', 'unsubscribed'],
          ['+393330000002', 'complaint'],
        ]),
      );
      const listed = async (filter: { channel?: string; address?: string }) =>
        (await storage.consent.listSuppressions(workspaceId, { limit: 10, ...filter })).items.map(
          (item) => `${item.channel}:${item.address}`,
        );
      expect(await listed({ channel: 'sms' })).toEqual(['sms:+393330000001', 'sms:+393330000002']);
      expect(await listed({ address: 'ada@example.com' })).toEqual(['email:ada@example.com']);
      expect(await listed({ channel: 'sms', address: 'ada@example.com' })).toEqual([]);
      const lift = (address: string) =>
        storage.consent.unsuppress({ workspaceId, channel: 'sms', address, reason: 'unsubscribed' });
      expect(await lift('+393330000001')).toBe(true);
      expect(await lift('+393330000001')).toBe(false);
      expect(await lift('+393330000002')).toBe(false); // a complaint is not lifted by an opt-in
      expect(await storage.consent.findSuppression(workspaceId, 'sms', '+393330000001')).toBeUndefined();
      expect(await storage.consent.findSuppression(workspaceId, 'sms', '+393330000002')).toBe('complaint');
      expect(await storage.consent.findSuppression(workspaceId, 'email', 'ada@example.com')).toBe(
        'unsubscribed',
      );
    });

    it("lets a bounce, a complaint or an admin's hand replace an e-mail unsubscribe (it lets receipts through), and a number's STOP replace anything", async () => {
      const suppress = (address: string, reason: SuppressionReason) =>
        storage.consent.suppress({ workspaceId, channel: 'email', address, reason, at: NOW });
      await suppress('bo@example.com', 'unsubscribed');
      await suppress('bo@example.com', 'hard_bounce');
      await suppress('bo@example.com', 'complaint');
      await suppress('bo@example.com', 'unsubscribed');
      await suppress('cy@example.com', 'complaint');
      await suppress('cy@example.com', 'unsubscribed');
      await suppress('di@example.com', 'unsubscribed');
      await suppress('di@example.com', 'added_by_hand');
      // A number's STOP stays whatever comes after: only the contact's START lifts it.
      for (const reason of ['unsubscribed', 'hard_bounce', 'added_by_hand'] as const)
        await storage.consent.suppress({
          workspaceId,
          channel: 'sms',
          address: '+393470000001',
          reason,
          at: NOW,
        });
      expect(await storage.consent.findSuppression(workspaceId, 'sms', '+393470000001')).toBe('unsubscribed');
      expect(
        await storage.consent.findSuppressions(workspaceId, 'email', [
          'bo@example.com',
          'cy@example.com',
          'di@example.com',
        ]),
      ).toEqual(
        new Map([
          ['bo@example.com', 'hard_bounce'],
          ['cy@example.com', 'complaint'],
          ['di@example.com', 'added_by_hand'],
        ]),
      );
    });

    it('brings back the reason a stronger one replaced when that one is lifted, so no opt-out is lost', async () => {
      const suppress = (channel: string, address: string, reason: SuppressionReason) =>
        storage.consent.suppress({ workspaceId, channel, address, reason, at: NOW });
      const lift = (channel: string, address: string, reason: SuppressionReason) =>
        storage.consent.unsuppress({ workspaceId, channel, address, reason });
      const reasonOf = (channel: string, address: string) =>
        storage.consent.findSuppression(workspaceId, channel, address);
      // Unsubscribed from everything, then put on the list by hand (receipts held too): lifting the
      // hand's entry leaves the unsubscribe.
      await suppress('email', 'eve@example.com', 'unsubscribed');
      await suppress('email', 'eve@example.com', 'added_by_hand');
      expect(await reasonOf('email', 'eve@example.com')).toBe('added_by_hand');
      expect(await lift('email', 'eve@example.com', 'added_by_hand')).toBe(true);
      expect(await reasonOf('email', 'eve@example.com')).toBe('unsubscribed');
      // Unsubscribed after a bounce (from an older e-mail's link): a bounce reported in error, lifted.
      await suppress('email', 'fay@example.com', 'hard_bounce');
      await suppress('email', 'fay@example.com', 'unsubscribed');
      expect(await reasonOf('email', 'fay@example.com')).toBe('hard_bounce');
      expect(await lift('email', 'fay@example.com', 'hard_bounce')).toBe(true);
      expect(await reasonOf('email', 'fay@example.com')).toBe('unsubscribed');
      expect(await lift('email', 'fay@example.com', 'unsubscribed')).toBe(true);
      expect(await reasonOf('email', 'fay@example.com')).toBeUndefined();
      // A STOP after an admin's hand replaces it, so taking the hand's entry off cannot lift the STOP;
      // the contact's START brings the hand's back.
      await suppress('sms', '+393470000002', 'added_by_hand');
      await suppress('sms', '+393470000002', 'unsubscribed');
      expect(await reasonOf('sms', '+393470000002')).toBe('unsubscribed');
      expect(await lift('sms', '+393470000002', 'added_by_hand')).toBe(false);
      expect(await lift('sms', '+393470000002', 'unsubscribed')).toBe(true);
      expect(await reasonOf('sms', '+393470000002')).toBe('added_by_hand');
    });

    it('counts sent messages per address for frequency caps, whatever profile, leaving out the exempt topics', async () => {
      const address = '+393471234567';
      const sent = (topic: string | null, sentAt: number, overrides: Partial<Message> = {}) =>
        storage.messages.insert({
          ...outboxMessage(workspaceId, { channel: 'sms', topic, toAddress: address, ...overrides }),
          status: 'sent',
          sentAt,
        });
      await sent('marketing', NOW - 10);
      // Another profile holding the same phone.
      await sent(null, NOW - 5, { profileId: newId('prf') });
      await sent('transactional', NOW - 4);
      await sent('test', NOW - 3);
      await sent('marketing', NOW - 100_000);
      await sent('marketing', NOW - 2, { toAddress: '+393470000000' });
      await sent('marketing', NOW - 1, { channel: 'email', toAddress: address });
      const times = await storage.messages.sentTimes({
        workspaceId,
        addresses: [address],
        channel: 'sms',
        since: NOW - 1000,
        exceptTopics: ['transactional', 'test'],
      });
      expect([...times]).toEqual([[address, [NOW - 10, NOW - 5]]]);
    });

    it('lists the profiles messages on a channel went to at an address', async () => {
      const profileIds = [newId('prf'), newId('prf')];
      for (const profileId of [...profileIds, profileIds[0] as string])
        await storage.messages.insert(
          outboxMessage(workspaceId, { profileId, channel: 'sms', toAddress: '+393471234567' }),
        );
      await storage.messages.insert(
        outboxMessage(workspaceId, { channel: 'sms', toAddress: '+393470000000' }),
      );
      const recipients = await storage.messages.listRecipientsAt({
        workspaceId,
        channel: 'sms',
        address: '+393471234567',
      });
      expect(recipients.sort()).toEqual([...profileIds].sort());
      expect(
        await storage.messages.listRecipientsAt({ workspaceId, channel: 'email', address: '+393471234567' }),
      ).toEqual([]);
    });
  });

  describe('hand-offs', () => {
    it('makes or drops an owed hand-off once: what got to it first stays', async () => {
      const owed = (id: string) => ({
        id,
        workspaceId,
        profileId: newId('prf'),
        owner: null,
        status: 'awaiting_identity' as const,
        messageId: null,
        createdAt: NOW,
        dueAt: NOW,
        acceptedAt: null,
        breachedAt: null,
        owedAt: NOW,
        droppedReason: null,
      });
      const first = owed('ho_owed_1');
      await storage.scoring.createHandOff(first);
      await storage.scoring.createHandOff(owed('ho_owed_2'));
      expect((await storage.scoring.owedHandOffs([first.profileId])).get(first.profileId)).toEqual([first]);
      const made = {
        ...first,
        owner: 'marco',
        status: 'pending' as const,
        createdAt: NOW + 10,
        dueAt: NOW + 1000,
      };
      expect(await storage.scoring.makeOwedHandOff(made)).toBe(true);
      expect(await storage.scoring.makeOwedHandOff({ ...made, owner: 'giulia' })).toBe(false);
      expect(await storage.scoring.dropOwedHandOff('ho_owed_1', 'recycled')).toBe(false);
      expect(await storage.scoring.dropOwedHandOff('ho_owed_2', 'recycled')).toBe(true);
      expect(await storage.scoring.makeOwedHandOff({ ...made, id: 'ho_owed_2' })).toBe(false);
      expect(await storage.scoring.findHandOff('ho_owed_1')).toEqual(made);
      expect(await storage.scoring.findHandOff('ho_owed_2')).toMatchObject({
        status: 'dropped',
        owner: null,
        droppedReason: 'recycled',
      });
      expect((await storage.scoring.owedHandOffs([first.profileId])).size).toBe(0);
    });

    it('ends a pending hand-off once: what ended it first (acceptance or the SLA) stays', async () => {
      const handOff = (id: string) => ({
        id,
        workspaceId,
        profileId: newId('prf'),
        owner: 'marco',
        status: 'pending' as const,
        messageId: null,
        createdAt: NOW,
        dueAt: NOW + 1000,
        acceptedAt: null,
        breachedAt: null,
        owedAt: null,
        droppedReason: null,
      });
      await storage.scoring.createHandOff(handOff('ho_1'));
      await storage.scoring.createHandOff(handOff('ho_2'));
      expect(
        await storage.scoring.settleHandOff('ho_1', { status: 'recycled', breachedAt: NOW + 1000 }),
      ).toBe(true);
      expect(
        await storage.scoring.settleHandOff('ho_1', { status: 'accepted', acceptedAt: NOW + 2000 }),
      ).toBe(false);
      expect(await storage.scoring.settleHandOff('ho_2', { status: 'accepted', acceptedAt: NOW + 500 })).toBe(
        true,
      );
      expect(
        await storage.scoring.settleHandOff('ho_2', { status: 'breached', breachedAt: NOW + 1000 }),
      ).toBe(false);
      const stored = await storage.scoring.listHandOffs(workspaceId, {}, { limit: 10 });
      expect(
        stored.items.map(({ id, status, acceptedAt, breachedAt }) => ({
          id,
          status,
          acceptedAt,
          breachedAt,
        })),
      ).toEqual([
        { id: 'ho_2', status: 'accepted', acceptedAt: NOW + 500, breachedAt: null },
        { id: 'ho_1', status: 'recycled', acceptedAt: null, breachedAt: NOW + 1000 },
      ]);
    });
    it('recycles a hand-off sales has, however it stands, once, keeping when it was accepted or missed', async () => {
      // All of one profile, as a merge may leave them: each is ended on its own all the same.
      const profileId = newId('prf');
      const handOff = (id: string, status: HandOff['status'], settled: Partial<HandOff> = {}): HandOff => ({
        id,
        workspaceId,
        profileId,
        owner: status === 'awaiting_identity' ? null : 'marco',
        status,
        messageId: null,
        createdAt: NOW,
        dueAt: NOW + 1000,
        acceptedAt: null,
        breachedAt: null,
        owedAt: status === 'awaiting_identity' ? NOW : null,
        droppedReason: null,
        ...settled,
      });
      const all = [
        handOff('ho_pending', 'pending'),
        handOff('ho_accepted', 'accepted', { acceptedAt: NOW + 500 }),
        handOff('ho_passed', 'passed'),
        handOff('ho_breached', 'breached', { breachedAt: NOW + 1001 }),
        handOff('ho_owed', 'awaiting_identity'),
        handOff('ho_recycled', 'recycled', { breachedAt: NOW + 1001 }),
      ];
      for (const one of all) await storage.scoring.createHandOff(one);
      const isWithSales = (id: string) => id !== 'ho_owed' && id !== 'ho_recycled';
      expect((await storage.scoring.handOffsWithSales(profileId)).map((one) => one.id)).toEqual([
        'ho_accepted',
        'ho_breached',
        'ho_passed',
        'ho_pending',
      ]);
      for (const { id } of all)
        expect([id, await storage.scoring.recycleHandOff(id)]).toEqual([id, isWithSales(id)]);
      for (const { id } of all) expect(await storage.scoring.recycleHandOff(id)).toBe(false);
      expect(await storage.scoring.handOffsWithSales(profileId)).toEqual([]);
      for (const one of all)
        expect(await storage.scoring.findHandOff(one.id)).toEqual(
          one.status === 'awaiting_identity' ? one : { ...one, status: 'recycled' },
        );
    });
  });

  describe('access', () => {
    it('creates users, refuses a second user with the same e-mail, and keeps memberships', async () => {
      const user = {
        id: newId('usr'),
        email: 'ops@example.com',
        name: 'Ops',
        createdAt: NOW,
        passwordHash: 'x',
      };
      await storage.access.createUser(user);
      await expect(storage.access.createUser({ ...user, id: newId('usr') })).rejects.toMatchObject({
        code: 'conflict',
      });
      await storage.access.addMembership({ workspaceId, userId: user.id, role: 'admin', createdAt: NOW });
      expect(await storage.access.findMembership(workspaceId, user.id)).toEqual({
        workspaceId,
        userId: user.id,
        role: 'admin',
      });
      expect((await storage.workspaces.listForUser(user.id)).map((w) => [w.id, w.role])).toEqual([
        [workspaceId, 'admin'],
      ]);
      expect(await storage.access.countUsers()).toBe(1);
    });

    it('stores keys by hash, lists them and revokes them', async () => {
      const key = {
        id: newId('key'),
        workspaceId,
        kind: 'write' as const,
        name: 'site',
        hint: 'wk_abc…',
        createdAt: NOW,
        lastUsedAt: null,
        revokedAt: null,
        createdBy: 'usr_creator',
        revokedBy: null,
        tokenHash: 'hash-1',
      };
      await storage.access.createApiKey(key);
      expect(await storage.access.findApiKeyByHash('hash-1')).toMatchObject({
        id: key.id,
        kind: 'write',
        revokedAt: null,
        createdBy: 'usr_creator',
      });
      expect(
        await storage.access.revokeApiKey(workspaceId, key.id, { at: NOW + 1, by: 'key_admin' }),
      ).toEqual([key.id]);
      expect(
        await storage.access.revokeApiKey('ws_other', key.id, { at: NOW + 1, by: null }),
      ).toBeUndefined();
      // Revoked again: still found, the first revocation kept.
      expect(await storage.access.revokeApiKey(workspaceId, key.id, { at: NOW + 2, by: 'usr_late' })).toEqual(
        [],
      );
      expect((await storage.access.listApiKeys(workspaceId))[0]).toMatchObject({
        revokedAt: NOW + 1,
        revokedBy: 'key_admin',
        createdBy: 'usr_creator',
      });
    });

    it('revokes with a key the keys it created, and theirs, but no other', async () => {
      const key = (name: string, createdBy: string | null, revokedAt: number | null = null) => ({
        id: newId('key'),
        workspaceId,
        kind: 'secret' as const,
        name,
        hint: 'sk_abc…',
        createdAt: NOW,
        lastUsedAt: null,
        revokedAt,
        createdBy,
        revokedBy: null,
        tokenHash: `hash-${name}-${Math.random()}`,
      });
      const leaked = key('leaked', 'usr_admin');
      const child = key('child', leaked.id);
      const grandchild = key('grandchild', child.id);
      const revokedChild = key('revoked child', leaked.id, NOW);
      const sibling = key('sibling', 'usr_admin');
      const ofSibling = key('of sibling', sibling.id);
      for (const each of [leaked, child, grandchild, revokedChild, sibling, ofSibling])
        await storage.access.createApiKey(each);

      const revoked = await storage.access.revokeApiKey(workspaceId, leaked.id, {
        at: NOW + 1,
        by: 'usr_admin',
      });
      expect(revoked?.sort()).toEqual([leaked.id, child.id, grandchild.id].sort());
      const listed = new Map((await storage.access.listApiKeys(workspaceId)).map((each) => [each.id, each]));
      expect(listed.get(grandchild.id)).toMatchObject({ revokedAt: NOW + 1, revokedBy: 'usr_admin' });
      expect(listed.get(revokedChild.id)).toMatchObject({ revokedAt: NOW });
      expect(listed.get(sibling.id)?.revokedAt).toBeNull();
      expect(listed.get(ofSibling.id)?.revokedAt).toBeNull();

      // A key revoked before its keys were: revoking it again reaches them, and through a key revoked
      // alone between, theirs.
      const earlier = key('revoked before', 'usr_admin', NOW);
      const outlived = key('outlived it', earlier.id);
      const revokedAlone = key('revoked alone', earlier.id, NOW);
      const belowRevoked = key('below the revoked', revokedAlone.id);
      // Stored as older code left them: keys first, their creators revoked after.
      for (const each of [belowRevoked, outlived, revokedAlone, earlier])
        await storage.access.createApiKey(each);
      expect(
        (await storage.access.revokeApiKey(workspaceId, earlier.id, { at: NOW + 2, by: null }))?.sort(),
      ).toEqual([outlived.id, belowRevoked.id].sort());

      // A revoked key makes no more keys.
      const madeByRevoked = key('made by a revoked key', leaked.id);
      expect(await storage.access.createApiKey(madeByRevoked)).toBe(false);
      expect((await storage.access.listApiKeys(workspaceId)).map((each) => each.id)).not.toContain(
        madeByRevoked.id,
      );
      expect(await storage.access.createApiKey(key('made by a user', 'usr_admin'))).toBe(true);
    });

    it('expires sessions', async () => {
      const user = {
        id: newId('usr'),
        email: 's@example.com',
        name: null,
        createdAt: NOW,
        passwordHash: 'x',
      };
      await storage.access.createUser(user);
      await storage.access.createSession({
        tokenHash: 't1',
        userId: user.id,
        createdAt: NOW,
        expiresAt: NOW + 10,
      });
      expect(await storage.access.findSession('t1')).toEqual({ userId: user.id, expiresAt: NOW + 10 });
      expect(await storage.access.deleteExpiredSessions(NOW + 10)).toBe(1);
      expect(await storage.access.findSession('t1')).toBeUndefined();
    });
  });
}
