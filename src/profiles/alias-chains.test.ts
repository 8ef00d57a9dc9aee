import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';

/** Aliases naming one another within one batch: every id they name ends on one live profile. */
describe.each(BACKENDS)('aliases chained in one batch on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  it('leaves a stored user, aliased to an id itself aliased on in the batch, on the last survivor, and goes on reading its events', async () => {
    await world.send([identify('u7', { city: 'Rome' })]);
    await world.settle();
    await world.send([
      track('u3', 'Signed Up'),
      { type: 'alias', userId: 'u3', previousId: 'u7' },
      { type: 'alias', userId: 'u9', previousId: 'u3' },
    ]);
    await world.settle();
    const survivor = await world.profileOf('u9');
    expect([await world.profileOf('u7'), await world.profileOf('u3')]).toEqual([survivor, survivor]);
    const profile = await world.storage.profiles.find(world.workspaceId, survivor);
    expect(profile).toMatchObject({ mergedInto: null, traits: { city: 'Rome' } });

    // An event of the first id is read as the survivor's, and nothing is held up behind it.
    await world.send([track('u7', 'Came Back'), track('u9', 'Stayed')]);
    await world.settle();
    const identities = await world.storage.profiles.listIdentities(survivor);
    expect(identities.map((identity) => `${identity.kind}:${identity.value}`).sort()).toEqual([
      'user:u3',
      'user:u7',
      'user:u9',
    ]);
    const timeline = await world.storage.events.listForIdentities(
      identities.map((identity) => identity.id),
      { limit: 20 },
    );
    expect(timeline.items.map((event) => event.name)).toEqual(
      expect.arrayContaining(['Signed Up', 'Came Back', 'Stayed']),
    );
  });

  it('goes on reading a user aliased into two others in one batch', async () => {
    await world.send([identify('u5', { city: 'Oslo' }), identify('u4', {})]);
    await world.settle();
    await world.send([
      { type: 'alias', userId: 'u1', previousId: 'u5' },
      { type: 'alias', userId: 'u4', previousId: 'u5' },
    ]);
    await world.settle();
    await world.send([identify('u5', { plan: 'pro' })]);
    await world.settle();
    const survivor = await world.profileOf('u4');
    expect([await world.profileOf('u1'), await world.profileOf('u5')]).toEqual([survivor, survivor]);
    expect(await world.storage.profiles.find(world.workspaceId, survivor)).toMatchObject({
      mergedInto: null,
      traits: { city: 'Oslo', plan: 'pro' },
    });
  });

  it('goes on scoring a batch that aliases a user away and then names it', async () => {
    await world.send([{ type: 'alias', userId: 'u2', previousId: 'a2' }]);
    await world.settle();
    await world.send([
      { type: 'alias', userId: 'u6', previousId: 'u2' },
      { type: 'alias', userId: 'u1', previousId: 'a2' },
      { type: 'page', userId: 'u2', properties: { path: '/' } },
    ]);
    await world.settle();
    const survivor = await world.profileOf('u1');
    expect([await world.profileOf('u2'), await world.profileOf('u6')]).toEqual([survivor, survivor]);
    expect(await world.storage.profiles.find(world.workspaceId, survivor)).toMatchObject({
      mergedInto: null,
    });
  });
});
