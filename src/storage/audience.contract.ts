import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../core/ids.js';
import type { Profile } from '../core/profile.js';
import { trackEvent } from '../test-support/events.js';
import type { HandOff, Storage } from './storage.js';

const NOW = Date.UTC(2026, 10, 23, 9, 0, 0);
const DAY = 86_400_000;

/** Segment membership, timers, event facts, score ledgers, stages and hand-offs: the same on every backend. */
export function runAudienceContract(
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

  /** A profile known by a user id and an anonymous id, with these events filed under both identities. */
  async function profileWithEvents(
    userId: string,
    events: Array<{ name: string; timestamp: number; properties?: Record<string, unknown> }>,
  ): Promise<Profile> {
    await storage.events.append({
      events: events.map((e, index) =>
        trackEvent({
          workspaceId,
          messageId: `${userId}-${index}`,
          userId,
          anonymousId: `anon-${userId}`,
          name: e.name,
          timestamp: e.timestamp,
          payload: JSON.stringify({ type: 'track', event: e.name, userId, properties: e.properties ?? {} }),
        }),
      ),
      rejected: [],
    });
    const stored = (await storage.events.list(workspaceId, { limit: 500 })).items.filter(
      (e) => e.userId === userId,
    );
    const person: Profile = {
      id: newId('prf'),
      workspaceId,
      userId,
      traits: {},
      traitTimes: {},
      firstSeenAt: NOW,
      lastSeenAt: NOW,
      createdAt: NOW,
      updatedAt: NOW,
      mergedInto: null,
      revision: 0,
    };
    const identities = [
      { kind: 'user' as const, value: userId },
      { kind: 'anonymous' as const, value: `anon-${userId}` },
    ];
    await storage.transaction((tx) =>
      tx.profiles.applyResolution({
        workspaceId,
        newProfiles: [person],
        updatedProfiles: [],
        seenProfiles: [],
        merges: [],
        newIdentities: identities.map((key) => ({ ...key, profileId: person.id, createdAt: NOW })),
        identityEvents: stored.flatMap((e) =>
          identities.map((identity) => ({ identity, timestamp: e.timestamp, eventId: e.id })),
        ),
        upsertedAccounts: [],
        accountMembers: [],
        traitChanges: [],
        accountTraitChanges: [],
      }),
    );
    return person;
  }

  describe('segment facts', () => {
    it('reads a profile’s events once each, though filed under two identities, and only within the window', async () => {
      const ada = await profileWithEvents('ada', [
        { name: 'Order Completed', timestamp: NOW - 40 * DAY, properties: { total: 5 } },
        { name: 'Order Completed', timestamp: NOW - DAY, properties: { total: 50 } },
        { name: 'Page Viewed', timestamp: NOW - DAY },
      ]);
      const all = await storage.segments.eventFacts({
        workspaceId,
        profileIds: [ada.id],
        names: [{ name: 'Order Completed', since: null, withProperties: true }],
      });
      expect(all.map((fact) => [fact.name, fact.properties.total])).toEqual([
        ['Order Completed', 5],
        ['Order Completed', 50],
      ]);
      const recent = await storage.segments.eventFacts({
        workspaceId,
        profileIds: [ada.id],
        names: [
          { name: 'Order Completed', since: NOW - 30 * DAY, withProperties: false },
          { name: 'Page Viewed', since: null, withProperties: false },
        ],
      });
      expect(recent.map((fact) => fact.name).sort()).toEqual(['Order Completed', 'Page Viewed']);
      expect(recent.every((fact) => Object.keys(fact.properties).length === 0)).toBe(true);

      const named = await storage.segments.eventsNamed({
        workspaceId,
        name: 'Order Completed',
        since: NOW - 30 * DAY,
        withProperties: true,
      });
      expect(named).toEqual([expect.objectContaining({ profileId: ada.id, properties: { total: 50 } })]);
      // Mops's own events about ada are filed under her user id.
      expect((await storage.segments.idsOf([ada.id])).get(ada.id)).toMatchObject({
        kind: 'user',
        value: 'ada',
      });
    });
  });

  describe('events by name', () => {
    it('reads only the log received since a window began, each event’s profile by its user id, else its anonymous id', async () => {
      const ada = await profileWithEvents('ada', []);
      const bob = await profileWithEvents('bob', []);
      // A hundred days of orders, two a day, received as they happened.
      const history = Array.from({ length: 200 }, (_, i) => {
        const at = NOW - 100 * DAY + i * (DAY / 2);
        return trackEvent({
          workspaceId,
          messageId: `order-${i}`,
          userId: 'ada',
          name: 'Order Completed',
          timestamp: at,
          receivedAt: at,
        });
      });
      const recent = (at: number, who: { userId: string | null; anonymousId: string }, messageId: string) =>
        trackEvent({
          workspaceId,
          messageId,
          ...who,
          name: 'Order Completed',
          timestamp: at,
          receivedAt: at,
        });
      await storage.events.append({
        events: [
          ...history,
          // Signed out: the visitor id leads to ada.
          recent(NOW - DAY, { userId: null, anonymousId: 'anon-ada' }, 'visitor'),
          // A user id nobody is known by yet: the visitor id still leads to ada.
          recent(NOW - DAY + 1, { userId: 'new-login', anonymousId: 'anon-ada' }, 'new-login'),
          // Both known, as different profiles: the user id wins.
          recent(NOW - DAY + 2, { userId: 'ada', anonymousId: 'anon-bob' }, 'shared-device'),
        ],
        rejected: [],
      });
      const since = NOW - 30 * DAY;
      const named = await storage.segments.eventsNamed({
        workspaceId,
        name: 'Order Completed',
        since,
        withProperties: false,
      });
      const expected = history.filter((event) => event.timestamp > since).length + 3;
      expect(named).toHaveLength(expected);
      expect(named.every((fact) => fact.timestamp > since && fact.profileId === ada.id)).toBe(true);
      expect(named.map((fact) => fact.timestamp)).toEqual(
        [...named.map((fact) => fact.timestamp)].sort((a, b) => a - b),
      );
      expect(named.some((fact) => fact.profileId === bob.id)).toBe(false);
      const everything = await storage.segments.eventsNamed({
        workspaceId,
        name: 'Order Completed',
        since: null,
        withProperties: false,
      });
      expect(everything).toHaveLength(203);
    });
  });

  describe('segment membership', () => {
    it('keeps the first entry time, removes members, and hands out due timers once', async () => {
      const [a, b] = [newId('prf'), newId('prf')];
      const segmentId = newId('seg');
      const change = (profileId: string, at: number) => ({ segmentId, profileId, workspaceId, at });
      await storage.transaction((tx) =>
        tx.segments.applyMembership({ entered: [change(a, NOW), change(b, NOW)], exited: [] }),
      );
      await storage.transaction((tx) =>
        tx.segments.applyMembership({ entered: [change(a, NOW + 5)], exited: [change(b, NOW + 5)] }),
      );
      expect((await storage.segments.listMembers(segmentId, { limit: 10 })).items).toEqual([
        { profileId: a, enteredAt: NOW },
      ]);
      expect(await storage.segments.memberships([a, b])).toEqual(new Map([[a, new Set([segmentId])]]));

      // A profile's timer is only brought forward.
      await storage.segments.bringTimersForward([{ profileId: a, workspaceId, dueAt: NOW + 2 * DAY }]);
      await storage.segments.bringTimersForward([
        { profileId: a, workspaceId, dueAt: NOW + DAY },
        { profileId: b, workspaceId, dueAt: NOW + 5 * DAY },
      ]);
      await storage.segments.bringTimersForward([{ profileId: a, workspaceId, dueAt: NOW + 3 * DAY }]);
      expect(await storage.segments.timersOf([a, b, newId('prf')])).toEqual(
        new Map([
          [a, NOW + DAY],
          [b, NOW + 5 * DAY],
        ]),
      );
      expect(await storage.segments.nextTimerDue()).toBe(NOW + DAY);
      expect(await storage.transaction((tx) => tx.segments.takeDueTimers(NOW, 10))).toEqual([]);
      const due = await storage.transaction((tx) => tx.segments.takeDueTimers(NOW + DAY, 10));
      expect(due).toEqual([{ profileId: a, workspaceId, dueAt: NOW + DAY }]);
      expect(await storage.transaction((tx) => tx.segments.takeDueTimers(NOW + DAY, 10))).toEqual([]);
      expect(await storage.segments.nextTimerDue()).toBe(NOW + 5 * DAY);
      // A taken timer is gone: the next one set is kept whatever its time.
      await storage.segments.bringTimersForward([{ profileId: a, workspaceId, dueAt: NOW + 9 * DAY }]);
      expect(await storage.segments.timersOf([a])).toEqual(new Map([[a, NOW + 9 * DAY]]));
      // Locked for a write on PostgreSQL; SQLite's writes take turns, with nothing to lock.
      const locked = await storage.transaction((tx) => tx.segments.lockTimersOf([a]));
      expect(locked).toEqual(storage.dialect === 'postgres' ? new Map([[a, NOW + 9 * DAY]]) : undefined);
    });
  });

  describe('scoring', () => {
    it('brings stage timers only forward and hands out due ones once', async () => {
      const [a, b] = [newId('prf'), newId('prf')];
      await storage.scoring.bringStageTimersForward([{ profileId: a, workspaceId, dueAt: NOW + 2 * DAY }]);
      await storage.scoring.bringStageTimersForward([
        { profileId: a, workspaceId, dueAt: NOW + DAY },
        { profileId: b, workspaceId, dueAt: NOW + 5 * DAY },
      ]);
      await storage.scoring.bringStageTimersForward([{ profileId: a, workspaceId, dueAt: NOW + 3 * DAY }]);
      expect(await storage.scoring.nextStageTimerDue()).toBe(NOW + DAY);
      expect(await storage.transaction((tx) => tx.scoring.takeDueStageTimers(NOW, 10))).toEqual([]);
      expect(await storage.transaction((tx) => tx.scoring.takeDueStageTimers(NOW + 6 * DAY, 10))).toEqual([
        { profileId: a, workspaceId, dueAt: NOW + DAY },
        { profileId: b, workspaceId, dueAt: NOW + 5 * DAY },
      ]);
      expect(await storage.scoring.nextStageTimerDue()).toBeUndefined();
    });

    it('pages through the profiles holding a score of a model, in id order, with their traits', async () => {
      const people = [];
      for (const userId of ['sa', 'sb', 'sc']) people.push(await profileWithEvents(userId, []));
      const [first, second, unscored] = people.map((person) => person.id).sort() as [string, string, string];
      await storage.scoring.setScores([
        { workspaceId, profileId: second, model: 'engagement', modelRevision: 'r1', score: 5, at: NOW },
        { workspaceId, profileId: first, model: 'engagement', modelRevision: 'r1', score: 1, at: NOW },
        { workspaceId, profileId: unscored, model: 'fit', modelRevision: 'r1', score: 3, at: NOW },
      ]);
      const page = (after: string | null) =>
        storage.scoring.scoredProfilesAfter(workspaceId, 'engagement', after, 1);
      expect(await page(null)).toEqual([{ id: first, traits: {}, modelRevision: 'r1' }]);
      expect(await page(first)).toEqual([{ id: second, traits: {}, modelRevision: 'r1' }]);

      // Refreshed only where the stored score is of another revision.
      await storage.scoring.setScores([
        { workspaceId, profileId: second, model: 'engagement', modelRevision: 'r2', score: 7, at: NOW },
      ]);
      await storage.scoring.refreshScores({ id: 'engagement', modelRevision: 'r2' }, [
        { profileId: first, score: 4 },
        { profileId: second, score: 99 },
      ]);
      expect(await storage.scoring.scores([first, second])).toEqual(
        new Map([
          [first, { engagement: { score: 4, modelRevision: 'r2', at: NOW } }],
          [second, { engagement: { score: 7, modelRevision: 'r2', at: NOW } }],
        ]),
      );
      expect(await page(second)).toEqual([]);

      // Listed by current score, highest first, a page at a time however many share one.
      const byScore = async () => {
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const listed = await storage.profiles.list(workspaceId, {
            limit: 1,
            scoreModel: 'engagement',
            ...(cursor ? { cursor } : {}),
          });
          ids.push(...listed.items.map((profile) => profile.id));
          cursor = listed.nextCursor ?? undefined;
        } while (cursor);
        return ids;
      };
      expect(await byScore()).toEqual([second, first]);
      // A current score stored beside the score of a later moment (a batch wrote since) is not kept.
      await storage.scoring.setCurrentScores([
        { profileId: first, model: 'engagement', currentScore: 9, storedAt: NOW - 1 },
      ]);
      expect(await byScore()).toEqual([second, first]);
      await storage.scoring.setCurrentScores([
        { profileId: first, model: 'engagement', currentScore: 7, storedAt: NOW },
      ]);
      expect(await byScore()).toEqual([second, first].sort().reverse());
      await storage.scoring.setCurrentScores([
        { profileId: first, model: 'engagement', currentScore: 9, storedAt: NOW },
      ]);
      expect(await byScore()).toEqual([first, second]);
      // A place in one model's order is no place in another's.
      const { nextCursor } = await storage.profiles.list(workspaceId, { limit: 1, scoreModel: 'engagement' });
      await expect(
        storage.profiles.list(workspaceId, { limit: 1, scoreModel: 'fit', cursor: nextCursor ?? '' }),
      ).rejects.toMatchObject({ field: 'cursor' });
      expect(await storage.scoring.scoredProfilesAfter('ws_other', 'engagement', null, 10)).toEqual([]);
    });

    it('records each award once, keeps scores and the stage history', async () => {
      const profileId = newId('prf');
      const award = {
        workspaceId,
        profileId,
        model: 'engagement',
        rule: 'pricing',
        eventId: 7,
        at: NOW,
        points: 10,
      };
      await storage.transaction((tx) => tx.scoring.addAwards([award, { ...award, eventId: 8, points: 5 }]));
      await storage.transaction((tx) => tx.scoring.addAwards([award]));
      expect((await storage.scoring.ledgerOfProfile(profileId)).map((entry) => entry.points)).toEqual([
        10, 5,
      ]);

      const engagement = { id: 'engagement', modelRevision: 'r1' };
      await storage.scoring.setScores([
        { workspaceId, profileId, model: 'engagement', modelRevision: 'r0', score: 15, at: NOW },
      ]);
      expect(await storage.scoring.distribution(workspaceId, engagement, 10)).toEqual({
        buckets: [{ from: 10, count: 1 }],
        otherRevisions: 1,
      });
      await storage.scoring.setScores([
        { workspaceId, profileId, model: 'engagement', modelRevision: 'r1', score: 12.5, at: NOW + 1 },
      ]);
      expect(await storage.scoring.scores([profileId])).toEqual(
        new Map([[profileId, { engagement: { score: 12.5, modelRevision: 'r1', at: NOW + 1 } }]]),
      );
      expect(await storage.scoring.distribution(workspaceId, engagement, 10)).toEqual({
        buckets: [{ from: 10, count: 1 }],
        otherRevisions: 0,
      });
      // Read back as written, beyond seven digits (PostgreSQL's `real` kept about seven).
      await storage.transaction((tx) => tx.scoring.addAwards([{ ...award, eventId: 9, points: 0.1 }]));
      await storage.scoring.setScores([
        { workspaceId, profileId, model: 'engagement', modelRevision: 'r1', score: 987_654.32, at: NOW + 2 },
      ]);
      expect(await storage.scoring.scores([profileId])).toEqual(
        new Map([[profileId, { engagement: { score: 987_654.32, modelRevision: 'r1', at: NOW + 2 } }]]),
      );
      expect((await storage.scoring.ledgerOfProfile(profileId)).map((entry) => entry.points)).toEqual([
        10, 5, 0.1,
      ]);

      await storage.scoring.setStages([
        { workspaceId, profileId, from: null, to: 'lead', reason: 'event Signed Up', at: NOW },
      ]);
      await storage.scoring.setStages([
        { workspaceId, profileId, from: 'lead', to: 'mql', reason: 'score', at: NOW + 1 },
      ]);
      expect((await storage.scoring.stages([profileId])).get(profileId)).toBe('mql');
      // A move from a stage the profile has left (decided from an earlier read) is refused, unwritten.
      const stale = { workspaceId, profileId, from: 'lead', to: 'sql', reason: 'score', at: NOW + 2 };
      const fresh = { workspaceId, profileId: newId('prf'), from: null, to: 'lead', reason: 'x', at: NOW };
      expect(await storage.scoring.setStages([stale, fresh])).toEqual([stale]);
      expect(await storage.scoring.setStages([{ ...fresh, to: 'mql' }])).toEqual([{ ...fresh, to: 'mql' }]);
      expect((await storage.scoring.stages([profileId])).get(profileId)).toBe('mql');
      expect((await storage.scoring.stageHistory(profileId)).map((change) => change.to)).toEqual([
        'lead',
        'mql',
      ]);
    });

    it('gives each profile its latest hand-off by when it was made, leaving dropped ones out, and lists them newest first', async () => {
      const profileId = newId('prf');
      const handOff = (at: number, madeAt: number, fields: Partial<HandOff>): HandOff => ({
        id: newId('hof', at),
        workspaceId,
        profileId,
        owner: 'marco',
        status: 'accepted',
        messageId: null,
        createdAt: madeAt,
        dueAt: madeAt + DAY,
        acceptedAt: null,
        breachedAt: null,
        owedAt: null,
        droppedReason: null,
        ...fields,
      });
      // Owed first (the oldest id), made last: its id is the one it was owed under.
      const madeLast = handOff(NOW, NOW + 3 * DAY, { status: 'pending', owner: 'giulia', owedAt: NOW });
      const recycled = handOff(NOW + DAY, NOW + DAY, { status: 'recycled' });
      const dropped = handOff(NOW + 4 * DAY, NOW + 4 * DAY, {
        status: 'dropped',
        owner: null,
        owedAt: NOW + 4 * DAY,
        droppedReason: 'merged into a profile already handed off',
      });
      for (const made of [recycled, madeLast, dropped]) await storage.scoring.createHandOff(made);
      expect(await storage.scoring.latestHandOffs([profileId])).toEqual(new Map([[profileId, madeLast]]));
      // Listed newest first by when each was made, dropped ones too, a page at a time.
      const first = await storage.scoring.listHandOffs(workspaceId, { profileId }, { limit: 2 });
      expect(first.items).toEqual([dropped, madeLast]);
      const cursor = first.nextCursor ?? undefined;
      expect(await storage.scoring.listHandOffs(workspaceId, { profileId }, { limit: 2, cursor })).toEqual({
        items: [recycled],
        nextCursor: null,
      });
    });

    it('hands out overdue hand-offs, pending ones only', async () => {
      const base: HandOff = {
        id: newId('hof'),
        workspaceId,
        profileId: newId('prf'),
        owner: 'marco',
        status: 'pending',
        messageId: null,
        createdAt: NOW,
        dueAt: NOW + DAY,
        acceptedAt: null,
        breachedAt: null,
        owedAt: null,
        droppedReason: null,
      };
      const accepted = { ...base, id: newId('hof'), profileId: newId('prf'), status: 'accepted' as const };
      await storage.scoring.createHandOff(base);
      await storage.scoring.createHandOff(accepted);
      expect(await storage.scoring.roundRobinTurn(workspaceId)).toBe(0);
      await storage.scoring.setRoundRobinTurn(workspaceId, 2);
      await storage.scoring.setRoundRobinTurn(workspaceId, 3);
      expect(await storage.scoring.roundRobinTurn(workspaceId)).toBe(3);
      // Missed only after the deadline's millisecond: the check is due one later.
      expect(await storage.scoring.nextHandOffDue()).toBe(NOW + DAY + 1);
      expect(await storage.transaction((tx) => tx.scoring.claimOverdueHandOffs(NOW, 10))).toEqual([]);
      expect(await storage.transaction((tx) => tx.scoring.claimOverdueHandOffs(NOW + DAY, 10))).toEqual([]);
      expect(await storage.transaction((tx) => tx.scoring.claimOverdueHandOffs(NOW + DAY + 1, 10))).toEqual([
        base,
      ]);
      expect(await storage.scoring.pendingHandOffs(base.profileId)).toEqual([base]);
      expect(
        (await storage.scoring.listHandOffs(workspaceId, { status: 'accepted' }, { limit: 10 })).items,
      ).toEqual([accepted]);
    });
  });
}
