import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { summarizeContacts } from './contact-summaries.js';
import { recycleProfile } from './hand-offs.js';

const DAY = 86_400_000;

/**
 * The contacts list (each contact's stage, sales owner and scores, and the list kept to one stage) and
 * the dashboard's lifecycle funnel.
 */
describe.each(BACKENDS)('where contacts stand in the lifecycle, on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
    await world.configure({
      scoring: {
        models: [
          {
            id: 'engagement',
            name: 'Engagement',
            rules: [
              { id: 'pricing', kind: 'event', event: 'Pricing Viewed', points: 20, halfLife: '7d' },
              { id: 'demo', kind: 'event', event: 'Demo Requested', points: 40, repeat: 'once' },
            ],
          },
          {
            id: 'fit',
            name: 'Fit',
            rules: [
              {
                id: 'italy',
                kind: 'fit',
                when: { type: 'trait', path: 'country', op: 'eq', value: 'IT' },
                points: 25,
              },
            ],
          },
        ],
      },
      lifecycle: {
        stages: ['subscriber', 'lead', 'mql', 'sql'],
        rules: [
          { kind: 'event', to: 'lead', event: 'Signed Up' },
          { kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 },
        ],
        recycleTo: 'lead',
      },
      handOff: {
        stage: 'mql',
        owners: [
          { id: 'marco', name: 'Marco Rossi', email: 'marco@example.com' },
          { id: 'giulia', name: 'Giulia Bianchi', email: 'giulia@example.com' },
        ],
        assignment: [{ when: { type: 'trait', path: 'country', op: 'eq', value: 'IT' }, owner: 'giulia' }],
        acceptWithin: '30d',
        recycleOnMiss: false,
      },
    });
  });
  afterEach(async () => {
    await world.close();
  });

  const summaries = async () => {
    const { items } = await world.storage.profiles.list(world.workspaceId, { limit: 10 });
    const summarized = await summarizeContacts(world.storage, {
      workspaceId: world.workspaceId,
      profiles: items,
      now: world.clock.now(),
    });
    return Object.fromEntries(items.map((profile) => [profile.userId, summarized.get(profile.id)]));
  };
  const atStage = async (stage: string) =>
    (await world.storage.profiles.list(world.workspaceId, { limit: 10, stage })).items.map(
      (profile) => profile.userId,
    );

  it('shows where each contact stands, who in sales has it, and its scores as they decay', async () => {
    await world.send([
      identify('ada', { country: 'IT' }),
      track('ada', 'Signed Up'),
      track('ada', 'Pricing Viewed'),
      track('ada', 'Demo Requested'),
      identify('bob', { country: 'FR' }),
      track('bob', 'Signed Up'),
      identify('cy', {}),
    ]);
    await world.settle();

    expect(await summaries()).toEqual({
      ada: {
        stage: 'mql',
        owner: { id: 'giulia', name: 'Giulia Bianchi', email: 'giulia@example.com' },
        scores: [
          { model: 'engagement', score: 60 },
          { model: 'fit', score: 25 },
        ],
      },
      bob: {
        stage: 'lead',
        owner: null,
        scores: [
          { model: 'engagement', score: 0 },
          { model: 'fit', score: 0 },
        ],
      },
      cy: {
        stage: null,
        owner: null,
        scores: [
          { model: 'engagement', score: 0 },
          { model: 'fit', score: 0 },
        ],
      },
    });
    expect(await atStage('mql')).toEqual(['ada']);
    expect(await atStage('lead')).toEqual(['bob']);
    expect(await atStage('sql')).toEqual([]);

    // A week on, the pricing view's points are halved; the demo's do not decay.
    await world.advance(7 * DAY);
    expect((await summaries()).ada?.scores).toEqual([
      { model: 'engagement', score: 50 },
      { model: 'fit', score: 25 },
    ]);

    // Sales sends Ada back: she is a lead of marketing's again, with no owner.
    await recycleProfile(world.storage, {
      workspaceId: world.workspaceId,
      profileId: await world.profileOf('ada'),
      reason: 'not ready to buy',
      now: world.clock.now(),
    });
    expect((await summaries()).ada).toMatchObject({ stage: 'lead', owner: null });
    expect((await atStage('lead')).sort()).toEqual(['ada', 'bob']);
    expect(await atStage('mql')).toEqual([]);
  });

  it('takes the owner from a lead sent back by hand after sales accepted it, or after its SLA ran out', async () => {
    const mql = (userId: string) => [
      identify(userId, { country: 'FR', email: `${userId}@example.com` }),
      track(userId, 'Signed Up'),
      track(userId, 'Pricing Viewed'),
      track(userId, 'Demo Requested'),
    ];
    await world.send([...mql('ada'), ...mql('bob')]);
    await world.settle();
    await world.send([track('ada', 'Sales Accepted')]);
    // Bob's SLA runs out; with no recycle on a miss, he stays an MQL of his owner's.
    await world.advance(31 * DAY);
    expect(await summaries()).toMatchObject({
      ada: { stage: 'mql', owner: { id: 'marco' } },
      bob: { stage: 'mql', owner: { id: 'giulia' } },
    });

    for (const userId of ['ada', 'bob'])
      await recycleProfile(world.storage, {
        workspaceId: world.workspaceId,
        profileId: await world.profileOf(userId),
        reason: 'not ready to buy',
        now: world.clock.now(),
      });
    expect(await summaries()).toMatchObject({
      ada: { stage: 'lead', owner: null },
      bob: { stage: 'lead', owner: null },
    });
  });

  it('counts the funnel: contacts at each stage now, and those who moved forward into each in a range', async () => {
    const start = world.clock.now();
    await world.send([
      identify('ada', { country: 'IT' }),
      track('ada', 'Signed Up'),
      track('ada', 'Pricing Viewed'),
      track('ada', 'Demo Requested'),
      identify('bob', {}),
      track('bob', 'Signed Up'),
    ]);
    await world.settle();
    await world.advance(DAY);
    // Sales sends Ada back to lead (a move back, not a lead won), and Cy signs up a day later.
    await recycleProfile(world.storage, {
      workspaceId: world.workspaceId,
      profileId: await world.profileOf('ada'),
      reason: 'not ready to buy',
      now: world.clock.now(),
    });
    await world.advance(DAY);
    await world.send([identify('cy', {}), track('cy', 'Signed Up')]);
    await world.settle();

    const funnel = async (from: number, to: number) => {
      const counts = await world.storage.dashboard.lifecycleCounts({
        workspaceId: world.workspaceId,
        stages: ['subscriber', 'lead', 'mql', 'sql'],
        from,
        to,
      });
      return { now: Object.fromEntries(counts.now), reached: Object.fromEntries(counts.reached) };
    };
    const end = world.clock.now() + 1;
    expect(await funnel(start, end)).toEqual({ now: { lead: 3 }, reached: { lead: 3, mql: 1 } });
    expect((await funnel(start, start + DAY)).reached).toEqual({ lead: 2, mql: 1 });
    // The day of the recycle alone: nobody reached a stage.
    expect((await funnel(start + DAY / 2, start + DAY + DAY / 2)).reached).toEqual({});
    expect((await funnel(start + DAY + DAY / 2, end)).reached).toEqual({ lead: 1 });
  });

  it('names an owner since taken off the sales team by their id', async () => {
    await world.send([
      identify('ada', { country: 'IT' }),
      track('ada', 'Demo Requested'),
      track('ada', 'Pricing Viewed'),
    ]);
    await world.settle();
    const settings = await world.storage.settings.get(world.workspaceId);
    const handOff = settings.handOff as NonNullable<typeof settings.handOff>;
    await world.configure({
      handOff: {
        ...handOff,
        owners: handOff.owners.filter((owner) => owner.id !== 'giulia'),
        assignment: [],
      },
    });
    expect((await summaries()).ada?.owner).toEqual({ id: 'giulia', name: 'giulia', email: null });
  });
});
