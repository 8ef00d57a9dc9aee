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
});
