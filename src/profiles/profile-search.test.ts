import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';

/** Contact search follows every writer of a profile's traits: identify, alias merges and journeys. */
describe.each(BACKENDS)('contact search on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  const found = async (query: string) =>
    (await world.storage.profiles.list(world.workspaceId, { limit: 10, query })).items.map((p) => p.id);

  it('finds a contact by the trait values identify, a journey and a merge left it, not by trait names', async () => {
    await world.publish({
      name: 'Upgrade',
      entry: { trigger: { type: 'event', event: 'Upgraded' } },
      start: 'tag',
      steps: [
        { id: 'tag', type: 'update_traits', set: { plan: 'Platinum' }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([
      identify('ada', { email: 'ada@example.com', plan: 'Gold' }),
      { type: 'identify', anonymousId: 'anon-1', traits: { coupon: 'WELCOME10' } },
    ]);
    await world.settle();
    const ada = await world.profileOf('ada');
    expect(await found('gold')).toEqual([ada]);
    expect(await found('email')).toEqual([]);

    await world.send([identify('ada', { plan: 'Silver' })]);
    await world.settle();
    expect(await found('silver')).toEqual([ada]);
    expect(await found('gold')).toEqual([]);

    await world.send([track('ada', 'Upgraded')]);
    await world.settle();
    expect(await found('platinum')).toEqual([ada]);
    expect(await found('silver')).toEqual([]);

    await world.send([{ type: 'alias', userId: 'ada', previousId: 'anon-1' }]);
    await world.settle();
    for (const query of ['welcome10', 'ADA@EXAMPLE', 'platinum', 'anon-1'])
      expect(await found(query), query).toEqual([ada]);
  });
});
