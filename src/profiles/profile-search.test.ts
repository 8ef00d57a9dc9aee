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

  const holders = async (phoneNumber: string) =>
    (await world.storage.profiles.listHoldingPhoneNumber(world.workspaceId, phoneNumber)).map((p) => p.id);

  it('finds the holders of a phone number as identify, a journey and a merge left their phone trait', async () => {
    await world.publish({
      name: 'Moved',
      entry: { trigger: { type: 'event', event: 'Moved' } },
      start: 'tag',
      steps: [
        { id: 'tag', type: 'update_traits', set: { phone: '+44 (0)20 7946 0018' }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([
      identify('ada', { phone: '+39 347 111 2233' }),
      // A national number names no country: the SMS channel texts none such, so it holds no number.
      identify('cy', { phone: '347 111 2233' }),
      identify('bob', { plan: 'Gold' }),
      { type: 'identify', anonymousId: 'anon-1', traits: { phone: '+39 347-111.2233' } },
      { type: 'identify', anonymousId: 'anon-2', traits: { phone: '+33 6 12 34 56 78' } },
    ]);
    await world.settle();
    const [ada, bob] = [await world.profileOf('ada'), await world.profileOf('bob')];
    const visitor = (await holders('+393471112233')).find((id) => id !== ada);
    expect(visitor).toBeDefined();
    expect(await holders('+393471112233')).toEqual([ada, visitor].sort());
    expect(await holders('+3934711122')).toEqual([]);

    await world.send([identify('ada', { phone: '+39 347 999 0000' })]);
    await world.settle();
    expect(await holders('+393471112233')).toEqual([visitor]);
    expect(await holders('+393479990000')).toEqual([ada]);

    await world.send([track('ada', 'Moved')]);
    await world.settle();
    expect(await holders('+442079460018')).toEqual([ada]);
    expect(await holders('+393479990000')).toEqual([]);

    // Bob, without a number of his own, takes the visitor's; the visitor merged away holds none.
    const [secondVisitor] = await holders('+33612345678');
    expect(secondVisitor).toBeDefined();
    await world.send([{ type: 'alias', userId: 'bob', previousId: 'anon-2' }]);
    await world.settle();
    expect(await holders('+33612345678')).toEqual([bob]);
    expect(bob).not.toBe(secondVisitor);
  });
});
