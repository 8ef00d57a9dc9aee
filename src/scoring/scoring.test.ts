import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { modelRevision, type ScoreModel } from '../core/score-model.js';
import type { WorkspaceSettings } from '../core/workspace-settings.js';
import { parseDefinition, publishJourney, updateDraft } from '../journeys/journeys.js';
import { listProfileTimeline } from '../profiles/profiles.js';
import { createSegment, deleteSegment } from '../segments/segments.js';
import type { Storage, StorageTx } from '../storage/storage.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { crmWebhooks, JsonReceiver } from '../test-support/json-receiver.js';
import { runRawSql } from '../test-support/raw-sql.js';
import { ITALY_FIT_MODEL } from '../test-support/score-models.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { recycleProfile, runOverdueHandOffs } from './hand-offs.js';
import {
  accountScores,
  contactScoresTogether,
  profileIntent,
  RecentDistributions,
  scoreDistribution,
} from './scoring.js';
import { SCORING_CURSOR, scoringBatch } from './scoring-batch.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe.each(BACKENDS)('scoring, lifecycle and hand-off on %s', (backend) => {
  let world: JourneyWorld;
  let crm: JsonReceiver;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
    crm = await new JsonReceiver().start();
    await world.configure({
      webhooks: crmWebhooks(crm),
      scoring: {
        models: [
          {
            id: 'engagement',
            name: 'Engagement',
            rules: [
              { id: 'pricing', kind: 'event', event: 'Pricing Viewed', points: 10, halfLife: '7d', cap: 30 },
              { id: 'demo', kind: 'event', event: 'Demo Requested', points: 40, repeat: 'once' },
              { id: 'careers', kind: 'event', event: 'Careers Viewed', points: -15 },
            ],
          },
          ITALY_FIT_MODEL,
        ],
      },
      lifecycle: {
        stages: ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer'],
        rules: [
          { kind: 'event', to: 'lead', event: 'Signed Up' },
          { kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 },
          { kind: 'event', to: 'sql', event: 'Sales Accepted' },
        ],
        recycleTo: 'lead',
      },
      handOff: {
        stage: 'mql',
        owners: [
          { id: 'marco', name: 'Marco', email: 'marco@example.com' },
          { id: 'giulia', name: 'Giulia', email: 'giulia@example.com' },
        ],
        assignment: [{ when: { type: 'trait', path: 'country', op: 'eq', value: 'IT' }, owner: 'giulia' }],
        destination: 'crm',
        acceptWithin: '2d',
        recycleOnMiss: true,
      },
    });
  });
  afterEach(async () => {
    await crm.stop();
    await world.close();
  });

  /** Adds to the lifecycle a rule taking whoever completes an order straight to customer. */
  const purchasesMakeCustomers = async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    const lifecycle = settings.lifecycle as NonNullable<typeof settings.lifecycle>;
    await world.configure({
      lifecycle: {
        ...lifecycle,
        rules: [...lifecycle.rules, { kind: 'event', to: 'customer', event: 'Order Completed', where: [] }],
      },
    });
  };
  const intentOf = async (userId: string) =>
    profileIntent(world.storage, {
      workspaceId: world.workspaceId,
      profileId: await world.profileOf(userId),
      now: world.clock.now(),
    });

  /** A lead made an MQL at 50 (a demo and a pricing view), then recycled by hand: sales rejected it. */
  const recycledAt50 = async (userId: string) => {
    await world.send([identify(userId, { country: 'FR' }), track(userId, 'Signed Up')]);
    await world.send([track(userId, 'Demo Requested'), track(userId, 'Pricing Viewed')]);
    await world.settle();
    expect((await intentOf(userId)).stage).toBe('mql');
    await recycleProfile(world.storage, {
      workspaceId: world.workspaceId,
      profileId: await world.profileOf(userId),
      reason: 'rejected',
      now: world.clock.now(),
    });
  };

  /** Ge handed off twice: as a visitor known by e-mail (anon-ge), and as the user they sign in as. */
  const handedOffAsVisitorAndUser = async () => {
    const visitor = (event: string) => ({ type: 'track', anonymousId: 'anon-ge', event, properties: {} });
    await world.send([{ type: 'identify', anonymousId: 'anon-ge', traits: { email: 'ge@example.com' } }]);
    await world.send([visitor('Demo Requested'), visitor('Pricing Viewed')]);
    await world.send([
      identify('ge', { country: 'FR' }),
      track('ge', 'Demo Requested'),
      track('ge', 'Pricing Viewed'),
    ]);
    await world.settle();
  };
  const signInAsVisitor = () =>
    world.send([{ type: 'identify', userId: 'ge', anonymousId: 'anon-ge', traits: {} }]);

  it('keeps a ledger explaining every point, caps a rule, sums accounts, and lets points decay by half-life', async () => {
    await world.send([identify('ada', { country: 'IT' })]);
    for (let i = 0; i < 4; i++) await world.send([track('ada', 'Pricing Viewed', { page: `/pricing/${i}` })]);
    await world.send([track('ada', 'Careers Viewed')]);
    await world.settle();

    const intent = await intentOf('ada');
    const engagement = intent.scores.find((score) => score.model === 'engagement');
    // Three pricing views fill the rule's cap of 30; the fourth earns nothing; careers takes 15.
    expect(engagement?.awards.map((award) => [award.rule, award.points])).toEqual([
      ['pricing', 10],
      ['pricing', 10],
      ['pricing', 10],
      ['careers', -15],
    ]);
    expect(engagement?.score).toBe(15);
    expect(intent.scores.find((score) => score.model === 'fit')).toMatchObject({
      score: 20,
      fit: [{ rule: 'italy', points: 20 }],
    });

    // An account's score gathers its contacts'.
    await world.send([
      { type: 'group', userId: 'ada', groupId: 'acme', traits: { name: 'Acme' } },
      { type: 'group', userId: 'eve', groupId: 'acme', traits: { name: 'Acme' } },
      track('eve', 'Pricing Viewed'),
    ]);
    await world.settle();
    const [acme] = await world.storage.profiles.listAccounts(await world.profileOf('ada'));
    const acmeScores = () =>
      accountScores(world.storage, {
        workspaceId: world.workspaceId,
        accountId: acme?.id as string,
        now: world.clock.now(),
      });
    expect(await acmeScores()).toEqual([
      { model: 'engagement', total: 25, average: 12.5, max: 15, contacts: 2 },
      { model: 'fit', total: 20, average: 10, max: 20, contacts: 2 },
    ]);
    // Another workspace's id for the account finds nothing there.
    expect(
      await accountScores(world.storage, { workspaceId: 'ws_other', accountId: acme?.id as string, now: 0 }),
    ).toEqual([]);

    const distribution = (model: string) =>
      scoreDistribution(world.storage, {
        workspaceId: world.workspaceId,
        modelId: model,
        bucket: 10,
        now: world.clock.now(),
      });
    expect(await distribution('engagement')).toEqual([{ from: 10, count: 2 }]);

    // A week later the pricing views are worth half, on the profile, in the account and in the
    // distribution alike (the stored scores are still as of the last events).
    world.clock.advance(7 * DAY);
    expect(await distribution('engagement')).toEqual([{ from: 0, count: 2 }]);
    const stored = async (model: ScoreModel) =>
      world.storage.scoring.distribution(
        world.workspaceId,
        { id: model.id, modelRevision: modelRevision(model) },
        10,
      );
    const modelsNow = (await world.storage.settings.get(world.workspaceId)).scoring.models;
    const [engagementModel, fitModel] = modelsNow as [ScoreModel, ScoreModel];
    expect((await stored(engagementModel)).buckets).toEqual([{ from: 10, count: 2 }]);
    // Nothing moves fit scores by time: the stored ones are counted.
    expect(await distribution('fit')).toEqual([
      { from: 0, count: 1 },
      { from: 20, count: 1 },
    ]);
    expect(await stored(fitModel)).toEqual({ buckets: await distribution('fit'), otherRevisions: 0 });
    // Until each profile scores again, the stored scores are those of the old rules: the distribution
    // counts the new points at once all the same, as the profile page does.
    const fitOfFifty = { ...ITALY_FIT_MODEL, rules: [{ ...ITALY_FIT_MODEL.rules[0], points: 50 }] };
    await world.configure({ scoring: { models: [engagementModel, fitOfFifty] } });
    expect(await distribution('fit')).toEqual([
      { from: 0, count: 1 },
      { from: 50, count: 1 },
    ]);
    // Recomputed, they were stored: the next distribution counts them in one query.
    const fitNow = (await world.storage.settings.get(world.workspaceId)).scoring.models[1] as ScoreModel;
    expect(await stored(fitNow)).toEqual({ buckets: await distribution('fit'), otherRevisions: 0 });
    await expect(distribution('nope')).rejects.toMatchObject({ code: 'not_found' });

    const later = (await intentOf('ada')).scores.find((score) => score.model === 'engagement');
    expect(later?.awards.map((award) => award.current)).toEqual([5, 5, 5, -15]);
    expect((await acmeScores())[0]).toEqual({
      model: 'engagement',
      total: 0 + 5,
      average: 2.5,
      max: 5,
      contacts: 2,
    });
    expect(later?.score).toBe(0);

    // As the console asks every few seconds: a recomputed distribution is shown again while no score
    // was written (up to 30 seconds), and computed afresh once one was.
    const recent = new RecentDistributions(30_000);
    const shown = () =>
      scoreDistribution(world.storage, {
        workspaceId: world.workspaceId,
        modelId: 'engagement',
        bucket: 10,
        now: world.clock.now(),
        recent,
      });
    const first = await shown();
    expect(first).toEqual([{ from: 0, count: 2 }]);
    world.clock.advance(10_000);
    expect(await shown()).toBe(first);
    await world.send([track('eve', 'Pricing Viewed')]);
    await world.settle();
    world.clock.advance(1000);
    expect(await shown()).toEqual([
      { from: 0, count: 1 },
      { from: 10, count: 1 },
    ]);
  });

  it('keeps current scores as points fade, and lists contacts by them, highest first', async () => {
    await world.send([
      track('ada', 'Pricing Viewed'),
      track('ada', 'Pricing Viewed'),
      track('ada', 'Pricing Viewed'),
      track('bob', 'Demo Requested'),
      track('eve', 'Demo Requested'),
      track('eve', 'Careers Viewed'),
      track('cy', 'Pricing Viewed'),
      track('cy', 'Careers Viewed'),
      identify('zed', { plan: 'free' }),
    ]);
    await world.settle();
    const [ada, bob, eve, cy, zed] = (await Promise.all(
      ['ada', 'bob', 'eve', 'cy', 'zed'].map((id) => world.profileOf(id)),
    )) as [string, string, string, string, string];
    /** Every page of the contacts list by engagement, two at a time. */
    const byEngagement = async () => {
      const listed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await world.storage.profiles.list(world.workspaceId, {
          limit: 2,
          scoreModel: 'engagement',
          ...(cursor ? { cursor } : {}),
        });
        listed.push(...page.items.map((profile) => profile.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return listed;
    };
    // 40, 30 fading weekly, 25 for good, nothing, 10 fading weekly less 15: Zed between those with
    // points and Cy, whose careers view took some away.
    expect(await byEngagement()).toEqual([bob, ada, eve, zed, cy]);

    // Ada's views fall under Eve's 25 about 44 hours on: hour by hour, the list follows within what a
    // current score may be off by (a point, or 5 %), with no event of hers.
    const hours = async (count: number) => {
      for (let hour = 0; hour < count; hour++) await world.advance(HOUR);
    };
    await hours(36);
    expect((await byEngagement()).slice(0, 3)).toEqual([bob, ada, eve]);
    await hours(24);
    expect((await byEngagement()).slice(0, 3)).toEqual([bob, eve, ada]);
    // What stage decisions read stays the score at Ada's last event.
    expect((await world.storage.scoring.scores([ada])).get(ada)?.engagement?.score).toBe(30);
    // Dan's three views now outrank Ada's three of days ago, and Eve.
    await world.send([
      track('dan', 'Pricing Viewed'),
      track('dan', 'Pricing Viewed'),
      track('dan', 'Pricing Viewed'),
    ]);
    await world.settle();
    const dan = await world.profileOf('dan');
    expect(await byEngagement()).toEqual([bob, dan, eve, ada, zed, cy]);

    // Demos made to fade daily (Bob's and Eve's, of some 63 hours ago): the list ranks by the new
    // rules at once, with no event.
    const settings = await world.storage.settings.get(world.workspaceId);
    const [engagement, ...others] = settings.scoring.models as [ScoreModel, ...ScoreModel[]];
    await world.configure({
      scoring: {
        models: [
          {
            ...engagement,
            rules: engagement.rules.map((rule) => (rule.id === 'demo' ? { ...rule, halfLife: '1d' } : rule)),
          },
          ...others,
        ],
      },
    });
    await world.settle();
    expect(await byEngagement()).toEqual([dan, ada, bob, zed, cy, eve]);

    // Long after, what is left to fade is within a point of nothing: no refresh is kept for ever.
    await world.advance(200 * DAY);
    expect(await world.storage.scoring.nextScoreRefreshDue()).toBeUndefined();
  });

  it('counts a merged profile’s score from the merged ledger in the distribution, not the higher of the two', async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    const visits = {
      id: 'visits',
      name: 'Visits',
      rules: [{ id: 'pricing', kind: 'event' as const, event: 'Pricing Viewed', points: 10 }],
    };
    await world.configure({ scoring: { models: [...settings.scoring.models, visits] } });
    await world.send([track('u1', 'Pricing Viewed'), track('u1', 'Pricing Viewed')]);
    await world.send([{ type: 'track', anonymousId: 'anon1', event: 'Pricing Viewed', properties: {} }]);
    await world.settle();
    // An alias alone scores the survivor from the merged ledger (30), not the higher of the two (20).
    await world.send([{ type: 'alias', userId: 'u1', previousId: 'anon1' }]);
    await world.settle();
    const survivor = await world.profileOf('u1');
    const visitsModel = (await world.storage.settings.get(world.workspaceId)).scoring.models.find(
      (model) => model.id === 'visits',
    ) as ScoreModel;
    expect((await world.storage.scoring.scores([survivor])).get(survivor)?.visits).toMatchObject({
      score: 30,
      modelRevision: modelRevision(visitsModel),
    });

    const distribution = () =>
      scoreDistribution(world.storage, {
        workspaceId: world.workspaceId,
        modelId: 'visits',
        bucket: 10,
        now: world.clock.now(),
      });
    expect(await distribution()).toEqual([{ from: 30, count: 1 }]);
    expect((await world.storage.scoring.scores([survivor])).get(survivor)?.visits).toMatchObject({
      score: 30,
    });
  });

  it('gives a once-only award to the earliest event, though it arrived after a later one, as a replay does', async () => {
    const now = world.clock.now();
    await world.send([track('ada', 'Demo Requested')]);
    await world.settle();
    // A phone that was offline sends, later, the demo request it made ten days ago.
    await world.send([track('ada', 'Demo Requested', {}, now - 10 * DAY)]);
    await world.settle();
    const engagement = (await intentOf('ada')).scores.find((score) => score.model === 'engagement');
    expect(engagement?.awards.map((award) => [award.rule, award.at])).toEqual([['demo', now - 10 * DAY]]);
    expect(engagement?.score).toBe(40);
  });

  it('makes an MQL on a score threshold, hands it to the CRM with an owner, and moves to SQL on acceptance', async () => {
    await world.send([identify('bo', { country: 'IT', email: 'bo@example.com' }), track('bo', 'Signed Up')]);
    await world.send([track('bo', 'Pricing Viewed'), track('bo', 'Demo Requested')]);
    await world.settle();

    let intent = await intentOf('bo');
    expect(intent.stage).toBe('mql');
    expect(intent.stageHistory.map((change) => [change.from, change.to])).toEqual([
      [null, 'lead'],
      ['lead', 'mql'],
    ]);
    expect(intent.handOffs).toMatchObject([{ owner: 'giulia', status: 'pending' }]);
    expect(crm.received).toMatchObject([
      {
        type: 'mops.hand_off.created',
        // What sales gets: the owner, and the stage and scores that made the lead an MQL.
        hand_off: {
          owner: { id: 'giulia', email: 'giulia@example.com' },
          stage: 'mql',
          scores: { engagement: 50, fit: 20 },
        },
        profile: { traits: { email: 'bo@example.com' } },
      },
    ]);

    await world.send([track('bo', 'Sales Accepted')]);
    await world.settle();
    intent = await intentOf('bo');
    expect(intent.stage).toBe('sql');
    expect(intent.handOffs).toMatchObject([{ status: 'accepted' }]);
    // The CRM hears of the acceptance, whoever told Mops: its copy of the lead is closed.
    expect(crm.received[1]).toMatchObject({
      type: 'mops.hand_off.accepted',
      hand_off: {
        id: intent.handOffs[0]?.id,
        status: 'accepted',
        owner: { id: 'giulia' },
        accepted_at: expect.any(String),
      },
      profile: { traits: { email: 'bo@example.com' } },
    });
    // Past the SLA nothing more happens to an accepted hand-off.
    await world.advance(3 * DAY);
    expect(crm.received).toHaveLength(2);
  });

  it('takes a Sales Accepted received after the deadline as too late, though scoring reads it first', async () => {
    await world.send([
      identify('lu', { country: 'FR' }),
      track('lu', 'Signed Up'),
      track('lu', 'Demo Requested'),
    ]);
    await world.send([track('lu', 'Pricing Viewed')]);
    await world.settle();
    expect((await intentOf('lu')).handOffs).toMatchObject([{ status: 'pending' }]);

    // Past the deadline, the acceptance arrives; scoring reads it before any SLA check has run.
    world.clock.advance(3 * DAY);
    await world.send([track('lu', 'Sales Accepted')]);
    await world.background.pipeline.drain();
    expect((await intentOf('lu')).handOffs).toMatchObject([{ status: 'pending' }]);
    await world.settle();
    // Missed (the acceptance moved the lead on to SQL, so there is nothing to recycle).
    expect((await intentOf('lu')).handOffs).toMatchObject([{ status: 'breached' }]);
  });

  it('misses an SLA only after its deadline: sales may accept at the deadline’s millisecond', async () => {
    await world.send([
      identify('dl', { country: 'FR' }),
      track('dl', 'Signed Up'),
      track('dl', 'Demo Requested'),
    ]);
    await world.settle();
    // Scored by hand, to see when the batch making the hand-off wakes the SLA check.
    await world.send([track('dl', 'Pricing Viewed')]);
    const { items } = await world.storage.events.list(world.workspaceId, { limit: 1 });
    const write = await scoringBatch(() => world.clock.now()).prepare(items, world.storage, {
      after: '0',
      through: '0',
    });
    const work = await world.storage.transaction(write);
    await world.settle();
    const dueAt = (await intentOf('dl')).handOffs[0]?.dueAt as number;
    expect(work.earliestDue).toBe(dueAt + 1);
    expect(await world.storage.scoring.nextHandOffDue()).toBe(dueAt + 1);

    await world.advance(dueAt - world.clock.now());
    expect((await intentOf('dl')).handOffs).toMatchObject([{ status: 'pending' }]);
    await world.send([track('dl', 'Sales Accepted')]);
    await world.settle();
    expect((await intentOf('dl')).handOffs).toMatchObject([{ status: 'accepted', acceptedAt: dueAt }]);
    expect(crm.received.map((body) => body.type)).not.toContain('mops.hand_off.sla_missed');
  });

  it('accepts the hand-off that Sales Accepted creates itself, taking a lead straight past MQL', async () => {
    await world.send([identify('fa', { country: 'FR' }), track('fa', 'Signed Up')]);
    await world.settle();
    await world.send([track('fa', 'Sales Accepted')]);
    await world.settle();
    let intent = await intentOf('fa');
    expect(intent.stage).toBe('sql');
    expect(intent.handOffs).toMatchObject([{ status: 'accepted' }]);
    await world.advance(3 * DAY);
    intent = await intentOf('fa');
    expect(intent.stage).toBe('sql');
    expect(crm.received.map((body) => body.type)).toEqual(['mops.hand_off.created']);
    expect(crm.received[0]).toMatchObject({ hand_off: { status: 'accepted' } });
  });

  it('accepts a hand-off made in a batch only with a Sales Accepted no earlier than the move that made it', async () => {
    // Sales Accepted moves no stage here: it only answers hand-offs.
    const settings = await world.storage.settings.get(world.workspaceId);
    const lifecycle = settings.lifecycle as NonNullable<typeof settings.lifecycle>;
    await world.configure({
      lifecycle: {
        ...lifecycle,
        rules: lifecycle.rules.filter((rule) => rule.kind !== 'event' || rule.event !== 'Sales Accepted'),
      },
    });
    const now = world.clock.now();
    await world.send([
      identify('ea', { country: 'FR' }),
      identify('la', { country: 'FR' }),
      identify('ok', { country: 'FR' }),
    ]);
    await world.settle();
    await world.send([
      // Sent (and logged) before the events that make Ea an MQL.
      track('ea', 'Sales Accepted', {}, now - 2000),
      track('ea', 'Demo Requested', {}, now - 1000),
      track('ea', 'Pricing Viewed', {}, now - 1000),
      // Logged after them, but sent before.
      track('la', 'Demo Requested', {}, now - 1000),
      track('la', 'Pricing Viewed', {}, now - 1000),
      track('la', 'Sales Accepted', {}, now - 2000),
      // Sent after them: it accepts the hand-off they made.
      track('ok', 'Demo Requested', {}, now - 2000),
      track('ok', 'Pricing Viewed', {}, now - 2000),
      track('ok', 'Sales Accepted', {}, now - 1000),
    ]);
    await world.settle();
    expect((await intentOf('ea')).handOffs).toMatchObject([{ status: 'pending', acceptedAt: null }]);
    expect((await intentOf('la')).handOffs).toMatchObject([{ status: 'pending', acceptedAt: null }]);
    expect((await intentOf('ok')).handOffs).toMatchObject([{ status: 'accepted', acceptedAt: now }]);
  });

  it('accepts both hand-offs a merge brings together, so neither is missed later', async () => {
    // Known to sales by its e-mail, the visitor is handed off before it signs in.
    await handedOffAsVisitorAndUser();
    await signInAsVisitor();
    await world.settle();
    expect((await intentOf('ge')).handOffs.map((handOff) => handOff.status)).toEqual(['pending', 'pending']);

    await world.send([track('ge', 'Sales Accepted')]);
    await world.settle();
    await world.advance(3 * DAY);
    const intent = await intentOf('ge');
    expect(intent.handOffs.map((handOff) => handOff.status)).toEqual(['accepted', 'accepted']);
    expect(intent.stage).toBe('sql');
    expect(crm.received.map((body) => body.type)).not.toContain('mops.hand_off.sla_missed');
  });

  describe('a visitor sales cannot identify yet', () => {
    const visitor = (anonymousId: string, event: string) => ({
      type: 'track',
      anonymousId,
      event,
      properties: {},
    });
    const reachMql = (anonymousId: string) =>
      world.send([visitor(anonymousId, 'Demo Requested'), visitor(anonymousId, 'Pricing Viewed')]);
    const profileOfVisitor = async (anonymousId: string) => {
      const [identity] = await world.storage.profiles.findIdentities(world.workspaceId, [
        { kind: 'anonymous', value: anonymousId },
      ]);
      if (!identity) throw new Error(`no profile for ${anonymousId}`);
      return identity.profileId;
    };
    const intentOfVisitor = async (anonymousId: string) =>
      profileIntent(world.storage, {
        workspaceId: world.workspaceId,
        profileId: await profileOfVisitor(anonymousId),
        now: world.clock.now(),
      });
    const timelineNames = async (profileId: string) =>
      (await listProfileTimeline(world.storage, world.workspaceId, profileId, { limit: 50 }))?.items.map(
        (event) => event.name,
      );

    it('is owed its hand-off at MQL: no owner, no CRM call, no SLA, no Hand-off Created', async () => {
      const owedAt = world.clock.now();
      await reachMql('anon-vi');
      await world.settle();
      const intent = await intentOfVisitor('anon-vi');
      expect(intent.stage).toBe('mql');
      expect(intent.handOffs).toMatchObject([
        { status: 'awaiting_identity', owner: null, messageId: null, owedAt, createdAt: owedAt },
      ]);
      expect(await timelineNames(await profileOfVisitor('anon-vi'))).not.toContain('Hand-off Created');
      expect(
        (
          await world.storage.scoring.listHandOffs(
            world.workspaceId,
            { status: 'awaiting_identity' },
            { limit: 10 },
          )
        ).items,
      ).toHaveLength(1);
      // Past any SLA, nothing is missed and the CRM hears nothing.
      await world.advance(3 * DAY);
      expect(crm.received).toEqual([]);
      expect((await intentOfVisitor('anon-vi')).handOffs).toMatchObject([{ status: 'awaiting_identity' }]);
    });

    it('makes the owed hand-off when the visitor identifies, with its user id, the SLA counted from then', async () => {
      const owedAt = world.clock.now();
      await reachMql('anon-vi');
      await world.settle();
      const [owed] = (await intentOfVisitor('anon-vi')).handOffs;
      world.clock.advance(DAY);
      const identifiedAt = world.clock.now();
      await world.send([
        { type: 'identify', userId: 'vi', anonymousId: 'anon-vi', traits: { country: 'FR' } },
      ]);
      await world.settle();

      const intent = await intentOf('vi');
      expect(intent.handOffs).toEqual([
        expect.objectContaining({
          id: owed?.id,
          status: 'pending',
          owner: 'marco',
          owedAt,
          createdAt: identifiedAt,
          dueAt: identifiedAt + 2 * DAY,
        }),
      ]);
      expect(crm.received).toMatchObject([
        {
          type: 'mops.hand_off.created',
          hand_off: { id: owed?.id, owner: { id: 'marco' } },
          profile: { userId: 'vi' },
        },
      ]);
      expect(await timelineNames(await world.profileOf('vi'))).toContain('Hand-off Created');
      // Two days from the identify, not from the MQL: the SLA runs out then.
      await world.advance(2 * DAY - HOUR);
      expect(crm.received.map((body) => body.type)).toEqual(['mops.hand_off.created']);
      await world.advance(2 * HOUR);
      expect(crm.received.map((body) => body.type)).toEqual([
        'mops.hand_off.created',
        'mops.hand_off.sla_missed',
      ]);
    });

    it('makes the owed hand-off when an e-mail makes the visitor known, without a user id', async () => {
      await reachMql('anon-em');
      await world.settle();
      await world.send([{ type: 'identify', anonymousId: 'anon-em', traits: { email: 'em@example.com' } }]);
      await world.settle();
      expect((await intentOfVisitor('anon-em')).handOffs).toMatchObject([
        { status: 'pending', owner: 'marco' },
      ]);
      expect(crm.received).toMatchObject([{ profile: { traits: { email: 'em@example.com' } } }]);
    });

    it('hands the survivor the owed hand-off of a visitor merged into a known user on login, once', async () => {
      await world.send([identify('kn', { email: 'kn@example.com', country: 'IT' })]);
      await reachMql('anon-kn');
      await world.settle();
      const visitorProfile = await profileOfVisitor('anon-kn');
      expect(visitorProfile).not.toBe(await world.profileOf('kn'));
      const [owed] = (await intentOfVisitor('anon-kn')).handOffs;

      await world.send([{ type: 'identify', userId: 'kn', anonymousId: 'anon-kn', traits: {} }]);
      await world.settle();
      await world.send([
        track('kn', 'Careers Viewed'),
        { type: 'identify', userId: 'kn', traits: { plan: 'pro' } },
      ]);
      await world.settle();

      const intent = await intentOf('kn');
      expect(intent.stage).toBe('mql');
      expect(intent.handOffs).toMatchObject([{ id: owed?.id, status: 'pending', owner: 'giulia' }]);
      expect(crm.received).toMatchObject([
        { type: 'mops.hand_off.created', hand_off: { id: owed?.id }, profile: { userId: 'kn' } },
      ]);
      expect(crm.received).toHaveLength(1);
    });

    it('makes the owed hand-off when an alias alone merges the visitor into a known user', async () => {
      await world.send([identify('al', { email: 'al@example.com' })]);
      await reachMql('anon-al');
      await world.settle();
      await world.send([{ type: 'alias', userId: 'al', previousId: 'anon-al' }]);
      await world.settle();
      expect((await intentOf('al')).handOffs).toMatchObject([{ status: 'pending', owner: 'marco' }]);
      expect(crm.received).toMatchObject([{ type: 'mops.hand_off.created', profile: { userId: 'al' } }]);
    });

    it('makes an MQL of a known lead whom an alias alone joins to a visitor, their points together past the threshold', async () => {
      // 40 points each side of the alias; 50 make an MQL.
      await world.send([identify('jo', { email: 'jo@example.com' }), track('jo', 'Demo Requested')]);
      await world.send([{ type: 'track', anonymousId: 'anon-jo', event: 'Pricing Viewed', properties: {} }]);
      await world.settle();
      expect((await intentOf('jo')).stage).toBeNull();
      await world.send([{ type: 'alias', userId: 'jo', previousId: 'anon-jo' }]);
      await world.settle();
      const intent = await intentOf('jo');
      expect(intent.scores.find((score) => score.model === 'engagement')?.score).toBe(50);
      expect(intent.stage).toBe('mql');
      expect(intent.handOffs).toMatchObject([{ status: 'pending', owner: 'marco' }]);
      expect(crm.received).toMatchObject([{ type: 'mops.hand_off.created', profile: { userId: 'jo' } }]);
    });

    it('drops the owed hand-off of a visitor merged into a lead already handed off, saying so', async () => {
      await world.send([
        identify('ho', { country: 'FR' }),
        track('ho', 'Demo Requested'),
        track('ho', 'Pricing Viewed'),
      ]);
      await reachMql('anon-ho');
      await world.settle();
      await world.send([{ type: 'identify', userId: 'ho', anonymousId: 'anon-ho', traits: {} }]);
      await world.settle();
      // Made in one batch with the lead's own, the two may list in either order.
      const { handOffs } = await intentOf('ho');
      expect(handOffs).toHaveLength(2);
      expect(handOffs).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ status: 'pending', owner: 'marco' }),
          expect.objectContaining({
            status: 'dropped',
            owner: null,
            droppedReason: 'merged into a profile already handed off',
          }),
        ]),
      );
      expect(crm.received).toHaveLength(1);
    });

    it('makes the owed hand-off of a visitor merged into a lead sales had accepted and then sent back', async () => {
      await world.send([
        identify('sb', { country: 'FR', email: 'sb@example.com' }),
        track('sb', 'Demo Requested'),
        track('sb', 'Pricing Viewed'),
      ]);
      await world.settle();
      await world.send([track('sb', 'Sales Accepted')]);
      await world.settle();
      await recycleProfile(world.storage, {
        workspaceId: world.workspaceId,
        profileId: await world.profileOf('sb'),
        reason: 'not ready to buy',
        now: world.clock.now(),
      });
      // As an older Mops left it: its recycle by hand ended only a pending hand-off, so the accepted
      // one stayed accepted, and only the lead's stage says it is no longer with sales.
      const [ended] = (await intentOf('sb')).handOffs;
      expect(ended).toMatchObject({ status: 'recycled', acceptedAt: expect.any(Number) });
      const accepted = `update hand_offs set status = 'accepted' where id = '${ended?.id}'`;
      await runRawSql(world, { sqlite: accepted, postgres: accepted });
      await reachMql('anon-sb');
      await world.settle();
      const [owed] = (await intentOfVisitor('anon-sb')).handOffs;
      expect(owed).toMatchObject({ status: 'awaiting_identity' });

      await world.send([{ type: 'identify', userId: 'sb', anonymousId: 'anon-sb', traits: {} }]);
      await world.settle();
      const intent = await intentOf('sb');
      expect(intent.stage).toBe('mql');
      expect(intent.handOffs).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ status: 'accepted', owner: 'marco' }),
          expect.objectContaining({ id: owed?.id, status: 'pending', owner: 'giulia' }),
        ]),
      );
      expect(crm.received.map((body) => [body.type, (body.hand_off as { id: string }).id])).toContainEqual([
        'mops.hand_off.created',
        owed?.id,
      ]);
    });

    it('drops the owed hand-off of a visitor recycled meanwhile, and makes none when it identifies', async () => {
      await reachMql('anon-rc');
      await world.settle();
      const moved = await recycleProfile(world.storage, {
        workspaceId: world.workspaceId,
        profileId: await profileOfVisitor('anon-rc'),
        reason: 'bot traffic',
        now: world.clock.now(),
      });
      expect(moved).toEqual({ from: 'mql', to: 'lead', queued: 0 });
      await world.send([{ type: 'identify', userId: 'rc', anonymousId: 'anon-rc', traits: {} }]);
      await world.settle();
      const intent = await intentOf('rc');
      expect(intent.stage).toBe('lead');
      expect(intent.handOffs).toMatchObject([
        { status: 'dropped', owner: null, droppedReason: 'recycled before the contact was known to sales' },
      ]);
      expect(crm.received).toEqual([]);
    });
  });

  it('gives a lead a purchase takes straight past the hand-off stage an owner, but no SLA to miss', async () => {
    await purchasesMakeCustomers();
    await world.send([identify('pu', { country: 'FR' }), track('pu', 'Signed Up')]);
    await world.settle();
    await world.send([track('pu', 'Order Completed')]);
    await world.settle();
    let intent = await intentOf('pu');
    expect(intent.stage).toBe('customer');
    expect(intent.handOffs).toMatchObject([{ status: 'passed' }]);

    await world.advance(3 * DAY);
    intent = await intentOf('pu');
    expect(intent.stage).toBe('customer');
    expect(intent.handOffs).toMatchObject([{ status: 'passed', breachedAt: null }]);
    expect(crm.received).toHaveLength(1);
    expect(crm.received[0]).toMatchObject({ type: 'mops.hand_off.created', hand_off: { status: 'passed' } });
    expect(crm.received[0]?.hand_off).not.toHaveProperty('accept_by');
  });

  it('tells the CRM of a missed SLA but does not send back a lead that has moved past the hand-off stage', async () => {
    await purchasesMakeCustomers();
    await world.send([identify('ha', { country: 'FR' }), track('ha', 'Signed Up')]);
    await world.send([track('ha', 'Demo Requested'), track('ha', 'Pricing Viewed')]);
    await world.settle();
    await world.send([track('ha', 'Order Completed')]);
    await world.settle();
    expect((await intentOf('ha')).stage).toBe('customer');

    await world.advance(2 * DAY + 1000);
    const intent = await intentOf('ha');
    expect(intent.stage).toBe('customer');
    expect(intent.handOffs).toMatchObject([{ status: 'breached' }]);
    expect(crm.received.map((body) => body.type)).toEqual([
      'mops.hand_off.created',
      'mops.hand_off.sla_missed',
    ]);
  });

  it('leaves a lead sales accepts after its missed SLA with its owner, taking no one’s turn', async () => {
    await world.send([identify('lu', { country: 'FR' }), track('lu', 'Signed Up')]);
    await world.send([track('lu', 'Demo Requested'), track('lu', 'Pricing Viewed')]);
    await world.settle();
    await world.advance(2 * DAY + 1000);
    expect((await intentOf('lu')).handOffs).toMatchObject([{ owner: 'marco', status: 'recycled' }]);

    // Marco accepts it late, from his copy in the CRM: the lead is his, as an accepted hand-off.
    await world.send([track('lu', 'Sales Accepted')]);
    await world.settle();
    const intent = await intentOf('lu');
    expect(intent.stage).toBe('sql');
    expect(intent.handOffs.map(({ owner, status }) => ({ owner, status }))).toEqual(
      expect.arrayContaining([
        { owner: 'marco', status: 'recycled' },
        { owner: 'marco', status: 'accepted' },
      ]),
    );
    // The rotation goes on where it was: the next lead no rule places is Giulia's.
    await world.send([identify('mo', { country: 'FR' }), track('mo', 'Signed Up')]);
    await world.send([track('mo', 'Demo Requested'), track('mo', 'Pricing Viewed')]);
    await world.settle();
    expect((await intentOf('mo')).handOffs).toMatchObject([{ owner: 'giulia', status: 'pending' }]);
  });

  it('takes turns among the owners only for leads no assignment rule places', async () => {
    const mql = async (userId: string, country: string) => {
      await world.send([identify(userId, { country }), track(userId, 'Signed Up')]);
      await world.send([track(userId, 'Demo Requested'), track(userId, 'Pricing Viewed')]);
      await world.settle();
      return (await intentOf(userId)).handOffs[0]?.owner;
    };
    const owners = [];
    for (const [userId, country] of [
      ['it-1', 'IT'],
      ['fr-1', 'FR'],
      ['it-2', 'IT'],
      ['fr-2', 'FR'],
      ['fr-3', 'FR'],
    ] as const)
      owners.push(await mql(userId, country));
    // The Italians are Giulia's by rule; the others alternate from Marco.
    expect(owners).toEqual(['giulia', 'marco', 'giulia', 'giulia', 'marco']);
  });

  it('keeps the stage further along when a merge joins a visitor to a known lead', async () => {
    const visitor = (event: string) => ({ type: 'track', anonymousId: 'anon-ia', event, properties: {} });
    await world.send([visitor('Signed Up'), visitor('Sales Accepted')]);
    await world.send([identify('ia', { country: 'FR' }), track('ia', 'Signed Up')]);
    await world.settle();
    expect((await intentOf('ia')).stage).toBe('lead');

    await world.send([{ type: 'identify', userId: 'ia', anonymousId: 'anon-ia', traits: {} }]);
    await world.settle();
    const intent = await intentOf('ia');
    expect(intent.stage).toBe('sql');
    expect(intent.stageHistory.at(-1)).toMatchObject({
      to: 'sql',
      reason: 'merged with a profile further along',
    });
  });

  it('takes the stages of two visitors merged into a user without one, in one batch, the furthest kept', async () => {
    const visitor = (anonymousId: string, event: string) => ({
      type: 'track',
      anonymousId,
      event,
      properties: {},
    });
    await world.send([visitor('anon-ka-1', 'Signed Up'), visitor('anon-ka-2', 'Signed Up')]);
    await world.send([visitor('anon-ka-2', 'Sales Accepted'), identify('ka', { country: 'FR' })]);
    await world.settle();
    expect((await intentOf('ka')).stage).toBeNull();

    await world.send([
      { type: 'identify', userId: 'ka', anonymousId: 'anon-ka-1', traits: {} },
      { type: 'identify', userId: 'ka', anonymousId: 'anon-ka-2', traits: {} },
    ]);
    await world.settle();
    const intent = await intentOf('ka');
    expect(intent.stage).toBe('sql');
    expect(intent.stageHistory.at(-1)).toMatchObject({
      from: 'lead',
      to: 'sql',
      reason: 'merged with a profile further along',
    });
    // The pipeline went on past the merges (it was stuck on them once).
    await world.send([track('ka', 'Careers Viewed')]);
    await world.settle();
    expect((await intentOf('ka')).scores.find((score) => score.model === 'engagement')?.score).toBe(-15);
  });

  it('keeps the furthest stage along a chain of merges in one batch (visitor into user into user)', async () => {
    await world.send([
      { type: 'track', anonymousId: 'anon-la', event: 'Signed Up', properties: {} },
      { type: 'track', anonymousId: 'anon-la', event: 'Sales Accepted', properties: {} },
      identify('la-1', {}),
      track('la-1', 'Signed Up'),
      identify('la-2', {}),
    ]);
    await world.settle();
    expect((await intentOf('la-1')).stage).toBe('lead');
    expect((await intentOf('la-2')).stage).toBeNull();

    // The visitor (at SQL) joins la-1 (a lead), which an alias then merges into la-2 (no stage).
    await world.send([
      { type: 'identify', userId: 'la-1', anonymousId: 'anon-la', traits: {} },
      { type: 'alias', userId: 'la-2', previousId: 'la-1' },
    ]);
    await world.settle();
    const intent = await intentOf('la-2');
    expect(intent.stage).toBe('sql');
    expect(intent.stageHistory.at(-1)).toMatchObject({
      to: 'sql',
      reason: 'merged with a profile further along',
    });
  });

  it('moves a profile already over a threshold added since it scored, at its next event', async () => {
    const lifecycle = (await world.storage.settings.get(world.workspaceId)).lifecycle as NonNullable<
      WorkspaceSettings['lifecycle']
    >;
    await world.configure({
      lifecycle: { ...lifecycle, rules: lifecycle.rules.filter((rule) => rule.kind !== 'score') },
    });
    await world.send([
      identify('th', { country: 'FR' }),
      track('th', 'Signed Up'),
      track('th', 'Demo Requested'),
      track('th', 'Pricing Viewed'),
      track('th', 'Pricing Viewed'),
    ]);
    await world.settle();
    expect(await intentOf('th')).toMatchObject({ stage: 'lead' });

    await world.configure({ lifecycle });
    await world.send([track('th', 'Page Viewed')]);
    await world.settle();
    const intent = await intentOf('th');
    expect(intent.stage).toBe('mql');
    expect(intent.handOffs).toMatchObject([{ status: 'pending' }]);
  });

  /** Looking at jobs counts against a lead only for a while: the penalty halves every day. */
  const penaltiesFadeDaily = async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    const [engagement, ...others] = settings.scoring.models as [ScoreModel, ...ScoreModel[]];
    await world.configure({
      scoring: {
        models: [
          {
            ...engagement,
            rules: engagement.rules.map((rule) =>
              rule.id === 'careers' ? { ...rule, halfLife: '1d' } : rule,
            ),
          },
          ...others,
        ],
      },
    });
  };
  /** 40 + 20 fading over a week − 15 fading over a day: 45, reaching 50 about 20 hours on. */
  const nearlyMql = (userId: string) => [
    track(userId, 'Demo Requested'),
    track(userId, 'Careers Viewed'),
    track(userId, 'Pricing Viewed'),
    track(userId, 'Pricing Viewed'),
  ];

  it('moves a stage when time alone takes the score over its threshold, handing the lead off then', async () => {
    await penaltiesFadeDaily();
    await world.send([
      identify('cv', { country: 'FR', email: 'cv@example.com' }),
      track('cv', 'Signed Up'),
      ...nearlyMql('cv'),
      // Only positive awards, which fade: time alone never takes this one up.
      identify('pp', { country: 'FR', email: 'pp@example.com' }),
      track('pp', 'Signed Up'),
      track('pp', 'Pricing Viewed'),
    ]);
    await world.settle();
    const sent = world.clock.now();
    const before = await intentOf('cv');
    expect(before.stage).toBe('lead');
    expect(before.scores.find((score) => score.model === 'engagement')?.score).toBe(45);
    const due = (await world.storage.scoring.nextStageTimerDue()) as number;
    expect((due - sent) / HOUR).toBeGreaterThan(19);
    expect((due - sent) / HOUR).toBeLessThan(21);

    await world.advance(12 * HOUR);
    expect((await intentOf('cv')).stage).toBe('lead');
    expect(crm.received).toEqual([]);

    await world.advance(12 * HOUR);
    const intent = await intentOf('cv');
    expect(intent.stage).toBe('mql');
    expect(intent.stageHistory.at(-1)).toMatchObject({
      from: 'lead',
      to: 'mql',
      reason: expect.stringMatching(/^score engagement reached 5\d/),
      at: world.clock.now(),
    });
    expect(intent.handOffs).toMatchObject([{ status: 'pending', owner: 'marco' }]);
    expect(crm.received).toMatchObject([
      { type: 'mops.hand_off.created', profile: { traits: { email: 'cv@example.com' } } },
    ]);
    expect((await intentOf('pp')).stage).toBe('lead');
    // The stage is as far as time takes it: no timer is left.
    expect(await world.storage.scoring.nextStageTimerDue()).toBeUndefined();
  });

  it('drops the stage timer of a profile merged away, and fires the others due with it', async () => {
    await penaltiesFadeDaily();
    await world.send([
      identify('mv', { country: 'FR' }),
      { type: 'track', anonymousId: 'anon-mv', event: 'Pricing Viewed', properties: {} },
      identify('bob', { country: 'FR' }),
      ...nearlyMql('bob'),
    ]);
    await world.settle();
    const [visitor] = await world.storage.profiles.findIdentities(world.workspaceId, [
      { kind: 'anonymous', value: 'anon-mv' },
    ]);
    await world.send([{ type: 'identify', userId: 'mv', anonymousId: 'anon-mv', traits: {} }]);
    await world.settle();
    const [gone] = (
      await world.storage.profiles.findProfilesByIds([visitor?.profileId ?? '', await world.profileOf('mv')])
    ).filter((profile) => profile.mergedInto !== null);
    // As a retry racing the merge could leave it: a timer of the profile merged away.
    await world.storage.transaction((tx) =>
      tx.scoring.bringStageTimersForward([
        { profileId: gone?.id ?? '', workspaceId: world.workspaceId, dueAt: world.clock.now() + HOUR },
      ]),
    );

    await world.advance(DAY);
    expect((await intentOf('bob')).stage).toBe('mql');
    expect(await world.storage.scoring.nextStageTimerDue()).toBeUndefined();
  });

  it('keeps a recycled lead recycled when it is merged into a profile with a lower score', async () => {
    await world.send([
      identify('rb', { country: 'FR' }),
      track('rb', 'Signed Up'),
      track('rb', 'Demo Requested'),
      track('rb', 'Pricing Viewed'),
      track('rb', 'Pricing Viewed'),
      identify('rc', { country: 'FR' }),
    ]);
    await world.settle();
    expect((await intentOf('rb')).stage).toBe('mql');
    await recycleProfile(world.storage, {
      workspaceId: world.workspaceId,
      profileId: await world.profileOf('rb'),
      reason: 'sales rejected it',
      now: world.clock.now(),
    });
    world.clock.advance(1000);
    await world.send([{ type: 'alias', userId: 'rc', previousId: 'rb' }]);
    await world.settle();
    world.clock.advance(1000);
    await world.send([track('rc', 'Page Viewed')]);
    await world.settle();
    // Its score never fell below the threshold: it does not come back as an MQL, nor go to sales again.
    const intent = await intentOf('rc');
    expect(intent.stage).toBe('lead');
    expect(intent.handOffs).toHaveLength(1);
  });

  it('refuses a lifecycle that drops a stage profiles are at, naming the field', async () => {
    await world.send([identify('ja', {}), track('ja', 'Signed Up')]);
    await world.settle();
    const lifecycle = (await world.storage.settings.get(world.workspaceId)).lifecycle as NonNullable<
      WorkspaceSettings['lifecycle']
    >;
    const renamed = lifecycle.stages.map((stage) => (stage === 'lead' ? 'prospect' : stage));
    await expect(
      world.configure({
        lifecycle: {
          ...lifecycle,
          stages: renamed,
          rules: lifecycle.rules.map((rule) => (rule.to === 'lead' ? { ...rule, to: 'prospect' } : rule)),
          recycleTo: 'prospect',
        },
      }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'lifecycle.stages',
      message: expect.stringContaining('lead'),
    });
    expect((await world.storage.settings.get(world.workspaceId)).lifecycle?.stages).toContain('lead');
  });

  it('refuses settings dropping a score model or stage that a live segment or a published journey asks about', async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    const lifecycle = settings.lifecycle as NonNullable<WorkspaceSettings['lifecycle']>;
    await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Fit', kind: 'live', rule: { type: 'score', model: 'fit', min: 10 } },
      now: world.clock.now(),
    });
    await world.publish({
      name: 'Opportunities',
      entry: { trigger: { type: 'event', event: 'Demo Requested' } },
      start: 'branch',
      steps: [
        {
          id: 'branch',
          type: 'branch',
          branches: [
            { conditions: [{ source: 'lifecycle', op: 'in', stages: ['opportunity'] }], next: 'end' },
          ],
          otherwise: 'end',
        },
        { id: 'end', type: 'exit' },
      ],
    });
    const withoutFit = settings.scoring.models.filter((model) => model.id !== 'fit');
    await expect(world.configure({ scoring: { models: withoutFit } })).rejects.toMatchObject({
      field: 'scoring.models',
      message: expect.stringContaining('segment Fit'),
    });
    const withoutOpportunity = lifecycle.stages.filter((stage) => stage !== 'opportunity');
    await expect(
      world.configure({ lifecycle: { ...lifecycle, stages: withoutOpportunity } }),
    ).rejects.toMatchObject({
      field: 'lifecycle.stages',
      message: expect.stringContaining('journey Opportunities'),
    });
    expect((await world.storage.settings.get(world.workspaceId)).scoring.models).toHaveLength(2);
  });

  it('refuses settings dropping a topic a live segment asks about or a published journey sends on', async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    const deals = { id: 'deals', name: 'Deals', defaultSubscribed: false };
    const news = { id: 'news', name: 'News', defaultSubscribed: true };
    await world.configure({ topics: [...settings.topics, deals, news] });
    await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: {
        name: 'News readers',
        kind: 'live',
        rule: { type: 'subscription', topic: 'news', subscribed: true },
      },
      now: world.clock.now(),
    });
    const template = await world.template({ subject: 'Deals', mjml: '<p>Deals!</p>' });
    await world.publish({
      name: 'Deals by mail',
      entry: { trigger: { type: 'event', event: 'Signed Up' } },
      start: 'mail',
      steps: [
        { id: 'mail', type: 'send_email', template, topic: 'deals', next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await expect(world.configure({ topics: [...settings.topics, news] })).rejects.toMatchObject({
      field: 'topics',
      message: expect.stringContaining('journey Deals by mail'),
    });
    await expect(world.configure({ topics: [...settings.topics, deals] })).rejects.toMatchObject({
      field: 'topics',
      message: expect.stringContaining('segment News readers'),
    });
    expect((await world.storage.settings.get(world.workspaceId)).topics).toHaveLength(
      settings.topics.length + 2,
    );
  });

  it('keeps a segment and a stage that only an older journey version still running asks about', async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    const lifecycle = settings.lifecycle as NonNullable<WorkspaceSettings['lifecycle']>;
    const segment = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Planned', kind: 'live', rule: { type: 'trait', path: 'plan', op: 'exists' } },
      now: world.clock.now(),
    });
    const branching = {
      name: 'Follow-up',
      entry: { trigger: { type: 'event', event: 'Demo Requested' } },
      start: 'later',
      steps: [
        { id: 'later', type: 'wait', duration: '1d', next: 'branch' },
        {
          id: 'branch',
          type: 'branch',
          branches: [
            { conditions: [{ source: 'segment', segment: segment.id }], next: 'end' },
            { conditions: [{ source: 'lifecycle', op: 'in', stages: ['opportunity'] }], next: 'end' },
          ],
          otherwise: 'end',
        },
        { id: 'end', type: 'exit' },
      ],
    };
    const journeyId = await world.publish(branching);
    await world.send([identify('kim', { plan: 'pro' }), track('kim', 'Demo Requested')]);
    await world.settle();
    // Version 2 asks about neither; kim's instance still runs on version 1.
    await updateDraft(world.storage, world.clock, {
      workspaceId: world.workspaceId,
      id: journeyId,
      definition: parseDefinition({ ...branching, start: 'end', steps: [{ id: 'end', type: 'exit' }] }),
    });
    await publishJourney(world.storage, world.clock, world.workspaceId, journeyId);

    await expect(deleteSegment(world.storage, world.workspaceId, segment.id)).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('Follow-up'),
    });
    const withoutOpportunity = lifecycle.stages.filter((stage) => stage !== 'opportunity');
    await expect(
      world.configure({ lifecycle: { ...lifecycle, stages: withoutOpportunity } }),
    ).rejects.toMatchObject({ field: 'lifecycle.stages', message: expect.stringContaining('Follow-up') });

    await world.advance(24 * 3_600_000);
    expect((await world.storage.journeys.report(journeyId)).active).toBe(0);
    await deleteSegment(world.storage, world.workspaceId, segment.id);
    await world.configure({ lifecycle: { ...lifecycle, stages: withoutOpportunity } });
  });

  it('refuses a hand-off that could never recycle, or that lists an owner twice, naming the field', async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    const lifecycle = settings.lifecycle as NonNullable<WorkspaceSettings['lifecycle']>;
    const handOff = settings.handOff as NonNullable<WorkspaceSettings['handOff']>;
    await expect(world.configure({ lifecycle: { ...lifecycle, recycleTo: 'mql' } })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'lifecycle.recycleTo',
    });
    const [marco] = handOff.owners;
    await expect(
      world.configure({
        handOff: { ...handOff, owners: [...handOff.owners, marco as NonNullable<typeof marco>] },
      }),
    ).rejects.toMatchObject({ code: 'invalid_input', field: 'handOff.owners.2.id' });
    // Without recycling on a miss, recycling to the hand-off stage's place is the workspace's choice.
    await world.configure({
      lifecycle: { ...lifecycle, recycleTo: 'mql' },
      handOff: { ...handOff, recycleOnMiss: false },
    });
  });

  it('makes an MQL only once engagement and fit both reach their thresholds, whichever comes last', async () => {
    const lifecycle = (await world.storage.settings.get(world.workspaceId)).lifecycle as NonNullable<
      WorkspaceSettings['lifecycle']
    >;
    await world.configure({
      lifecycle: {
        ...lifecycle,
        rules: lifecycle.rules.map((rule) =>
          rule.kind === 'score' ? { ...rule, and: [{ model: 'fit', atLeast: 20 }] } : rule,
        ),
      },
    });
    // Engaged, but not in Italy: a lead.
    await world.send([
      identify('pair', { country: 'FR' }),
      track('pair', 'Signed Up'),
      track('pair', 'Demo Requested'),
      track('pair', 'Pricing Viewed'),
    ]);
    await world.settle();
    expect(await intentOf('pair')).toMatchObject({ stage: 'lead', handOffs: [] });
    // Fit arrives by a trait change, with no event scoring engagement: now both hold.
    await world.send([identify('pair', { country: 'IT' })]);
    await world.settle();
    const intent = await intentOf('pair');
    expect(intent.stage).toBe('mql');
    expect(intent.handOffs).toMatchObject([{ status: 'pending', owner: 'giulia' }]);
    // In Italy from the start, engaged later: moved by the engagement that came last.
    await world.send([identify('fit-first', { country: 'IT' }), track('fit-first', 'Signed Up')]);
    await world.settle();
    expect(await intentOf('fit-first')).toMatchObject({ stage: 'lead' });
    await world.send([track('fit-first', 'Demo Requested'), track('fit-first', 'Pricing Viewed')]);
    await world.settle();
    expect(await intentOf('fit-first')).toMatchObject({ stage: 'mql' });

    // A threshold on a model the workspace does not have, or over its cap, is refused, naming it.
    const refused = {
      ...lifecycle,
      rules: [{ ...lifecycle.rules[1], and: [{ model: 'nope', atLeast: 1 }] }],
    };
    await expect(world.configure({ lifecycle: refused as typeof lifecycle })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'lifecycle.rules.0.and.0.model',
      message: expect.stringContaining('nope is not one of the score models'),
    });
  });

  it('refuses a score threshold the model’s cap never lets a score reach, naming the field', async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    const lifecycle = settings.lifecycle as NonNullable<WorkspaceSettings['lifecycle']>;
    const [engagement, fit] = settings.scoring.models as [ScoreModel, ScoreModel];
    await expect(
      world.configure({ scoring: { models: [{ ...engagement, cap: 40 }, fit] } }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'lifecycle.rules.1.atLeast',
      message: expect.stringContaining('engagement never scores more than 40'),
    });
    expect((await world.storage.settings.get(world.workspaceId)).scoring.models[0]?.cap).toBeUndefined();
    // A threshold at the cap is reached.
    await world.configure({ scoring: { models: [{ ...engagement, cap: 50 }, fit] }, lifecycle });
  });

  it('refuses segments and journey branches naming a score model or stage the workspace does not have', async () => {
    const segment = (rule: Record<string, unknown>) =>
      createSegment(world.storage, {
        workspaceId: world.workspaceId,
        input: { name: 'Typo', kind: 'live', rule: rule as never },
        now: world.clock.now(),
      });
    await expect(segment({ type: 'score', model: 'engagment', min: 10 })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'rule.model',
      message: expect.stringContaining('engagment'),
    });
    await expect(segment({ not: { type: 'lifecycle', stages: ['lead', 'mlq'] } })).rejects.toMatchObject({
      field: 'rule.not.stages.1',
      message: expect.stringContaining('mlq'),
    });
    const branchOn = (condition: Record<string, unknown>) =>
      world.publish({
        name: `Branch ${Math.random()}`,
        entry: { trigger: { type: 'event', event: 'Signed Up' } },
        start: 'route',
        steps: [
          {
            id: 'route',
            type: 'branch',
            branches: [{ conditions: [condition], next: 'done' }],
            otherwise: 'done',
          },
          { id: 'done', type: 'exit' },
        ],
      });
    await expect(
      branchOn({ source: 'score', model: 'engagment', op: 'gte', value: 1 }),
    ).rejects.toMatchObject({
      field: 'draft.steps.0.branches.0.conditions.0.model',
    });
    await expect(branchOn({ source: 'lifecycle', op: 'in', stages: ['mlq'] })).rejects.toMatchObject({
      field: 'draft.steps.0.branches.0.conditions.0.stages',
    });
    await expect(
      branchOn({ source: 'score', model: 'engagement', op: 'gte', value: 1 }),
    ).resolves.toBeDefined();
  });

  it('tells the CRM of a missed SLA and recycles the lead, all visible on the profile', async () => {
    await world.send([identify('cy', { country: 'FR' }), track('cy', 'Signed Up')]);
    await world.send([track('cy', 'Demo Requested'), track('cy', 'Pricing Viewed')]);
    await world.settle();
    // No assignment rule places cy: round-robin gives the first owner.
    expect((await intentOf('cy')).handOffs).toMatchObject([{ owner: 'marco', status: 'pending' }]);

    await world.advance(2 * DAY + 1000);
    const intent = await intentOf('cy');
    expect(intent.stage).toBe('lead');
    expect(intent.handOffs).toMatchObject([{ status: 'recycled' }]);
    expect(intent.stageHistory.at(-1)).toMatchObject({
      from: 'mql',
      to: 'lead',
      reason: 'hand-off SLA missed',
    });
    expect(crm.received).toMatchObject([
      { type: 'mops.hand_off.created', hand_off: { status: 'pending' } },
      { type: 'mops.hand_off.sla_missed', hand_off: { status: 'recycled' } },
    ]);
    const timeline = await listProfileTimeline(
      world.storage,
      world.workspaceId,
      await world.profileOf('cy'),
      {
        limit: 50,
      },
    );
    expect(timeline?.items.map((event) => event.name)).toEqual(
      expect.arrayContaining(['Hand-off Created', 'Hand-off SLA Missed', 'Lifecycle Stage Changed']),
    );
    // Listed among the missed SLAs, though the miss recycled it.
    const listed = (missed: boolean) =>
      world.storage.scoring.listHandOffs(world.workspaceId, { missed }, { limit: 10 });
    expect((await listed(true)).items.map((handOff) => handOff.status)).toEqual(['recycled']);
    expect((await listed(false)).items).toEqual([]);
  });

  it('names the owner on Hand-off SLA Missed as on Hand-off Created, so a journey can alert them', async () => {
    await world.send([
      identify('di', { country: 'FR' }),
      track('di', 'Demo Requested'),
      track('di', 'Pricing Viewed'),
    ]);
    await world.settle();
    await world.advance(2 * DAY + 1000);
    const timeline = await listProfileTimeline(
      world.storage,
      world.workspaceId,
      await world.profileOf('di'),
      {
        limit: 50,
      },
    );
    const propertiesOf = (name: string) =>
      timeline?.items.find((event) => event.name === name)?.payload.properties as Record<string, unknown>;
    const owner = { owner: 'marco', owner_name: 'Marco', owner_email: 'marco@example.com' };
    expect(propertiesOf('Hand-off Created')).toMatchObject(owner);
    expect(propertiesOf('Hand-off SLA Missed')).toMatchObject(owner);
  });

  it('counts the time to accept in business hours when the workspace keeps them, in its time zone', async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    await world.configure({
      timezone: 'Europe/Rome',
      handOff: {
        ...settings.handOff,
        acceptWithin: '4h',
        businessHours: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' },
      },
    });
    // Friday 27 November, 16:00 in Rome: one working hour left that day, three more on Monday.
    world.clock.advance(Date.parse('2026-11-27T15:00:00Z') - world.clock.now());
    await world.send([identify('cy', { country: 'FR' }), track('cy', 'Signed Up')]);
    await world.send([track('cy', 'Demo Requested'), track('cy', 'Pricing Viewed')]);
    await world.settle();
    const mondayNoonInRome = Date.parse('2026-11-30T11:00:00Z');
    expect((await intentOf('cy')).handOffs).toMatchObject([{ status: 'pending', dueAt: mondayNoonInRome }]);

    // The weekend is no time lost: just before Monday noon it is still pending, just after it is missed.
    await world.advance(mondayNoonInRome - 1000 - world.clock.now());
    expect((await intentOf('cy')).handOffs).toMatchObject([{ status: 'pending' }]);
    await world.advance(2000);
    expect((await intentOf('cy')).handOffs).toMatchObject([{ status: 'recycled' }]);
  });

  it('dates each stage move by when the event that made it was received, not by when a backlog got to it', async () => {
    const signedUpAt = world.clock.now();
    await world.send([identify('dy', { country: 'FR' }), track('dy', 'Signed Up')]);
    world.clock.advance(10 * 60_000);
    const qualifiedAt = world.clock.now();
    await world.send([track('dy', 'Demo Requested'), track('dy', 'Pricing Viewed')]);
    // The server was down for two hours: nothing was read until now.
    world.clock.advance(2 * HOUR);
    await world.settle();
    const intent = await intentOf('dy');
    expect(intent.stageHistory).toMatchObject([
      { from: null, to: 'lead', at: signedUpAt },
      { from: 'lead', to: 'mql', at: qualifiedAt },
    ]);
    const timeline = await listProfileTimeline(
      world.storage,
      world.workspaceId,
      await world.profileOf('dy'),
      {
        limit: 50,
      },
    );
    const stageChanges = timeline?.items.filter((event) => event.name === 'Lifecycle Stage Changed');
    expect(
      stageChanges?.map((event) => [(event.payload.properties as { to?: string }).to, event.timestamp]),
    ).toEqual(
      expect.arrayContaining([
        ['lead', signedUpAt],
        ['mql', qualifiedAt],
      ]),
    );
    // The funnel counts the MQL in the hour it was earned, not in the one the backlog was read.
    const mqlsBetween = async (from: number, to: number) =>
      (
        await world.storage.dashboard.lifecycleCounts({
          workspaceId: world.workspaceId,
          stages: ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer'],
          from,
          to,
        })
      ).reached.get('mql') ?? 0;
    expect(await mqlsBetween(qualifiedAt, qualifiedAt + HOUR)).toBe(1);
    expect(await mqlsBetween(qualifiedAt + HOUR, world.clock.now() + 1)).toBe(0);
  });

  it('keeps a stage history in order when a move read from a backlog was received before a recycle by hand', async () => {
    await world.send([
      identify('ry', { country: 'FR' }),
      track('ry', 'Signed Up'),
      track('ry', 'Demo Requested'),
      track('ry', 'Pricing Viewed'),
    ]);
    await world.settle();
    world.clock.advance(60_000);
    await world.send([track('ry', 'Sales Accepted')]);
    world.clock.advance(60_000);
    const recycledAt = world.clock.now();
    await recycleProfile(world.storage, {
      workspaceId: world.workspaceId,
      profileId: await world.profileOf('ry'),
      reason: 'sales rejected it',
      now: recycledAt,
    });
    world.clock.advance(60_000);
    await world.settle();
    const history = (await intentOf('ry')).stageHistory;
    expect(history.map((change) => [change.from, change.to])).toEqual([
      [null, 'lead'],
      ['lead', 'mql'],
      ['mql', 'lead'],
      ['lead', 'sql'],
    ]);
    // Accepted before the recycle, read after it: dated with the recycle, not before it.
    expect(history.at(-1)?.at).toBe(recycledAt);
  });

  it('counts days of business time as working days: 2d from Thursday afternoon is due on Monday afternoon', async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    await world.configure({
      timezone: 'Europe/Rome',
      handOff: {
        ...settings.handOff,
        acceptWithin: '2d',
        businessHours: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' },
      },
    });
    // Thursday 26 November, 15:00 in Rome: two working days on, past the weekend.
    world.clock.advance(Date.parse('2026-11-26T14:00:00Z') - world.clock.now());
    await world.send([identify('cy', { country: 'FR' }), track('cy', 'Signed Up')]);
    await world.send([track('cy', 'Demo Requested'), track('cy', 'Pricing Viewed')]);
    await world.settle();
    expect((await intentOf('cy')).handOffs).toMatchObject([
      { status: 'pending', dueAt: Date.parse('2026-11-30T14:00:00Z') },
    ]);
  });

  it('refuses a time to accept past a year of the business hours, naming the field', async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    // A week is a working week: 52 of Saturdays are a year of them.
    await world.configure({
      handOff: { ...settings.handOff, acceptWithin: '52w', businessHours: { days: ['sat'] } },
    });
    await expect(
      world.configure({
        handOff: { ...settings.handOff, acceptWithin: '53w', businessHours: { days: ['sat'] } },
      }),
    ).rejects.toMatchObject({ field: 'handOff.acceptWithin' });
  });

  it.runIf(backend === 'postgres')(
    'recycles by hand beside the SLA check falling due for the same lead, neither waiting on the other',
    async () => {
      await world.send([identify('cy', { country: 'FR' }), track('cy', 'Signed Up')]);
      await world.send([track('cy', 'Demo Requested'), track('cy', 'Pricing Viewed')]);
      await world.settle();
      const profileId = await world.profileOf('cy');
      world.clock.advance(2 * DAY + 1000);
      // Sales recycle the lead; their transaction pauses after moving the stage while the SLA check runs.
      let paused!: () => void;
      const isPaused = new Promise<void>((resolve) => {
        paused = resolve;
      });
      let resume!: () => void;
      const resumed = new Promise<void>((resolve) => {
        resume = resolve;
      });
      const storage = new Proxy(world.storage, {
        get(target, key, receiver) {
          if (key !== 'transaction') return Reflect.get(target, key, receiver);
          return <T>(work: (tx: StorageTx) => Promise<T>) =>
            target.transaction((tx) => {
              const scoring = Object.create(tx.scoring) as StorageTx['scoring'];
              scoring.setStages = async (changes) => {
                const refused = await tx.scoring.setStages(changes);
                paused();
                await resumed;
                return refused;
              };
              return work({ ...tx, scoring });
            });
        },
      }) as Storage;
      const recycled = recycleProfile(storage, {
        workspaceId: world.workspaceId,
        profileId,
        reason: 'rejected',
        now: world.clock.now(),
      });
      await isPaused;
      const checked = runOverdueHandOffs(world.storage, { now: world.clock.now() });
      // The check passes over the hand-off the recycle holds: it is done before the recycle goes on.
      await Promise.race([checked, new Promise((resolve) => setTimeout(resolve, 2000))]);
      resume();
      const outcomes = await Promise.allSettled([recycled, checked]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled']);
      const intent = await intentOf('cy');
      expect(intent.handOffs).toMatchObject([{ status: 'recycled', breachedAt: null }]);
      expect(intent.stage).toBe('lead');
    },
  );

  it('moves a segment on stages when a missed SLA recycles the lead (a stage change Mops made itself)', async () => {
    const mqls = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'MQLs', kind: 'live', rule: { type: 'lifecycle', stages: ['mql'] } },
      now: world.clock.now(),
    });
    await world.settle();
    await world.send([identify('fa', { country: 'FR' }), track('fa', 'Signed Up')]);
    await world.send([track('fa', 'Demo Requested'), track('fa', 'Pricing Viewed')]);
    await world.settle();
    const members = async () =>
      (await world.storage.segments.listMembers(mqls.id, { limit: 10 })).items.map((item) => item.profileId);
    expect(await members()).toEqual([await world.profileOf('fa')]);

    await world.advance(2 * DAY + 1000);
    expect((await intentOf('fa')).stage).toBe('lead');
    expect(await members()).toEqual([]);
  });

  it('judges a score threshold and an acceptance by when the events were received, not by when scoring got to them', async () => {
    await world.send([identify('ida', { country: 'FR' }), track('ida', 'Signed Up')]);
    await world.settle();
    // 50 points when received; a day behind a backlog (or a restart), decay alone would leave 49.06.
    await world.send([track('ida', 'Pricing Viewed'), track('ida', 'Demo Requested')]);
    world.clock.advance(DAY);
    await world.settle();
    let intent = await intentOf('ida');
    expect(intent.stage).toBe('mql');
    expect(intent.handOffs).toMatchObject([{ status: 'pending' }]);

    const acceptedAt = world.clock.now();
    await world.send([track('ida', 'Sales Accepted')]);
    world.clock.advance(HOUR);
    await world.settle();
    intent = await intentOf('ida');
    expect(intent.handOffs).toMatchObject([{ status: 'accepted', acceptedAt }]);
  });

  it('judges the SLA by when Sales Accepted was received, not by when scoring got to it', async () => {
    await world.send([identify('hu', { country: 'FR' }), track('hu', 'Signed Up')]);
    await world.send([track('hu', 'Demo Requested'), track('hu', 'Pricing Viewed')]);
    await world.settle();
    // Accepted a second before the SLA runs out; scoring is behind, and the check runs first.
    world.clock.advance(2 * DAY - 1000);
    await world.send([track('hu', 'Sales Accepted')]);
    world.clock.advance(2000);
    expect(await runOverdueHandOffs(world.storage, { now: world.clock.now() })).toEqual({
      handled: 0,
      queued: 0,
    });

    await world.settle();
    const intent = await intentOf('hu');
    expect(intent.handOffs).toMatchObject([{ status: 'accepted' }]);
    expect(intent.stage).toBe('sql');
    // Told as accepted, never as missed.
    expect(crm.received.map((body) => body.type)).toEqual([
      'mops.hand_off.created',
      'mops.hand_off.accepted',
    ]);
  });

  it('leaves a hand-off the SLA check ended while a batch was deciding its acceptance as it was, and decides the batch again from the recycled stage', async () => {
    await world.send([identify('ed', { country: 'FR' }), track('ed', 'Signed Up')]);
    await world.send([track('ed', 'Demo Requested'), track('ed', 'Pricing Viewed')]);
    await world.settle();
    world.clock.advance(2 * DAY + 1000);
    // The SLA check commits between the scoring batch's reads and its writes (as another process's
    // check, or this one's timer, can).
    const storage = world.storage;
    const runBatch = storage.runPipelineBatch.bind(storage);
    let raced = false;
    storage.runPipelineBatch = (cursor, limit, batch, at, options) =>
      runBatch(
        cursor,
        limit,
        cursor !== SCORING_CURSOR
          ? batch
          : {
              async prepare(events, reader, span) {
                const write = await batch.prepare(events, reader, span);
                if (!raced && events.some((event) => event.name === 'Sales Accepted')) {
                  raced = true;
                  await runOverdueHandOffs(storage, { now: world.clock.now() });
                }
                return write;
              },
            },
        at,
        options,
      );
    await world.send([track('ed', 'Sales Accepted')]);
    await world.settle();

    expect(raced).toBe(true);
    const intent = await intentOf('ed');
    // The batch decided its move from MQL; the recycle moved the lead first, so it decided again:
    // from the recycle stage, Sales Accepted takes the lead to SQL through a hand-off accepted at once.
    expect(intent.stageHistory.map((change) => [change.from, change.to])).toEqual([
      [null, 'lead'],
      ['lead', 'mql'],
      ['mql', 'lead'],
      ['lead', 'sql'],
    ]);
    expect(intent.stage).toBe('sql');
    expect(intent.handOffs).toMatchObject([
      { status: 'accepted', acceptedAt: world.clock.now() },
      { status: 'recycled', acceptedAt: null },
    ]);
    // The lead's calls reach the CRM one at a time, in the order they were made: the miss the SLA check
    // made first, then the hand-off the batch made when it decided again.
    expect(crm.received.map((body) => body.type)).toEqual([
      'mops.hand_off.created',
      'mops.hand_off.sla_missed',
      'mops.hand_off.created',
    ]);
  });

  it('keeps a recycled lead recycled while its score merely stays high, until it reaches the threshold again', async () => {
    await world.send([identify('di', { country: 'FR' }), track('di', 'Signed Up')]);
    const pricing = Array.from({ length: 3 }, () => track('di', 'Pricing Viewed'));
    await world.send([track('di', 'Demo Requested'), ...pricing]);
    await world.settle();
    await world.advance(2 * DAY + 1000);
    expect((await intentOf('di')).stage).toBe('lead');

    // Still ~65 points (decayed from 70) against a threshold of 50: nothing was reached anew.
    await world.send([track('di', 'Newsletter Opened')]);
    await world.settle();
    let intent = await intentOf('di');
    expect(intent.stage).toBe('lead');
    expect(intent.handOffs.map((handOff) => handOff.status)).toEqual(['recycled']);

    // Two weeks on the score has decayed below 50; a pricing view brings it back over: MQL again.
    await world.advance(14 * DAY);
    await world.send([track('di', 'Pricing Viewed')]);
    await world.settle();
    intent = await intentOf('di');
    expect(intent.stage).toBe('mql');
    expect(intent.handOffs.map((handOff) => handOff.status).sort()).toEqual(['pending', 'recycled']);
  });

  it('tells the CRM when a lead it was handed is recycled by hand', async () => {
    await world.send([identify('rh', { country: 'FR' }), track('rh', 'Signed Up')]);
    await world.send([track('rh', 'Demo Requested'), track('rh', 'Pricing Viewed')]);
    await world.settle();
    const moved = await recycleProfile(world.storage, {
      workspaceId: world.workspaceId,
      profileId: await world.profileOf('rh'),
      reason: 'no budget this year',
      now: world.clock.now(),
    });
    expect(moved).toEqual({ from: 'mql', to: 'lead', queued: 1 });
    await world.settle();
    const [created, recycled] = crm.received as Array<{ hand_off: Record<string, unknown> }>;
    expect(recycled).toMatchObject({
      type: 'mops.hand_off.recycled',
      hand_off: {
        id: created?.hand_off.id,
        status: 'recycled',
        reason: 'no budget this year',
        owner: { id: 'marco' },
      },
      profile: { traits: { country: 'FR' } },
    });
    // A second recycle finds nothing past the recycle stage: the CRM hears of it once.
    expect(
      await recycleProfile(world.storage, {
        workspaceId: world.workspaceId,
        profileId: await world.profileOf('rh'),
        reason: 'again',
        now: world.clock.now(),
      }),
    ).toBeUndefined();
    await world.settle();
    expect(crm.received).toHaveLength(2);
  });

  it('tells the CRM once when a lead sales had accepted, or whose SLA ran out, is recycled by hand', async () => {
    // No recycle on a miss, so a breached lead stays with its owner; recycled to before `lead`, so a
    // lead sent back can pass the recycle stage again without being handed off again.
    const settings = await world.storage.settings.get(world.workspaceId);
    const { lifecycle, handOff } = settings as Required<typeof settings>;
    await world.configure({
      lifecycle: { ...lifecycle, recycleTo: 'subscriber' },
      handOff: { ...handOff, recycleOnMiss: false },
    });
    for (const userId of ['ac', 'br']) {
      await world.send([identify(userId, { country: 'FR' }), track(userId, 'Signed Up')]);
      await world.send([track(userId, 'Demo Requested'), track(userId, 'Pricing Viewed')]);
      await world.settle();
    }
    await world.send([track('ac', 'Sales Accepted')]);
    await world.advance(2 * DAY + 1000);
    expect((await intentOf('ac')).handOffs).toMatchObject([{ owner: 'marco', status: 'accepted' }]);
    expect((await intentOf('br')).handOffs).toMatchObject([{ owner: 'giulia', status: 'breached' }]);
    const recycle = async (userId: string) =>
      recycleProfile(world.storage, {
        workspaceId: world.workspaceId,
        profileId: await world.profileOf(userId),
        reason: 'no budget this year',
        now: world.clock.now(),
      });

    expect(await recycle('ac')).toEqual({ from: 'sql', to: 'subscriber', queued: 1 });
    expect(await recycle('br')).toEqual({ from: 'mql', to: 'subscriber', queued: 1 });
    await world.settle();
    const calls = crm.received as Array<{ type: string; profile: { userId: string } }>;
    const [accepted] = (await intentOf('ac')).handOffs;
    const [breached] = (await intentOf('br')).handOffs;
    expect(accepted).toMatchObject({ status: 'recycled', acceptedAt: expect.any(Number), breachedAt: null });
    expect(breached).toMatchObject({ status: 'recycled', acceptedAt: null, breachedAt: expect.any(Number) });
    const recycledCalls = calls
      .filter((call) => call.type === 'mops.hand_off.recycled')
      // Sent in one round, side by side: they arrive in either order.
      .sort((a, b) => a.profile.userId.localeCompare(b.profile.userId));
    expect(recycledCalls).toEqual([
      expect.objectContaining({
        hand_off: expect.objectContaining({
          id: accepted?.id,
          status: 'recycled',
          reason: 'no budget this year',
          owner: { id: 'marco', name: 'Marco', email: 'marco@example.com' },
        }),
        profile: expect.objectContaining({ userId: 'ac' }),
      }),
      expect.objectContaining({
        hand_off: expect.objectContaining({
          id: breached?.id,
          status: 'recycled',
          reason: 'no budget this year',
          owner: { id: 'giulia', name: 'Giulia', email: 'giulia@example.com' },
        }),
        profile: expect.objectContaining({ userId: 'br' }),
      }),
    ]);
    // Signed up again, past the recycle stage but not handed off: a second recycle tells the CRM nothing.
    await world.send([track('ac', 'Signed Up')]);
    await world.settle();
    expect((await intentOf('ac')).stage).toBe('lead');
    expect(await recycle('ac')).toEqual({ from: 'lead', to: 'subscriber', queued: 0 });
    await world.settle();
    expect(crm.received.filter((call) => call.type === 'mops.hand_off.recycled')).toHaveLength(2);
  });

  it('makes an MQL of a lead whose score reached the threshold at one event, whether later ones in its batch take it below or not', async () => {
    const start = async (userId: string) => {
      await world.send([identify(userId, { country: 'FR' }), track(userId, 'Signed Up')]);
      await world.send([track(userId, 'Demo Requested')]);
      await world.settle();
    };
    // 40, then 50 at the pricing page, then 35 and 20 after two careers pages.
    const reachAndDrop = (userId: string) => [
      track(userId, 'Pricing Viewed'),
      track(userId, 'Careers Viewed'),
      track(userId, 'Careers Viewed'),
    ];
    await start('one');
    await world.send(reachAndDrop('one'));
    await world.settle();
    await start('each');
    for (const call of reachAndDrop('each')) {
      await world.send([call]);
      await world.settle();
    }
    for (const userId of ['one', 'each']) {
      const intent = await intentOf(userId);
      expect(intent.stage).toBe('mql');
      expect(intent.stageHistory.at(-1)).toMatchObject({
        from: 'lead',
        to: 'mql',
        reason: 'score engagement reached 50',
      });
      expect(intent.handOffs).toMatchObject([{ status: 'pending' }]);
    }
  });

  it('gives an account the average of its contacts to the hundredth, as scores are kept', async () => {
    await world.send([
      ...['t1', 't2', 't3'].map((userId) => ({
        type: 'group',
        userId,
        groupId: 'tri',
        traits: { name: 'Tri' },
      })),
      track('t1', 'Pricing Viewed'),
      track('t2', 'Pricing Viewed'),
    ]);
    await world.settle();
    const [tri] = await world.storage.profiles.listAccounts(await world.profileOf('t1'));
    const scores = await accountScores(world.storage, {
      workspaceId: world.workspaceId,
      accountId: tri?.id as string,
      now: world.clock.now(),
    });
    expect(scores.find((score) => score.model === 'engagement')).toEqual({
      model: 'engagement',
      total: 20,
      average: 6.67,
      max: 10,
      contacts: 3,
    });
  });

  it('scores every contact of an account whose traits a group call changed, and moves their stages on it', async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    const lifecycle = settings.lifecycle as NonNullable<typeof settings.lifecycle>;
    const firmographic: ScoreModel = {
      id: 'firmographic',
      name: 'Firmographic',
      rules: [
        {
          id: 'large',
          kind: 'fit',
          when: { type: 'account_trait', path: 'employees', op: 'gte', value: 500 },
          points: 60,
        },
      ],
    };
    await world.configure({
      scoring: { models: [...settings.scoring.models, firmographic] },
      lifecycle: {
        ...lifecycle,
        rules: [...lifecycle.rules, { kind: 'score', to: 'mql', model: 'firmographic', atLeast: 50 }],
      },
    });
    await world.send([
      identify('ada', { email: 'ada@example.com' }),
      identify('eve', { email: 'eve@example.com' }),
      { type: 'group', userId: 'ada', groupId: 'acme', traits: { name: 'Acme' } },
      { type: 'group', userId: 'eve', groupId: 'acme', traits: { name: 'Acme' } },
    ]);
    await world.settle();
    // Enrichment sets the account's size through one contact's group call: eve did nothing.
    await world.send([{ type: 'group', userId: 'ada', groupId: 'acme', traits: { employees: 1200 } }]);
    await world.settle();

    const eve = await intentOf('eve');
    expect(eve.scores.find((score) => score.model === 'firmographic')?.score).toBe(60);
    expect(eve.stage).toBe('mql');
    expect(eve.stageHistory.at(-1)).toMatchObject({ to: 'mql', reason: 'score firmographic reached 60' });
    expect(eve.handOffs).toMatchObject([{ status: 'pending' }]);
    // The stored scores, which the distribution of a model nothing moves by time counts, are current.
    const stored = await world.storage.scoring.distribution(
      world.workspaceId,
      { id: firmographic.id, modelRevision: modelRevision(firmographic) },
      10,
    );
    expect(stored).toEqual({ buckets: [{ from: 60, count: 2 }], otherRevisions: 0 });
  });

  it('moves once, to the furthest stage, when one event both matches a stage rule and lifts the score past a threshold', async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    const lifecycle = settings.lifecycle as NonNullable<typeof settings.lifecycle>;
    await world.configure({
      lifecycle: {
        ...lifecycle,
        rules: [...lifecycle.rules, { kind: 'event', to: 'sql', event: 'Demo Requested', where: [] }],
      },
    });
    await world.send([
      identify('jd', { country: 'FR' }),
      track('jd', 'Signed Up'),
      track('jd', 'Pricing Viewed'),
    ]);
    await world.settle();
    // 10 + 40 = 50, the MQL threshold, and the demo request is itself a rule to SQL.
    await world.send([track('jd', 'Demo Requested')]);
    await world.settle();
    const intent = await intentOf('jd');
    expect(intent.stageHistory.map((change) => [change.from, change.to])).toEqual([
      [null, 'lead'],
      ['lead', 'sql'],
    ]);
  });

  it('takes an acceptance of one of two profiles merged after it as answering the other’s hand-off too', async () => {
    await handedOffAsVisitorAndUser();
    // Sales accepts the user's hand-off; then the user signs in as the visitor, handed off too.
    await world.send([track('ge', 'Sales Accepted')]);
    await world.settle();
    await signInAsVisitor();
    await world.settle();
    await world.advance(3 * DAY);
    const intent = await intentOf('ge');
    expect(intent.handOffs.map((handOff) => handOff.status)).toEqual(['accepted', 'accepted']);
    expect(intent.stage).toBe('sql');
    const told = crm.received.map((body) => body.type);
    expect(told).not.toContain('mops.hand_off.sla_missed');
    expect(told.filter((type) => type === 'mops.hand_off.accepted')).toHaveLength(2);
    const timeline = await listProfileTimeline(
      world.storage,
      world.workspaceId,
      await world.profileOf('ge'),
      {
        limit: 100,
      },
    );
    expect(timeline?.items.map((item) => item.name)).not.toContain('Hand-off SLA Missed');
  });

  it('brings a recycled lead back whether its dip and climb come in one batch or two', async () => {
    const climb = (userId: string) => [track(userId, 'Pricing Viewed'), track(userId, 'Pricing Viewed')];
    // 50, down to 35, back up to 55: reached anew, in two batches…
    await recycledAt50('al');
    await world.send([track('al', 'Careers Viewed')]);
    await world.settle();
    await world.send(climb('al'));
    await world.settle();
    // …and in one.
    await recycledAt50('bea');
    await world.send([track('bea', 'Careers Viewed'), ...climb('bea')]);
    await world.settle();
    expect([(await intentOf('al')).stage, (await intentOf('bea')).stage]).toEqual(['mql', 'mql']);
  });

  it('brings a recycled lead back when decay between two events of one batch took it below the threshold', async () => {
    await recycledAt50('al');
    await recycledAt50('bea');
    // Each up to 60; two weeks on, the views have faded to 45, and one more brings 55: reached anew.
    // Al's two views are read one batch at a time, Bea's both in one (a backlog).
    await world.send([track('al', 'Pricing Viewed')]);
    await world.settle();
    await world.send([track('bea', 'Pricing Viewed')]);
    world.clock.advance(14 * DAY);
    await world.send([track('bea', 'Pricing Viewed'), track('al', 'Pricing Viewed')]);
    await world.settle();
    const [al, bea] = [await intentOf('al'), await intentOf('bea')];
    expect([al.stage, bea.stage]).toEqual(['mql', 'mql']);
    expect(bea.scores.find((score) => score.model === 'engagement')?.score).toBe(55);
  });

  it('brings a recycled lead back when a trait’s fit points take its faded score over the threshold again', async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    const [engagement, ...others] = settings.scoring.models as [ScoreModel, ...ScoreModel[]];
    const italy = { type: 'trait' as const, path: 'country', op: 'eq' as const, value: 'IT' };
    await world.configure({
      scoring: {
        models: [
          {
            ...engagement,
            rules: [...engagement.rules, { id: 'italy', kind: 'fit', when: italy, points: 15 }],
          },
          ...others,
        ],
      },
    });
    await recycledAt50('al');
    await recycledAt50('bea');
    // Two weeks on, 42.5: Al views Pricing (52.5), Bea moves to Italy (57.5). Both reached it anew.
    await world.advance(14 * DAY);
    await world.send([track('al', 'Pricing Viewed'), identify('bea', { country: 'IT' })]);
    await world.settle();
    const [al, bea] = [await intentOf('al'), await intentOf('bea')];
    expect(bea.scores.find((score) => score.model === 'engagement')?.score).toBe(57.5);
    expect([al.stage, bea.stage]).toEqual(['mql', 'mql']);
  });

  it('judges a recycled lead’s dip with its account’s traits as each event of the batch found them', async () => {
    const settings = await world.storage.settings.get(world.workspaceId);
    const [engagement, ...others] = settings.scoring.models as [ScoreModel, ...ScoreModel[]];
    const large = { type: 'account_trait' as const, path: 'employees', op: 'gte' as const, value: 500 };
    await world.configure({
      scoring: {
        models: [
          {
            ...engagement,
            rules: [...engagement.rules, { id: 'large', kind: 'fit', when: large, points: 15 }],
          },
          ...others,
        ],
      },
    });
    const employ = (userId: string, employees: number) => ({
      type: 'group',
      userId,
      groupId: `${userId}-co`,
      traits: { employees },
    });
    await world.send([employ('al', 10), employ('bea', 1200)]);
    await recycledAt50('al');
    await recycledAt50('bea');
    // Two weeks on, Al has faded to 42.5 and Bea to 57.5. Al’s account grows (57.5): reached anew.
    // Bea views Pricing (67.5) before her account shrinks (52.5): never below, she stays a lead.
    await world.advance(14 * DAY);
    await world.send([employ('al', 1200), track('bea', 'Pricing Viewed'), employ('bea', 10)]);
    await world.settle();
    const [al, bea] = [await intentOf('al'), await intentOf('bea')];
    expect(al.scores.find((score) => score.model === 'engagement')?.score).toBe(57.5);
    expect(bea.scores.find((score) => score.model === 'engagement')?.score).toBe(52.5);
    expect([al.stage, bea.stage]).toEqual(['mql', 'lead']);
  });

  it('enters a journey on segment entry and branches on segment, score and stage', async () => {
    const hot = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Hot leads', kind: 'live', rule: { type: 'score', model: 'engagement', min: 50 } },
      now: world.clock.now(),
    });
    await world.settle();
    await world.publish({
      name: 'Hot lead follow-up',
      entry: { trigger: { type: 'segment', segment: hot.id } },
      start: 'route',
      steps: [
        {
          id: 'route',
          type: 'branch',
          branches: [
            {
              conditions: [
                { source: 'segment', segment: hot.id, op: 'in' },
                { source: 'score', model: 'engagement', op: 'gte', value: 50 },
                { source: 'lifecycle', op: 'in', stages: ['mql', 'sql'] },
              ],
              next: 'tag',
            },
          ],
          otherwise: 'done',
        },
        { id: 'tag', type: 'update_traits', set: { follow_up: 'sales' }, next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    await world.send([
      identify('di', { country: 'FR' }),
      track('di', 'Signed Up'),
      track('di', 'Demo Requested'),
    ]);
    await world.settle();
    const journeyId = (await world.storage.journeys.list(world.workspaceId))[0]?.id as string;
    // A client cannot forge the entry: only Mops writes Segment Entered.
    await world.send([track('di', 'Segment Entered', { segment_id: hot.id })]);
    await world.settle();
    expect((await world.storage.journeys.report(journeyId)).entered).toBe(0);
    // The pricing view makes 50 points: an MQL, and a hot lead, in that order.
    await world.send([track('di', 'Pricing Viewed')]);
    await world.settle();
    expect((await world.storage.journeys.report(journeyId)).entered).toBe(1);
    const profile = await world.storage.profiles.find(world.workspaceId, await world.profileOf('di'));
    expect(profile?.traits.follow_up).toBe('sales');
  });

  it('lets a profile go from a score range when decay alone takes it out, and branches on the decayed score', async () => {
    const warm = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Warm', kind: 'live', rule: { type: 'score', model: 'engagement', min: 45 } },
      now: world.clock.now(),
    });
    await world.publish({
      name: 'Check back in a week',
      entry: { trigger: { type: 'event', event: 'Demo Requested' } },
      start: 'pause',
      steps: [
        { id: 'pause', type: 'wait', duration: '8d', next: 'route' },
        {
          id: 'route',
          type: 'branch',
          branches: [
            {
              conditions: [{ source: 'score', model: 'engagement', op: 'gte', value: 45 }],
              next: 'still-warm',
            },
          ],
          otherwise: 'cooled',
        },
        { id: 'still-warm', type: 'update_traits', set: { warm: 'yes' }, next: 'done' },
        { id: 'cooled', type: 'update_traits', set: { warm: 'no' }, next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    // 40 points for the demo (no decay) and 10 for pricing, halving weekly: 50, and 45 a week later.
    await world.send([track('di', 'Demo Requested'), track('di', 'Pricing Viewed')]);
    await world.settle();
    const profileId = await world.profileOf('di');
    const isWarm = async () =>
      (await world.storage.segments.memberships([profileId])).get(profileId)?.has(warm.id) === true;
    expect(await isWarm()).toBe(true);

    // No event since: the score is as it was stored, yet a timer lets the profile go when it drops under 45.
    await world.advance(6 * DAY);
    expect(await isWarm()).toBe(true);
    await world.advance(2 * DAY);
    expect(await isWarm()).toBe(false);
    const timeline = await listProfileTimeline(world.storage, world.workspaceId, profileId, { limit: 50 });
    expect(timeline?.items.map((event) => event.name)).toContain('Segment Exited');
    expect((await intentOf('di')).scores.find((score) => score.model === 'engagement')?.score).toBeLessThan(
      45,
    );
    // The journey's branch eight days on reads the score as it has decayed, not as it was stored.
    const profile = await world.storage.profiles.find(world.workspaceId, profileId);
    expect(profile?.traits.warm).toBe('no');
  });
});

describe.each(BACKENDS)('scores of traits a journey sets on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  it('scores a trait an update_traits step set, and moves the stage on it', async () => {
    await world.configure({
      scoring: {
        models: [
          {
            id: 'fit',
            name: 'Fit',
            rules: [
              {
                id: 'enterprise',
                kind: 'fit',
                when: { type: 'trait', path: 'plan', op: 'eq', value: 'enterprise' },
                points: 60,
              },
            ],
          },
        ],
      },
      lifecycle: {
        stages: ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer'],
        rules: [
          { kind: 'event', to: 'lead', event: 'Signed Up' },
          { kind: 'score', to: 'mql', model: 'fit', atLeast: 50 },
        ],
        recycleTo: 'lead',
      },
    });
    await world.publish({
      name: 'Qualify',
      entry: { trigger: { type: 'event', event: 'Signed Up' } },
      start: 'tag',
      steps: [
        { id: 'tag', type: 'update_traits', set: { plan: 'enterprise' }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([identify('bo', { plan: 'free' }), track('bo', 'Signed Up')]);
    await world.settle();
    const bo = await world.profileOf('bo');
    expect((await world.storage.profiles.find(world.workspaceId, bo))?.traits.plan).toBe('enterprise');
    expect((await world.storage.scoring.scores([bo])).get(bo)).toMatchObject({ fit: { score: 60 } });
    const intent = await profileIntent(world.storage, {
      workspaceId: world.workspaceId,
      profileId: bo,
      now: world.clock.now(),
    });
    expect(intent.stage).toBe('mql');
  });
});

describe('an account’s contacts scored together', () => {
  it('sums, averages and maxes the scores of an account of 200,000 contacts', () => {
    const scores = Array.from({ length: 200_000 }, (_, i) => (i % 100) - 10);
    scores[123_456] = 250;
    expect(contactScoresTogether(scores)).toEqual({
      total: 200_000 * 39.5 + 250 - 46,
      average: 39.5,
      max: 250,
      contacts: 200_000,
    });
  });

  it('averages an account’s contacts to the hundredth whatever order they are listed in', () => {
    // 81.42 / 4 is 20.355: summed in floating point in one order it comes to 20.35, in the other 20.36.
    const scores = [24.45, 23.29, 12.54, 21.14];
    const together = { total: 81.42, average: 20.36, max: 24.45, contacts: 4 };
    expect(contactScoresTogether(scores)).toEqual(together);
    expect(contactScoresTogether([...scores].reverse())).toEqual(together);
  });

  it('gives an account without contacts zeros', () => {
    expect(contactScoresTogether([])).toEqual({ total: 0, average: 0, max: 0, contacts: 0 });
  });
});
