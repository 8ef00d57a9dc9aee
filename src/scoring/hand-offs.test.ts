import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listProfileTimeline } from '../profiles/profiles.js';
import { createMetrics } from '../server/metrics.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { crmWebhooks, JsonReceiver } from '../test-support/json-receiver.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { recycleProfile, runOverdueHandOffs } from './hand-offs.js';
import { profileIntent } from './scoring.js';
import { scoringBatch } from './scoring-batch.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** When the SLA of a hand-off starts, and what a recycle by hand ends: the CRM's view of a lead. */
describe.each(BACKENDS)('sales hand-offs on %s', (backend) => {
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
              { id: 'pricing', kind: 'event', event: 'Pricing Viewed', points: 10 },
              { id: 'demo', kind: 'event', event: 'Demo Requested', points: 40, repeat: 'once' },
            ],
          },
        ],
      },
      lifecycle: {
        stages: ['subscriber', 'lead', 'mql', 'sql', 'customer'],
        rules: [
          { kind: 'event', to: 'lead', event: 'Signed Up' },
          { kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 },
          { kind: 'event', to: 'sql', event: 'Sales Accepted' },
        ],
        recycleTo: 'lead',
      },
      handOff: {
        stage: 'mql',
        owners: [{ id: 'marco', name: 'Marco', email: 'marco@example.com' }],
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

  const intentOf = async (userId: string) =>
    profileIntent(world.storage, {
      workspaceId: world.workspaceId,
      profileId: await world.profileOf(userId),
      now: world.clock.now(),
    });
  const signUp = async (userId: string) => {
    await world.send([identify(userId, { email: `${userId}@example.com` }), track(userId, 'Signed Up')]);
    await world.settle();
  };
  /** The two events that take a lead to 50 points: an MQL. */
  const qualify = (userId: string) =>
    world.send([track(userId, 'Demo Requested'), track(userId, 'Pricing Viewed')]);
  const crmTypes = () => crm.received.map((body) => (body as { type: string }).type);

  describe('the SLA clock', () => {
    it('starts when the event that made the lead an MQL was received, not when a backlog got to it', async () => {
      await signUp('ba');
      const qualifiedAt = world.clock.now();
      await qualify('ba');
      // Scoring was two hours behind: the SLA has two hours less to run, not two more.
      world.clock.advance(2 * HOUR);
      await world.settle();

      const [handOff] = (await intentOf('ba')).handOffs;
      expect(handOff).toMatchObject({
        status: 'pending',
        createdAt: qualifiedAt,
        dueAt: qualifiedAt + 2 * DAY,
      });
      expect(crm.received).toMatchObject([
        {
          type: 'mops.hand_off.created',
          hand_off: {
            created_at: new Date(qualifiedAt).toISOString(),
            accept_by: new Date(qualifiedAt + 2 * DAY).toISOString(),
          },
        },
      ]);
      const timeline = await listProfileTimeline(
        world.storage,
        world.workspaceId,
        await world.profileOf('ba'),
        {
          limit: 50,
        },
      );
      const created = timeline?.items.find((event) => event.name === 'Hand-off Created');
      expect(created?.timestamp).toBe(qualifiedAt);
      expect(created?.payload.properties).toMatchObject({
        due_at: new Date(qualifiedAt + 2 * DAY).toISOString(),
      });

      // At the deadline's millisecond still in time; missed after it.
      await world.advance(qualifiedAt + 2 * DAY - world.clock.now());
      expect(crmTypes()).toEqual(['mops.hand_off.created']);
      await world.advance(1);
      expect(crmTypes()).toEqual(['mops.hand_off.created', 'mops.hand_off.sla_missed']);
      expect((await intentOf('ba')).handOffs).toMatchObject([{ status: 'recycled' }]);
    });

    it('misses at once an SLA that ran out while the event making the MQL waited in the log', async () => {
      await signUp('st');
      await world.send([track('st', 'Demo Requested')]);
      await world.settle();
      const qualifiedAt = world.clock.now();
      await world.send([track('st', 'Pricing Viewed')]);
      world.clock.advance(3 * DAY);
      // Scored by hand, to see when the batch making the hand-off wakes the SLA check: at once.
      const { items } = await world.storage.events.list(world.workspaceId, { limit: 1 });
      const write = await scoringBatch(() => world.clock.now()).prepare(items, world.storage, {
        after: '0',
        through: '0',
      });
      const work = await world.storage.transaction(write);
      const deadline = qualifiedAt + 2 * DAY;
      expect(work.earliestDue).toBe(deadline + 1);
      expect(await world.storage.scoring.nextHandOffDue()).toBe(deadline + 1);
      expect(deadline + 1).toBeLessThan(world.clock.now());

      // The SLA check waits for scoring to have read what was received before the deadline.
      await world.background.pipeline.drain();
      const missedAt = world.clock.now();
      expect(await runOverdueHandOffs(world.storage, { now: missedAt })).toMatchObject({ handled: 1 });
      await world.settle();
      const intent = await intentOf('st');
      expect(intent.handOffs).toMatchObject([{ status: 'recycled', dueAt: deadline, breachedAt: missedAt }]);
      expect(intent.stage).toBe('lead');
      expect(crmTypes().sort()).toEqual(['mops.hand_off.created', 'mops.hand_off.sla_missed']);
    });

    it('takes a Sales Accepted waiting in the same backlog as in time before the deadline, and as too late after it', async () => {
      await signUp('in');
      await signUp('la');
      const qualifiedAt = world.clock.now();
      await qualify('in');
      await qualify('la');
      world.clock.advance(DAY);
      await world.send([track('in', 'Sales Accepted')]);
      world.clock.advance(DAY + 12 * HOUR);
      await world.send([track('la', 'Sales Accepted')]);
      // Nothing was read until now.
      world.clock.advance(HOUR);
      await world.settle();

      expect((await intentOf('in')).handOffs).toMatchObject([
        { status: 'accepted', acceptedAt: qualifiedAt + DAY, dueAt: qualifiedAt + 2 * DAY },
      ]);
      // Too late: missed, though the acceptance took the lead on to SQL (so it is not sent back).
      const late = await intentOf('la');
      expect(late.handOffs).toMatchObject([{ status: 'breached', acceptedAt: null }]);
      expect(late.stage).toBe('sql');
      const told = crm.received as Array<{
        type: string;
        hand_off: { status: string };
        profile: { userId: string };
      }>;
      // Made and accepted in one scoring batch, the hand-off is told of once, as accepted; in two (the
      // backlog read in two parts), as made, then as accepted. Either way the CRM's copy ends accepted.
      const toldOfIn = told.filter((body) => body.profile.userId === 'in');
      expect([
        ['mops.hand_off.created accepted'],
        ['mops.hand_off.created pending', 'mops.hand_off.accepted accepted'],
      ]).toContainEqual(toldOfIn.map((body) => `${body.type} ${body.hand_off.status}`));
      // Queued moments apart, sent side by side: they arrive in either order.
      expect(
        told
          .filter((body) => body.profile.userId === 'la')
          .map((body) => body.type)
          .sort(),
      ).toEqual(['mops.hand_off.created', 'mops.hand_off.sla_missed']);
    });

    it('starts an owed hand-off’s SLA when the identify making the visitor known was received', async () => {
      const visitor = (event: string) => ({ type: 'track', anonymousId: 'anon-ow', event, properties: {} });
      await world.send([visitor('Demo Requested'), visitor('Pricing Viewed')]);
      await world.settle();
      world.clock.advance(DAY);
      const identifiedAt = world.clock.now();
      await world.send([{ type: 'identify', userId: 'ow', anonymousId: 'anon-ow', traits: {} }]);
      world.clock.advance(2 * HOUR);
      await world.settle();
      expect((await intentOf('ow')).handOffs).toMatchObject([
        { status: 'pending', createdAt: identifiedAt, dueAt: identifiedAt + 2 * DAY },
      ]);
    });
  });

  describe('a recycle by hand', () => {
    /**
     * Ge handed off twice before Mops knew it was one person — as a visitor known by e-mail, then as
     * the user they sign in as — the older hand-off ending `older` first; then the two merged.
     */
    const handedOffTwiceThenMerged = async (older: 'accepted' | 'breached') => {
      const settings = await world.storage.settings.get(world.workspaceId);
      const handOff = settings.handOff as NonNullable<typeof settings.handOff>;
      // A missed SLA leaves the lead with its owner.
      await world.configure({ handOff: { ...handOff, recycleOnMiss: false } });
      const visitor = (event: string) => ({ type: 'track', anonymousId: 'anon-ge', event, properties: {} });
      await world.send([{ type: 'identify', anonymousId: 'anon-ge', traits: { email: 'ge@example.com' } }]);
      await world.send([visitor('Demo Requested'), visitor('Pricing Viewed')]);
      await world.settle();
      if (older === 'accepted') await world.send([visitor('Sales Accepted')]);
      await world.advance(3 * DAY);
      await world.send([identify('ge', { email: 'ge@example.com' })]);
      await qualify('ge');
      await world.settle();
      await world.send([{ type: 'identify', userId: 'ge', anonymousId: 'anon-ge', traits: {} }]);
      await world.settle();
      const { handOffs } = await intentOf('ge');
      expect(handOffs.map((one) => one.status).sort()).toEqual([older, 'pending'].sort());
      return handOffs;
    };

    it.each(['accepted', 'breached'] as const)(
      'ends every hand-off sales has, an older %s one a merge brought too, telling the CRM once each',
      async (older) => {
        const handOffs = await handedOffTwiceThenMerged(older);
        const recycle = async () =>
          recycleProfile(world.storage, {
            workspaceId: world.workspaceId,
            profileId: await world.profileOf('ge'),
            reason: 'no budget this year',
            now: world.clock.now(),
          });
        expect(await recycle()).toMatchObject({ to: 'lead', queued: 2 });
        await world.settle();

        const after = (await intentOf('ge')).handOffs;
        expect(after.map((one) => one.status)).toEqual(['recycled', 'recycled']);
        // Each keeps what it was before it ended.
        expect(after.filter((one) => one.acceptedAt !== null || one.breachedAt !== null)).toHaveLength(1);
        const recycledCalls = (crm.received as Array<{ type: string; hand_off: { id: string } }>).filter(
          (body) => body.type === 'mops.hand_off.recycled',
        );
        expect(recycledCalls.map((body) => body.hand_off.id).sort()).toEqual(
          handOffs.map((one) => one.id).sort(),
        );
        // The `mops_hand_offs` gauge counts each once, where it stands now: recycled.
        const scraped = (await createMetrics(world.storage, world.clock).registry.metrics()).split('\n');
        const handOffsAt = (status: string) =>
          scraped.find((line) => line.startsWith(`mops_hand_offs{status="${status}"} `))?.split(' ')[1];
        expect(['pending', 'accepted', 'breached', 'recycled'].map(handOffsAt)).toEqual(['0', '0', '0', '2']);

        // Nothing is left past the recycle stage, nor with sales: the CRM hears of each once.
        expect(await recycle()).toBeUndefined();
        await world.settle();
        expect(crmTypes().filter((type) => type === 'mops.hand_off.recycled')).toHaveLength(2);
      },
    );
  });
});
