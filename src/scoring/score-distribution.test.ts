import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { refuseWrites } from '../test-support/refusing-trigger.js';
import { track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { scoreDistribution } from './scoring.js';

const visits = (points: number) => ({
  id: 'visits',
  name: 'Visits',
  rules: [{ id: 'pricing', kind: 'event' as const, event: 'Pricing Viewed', points }],
});

describe.each(BACKENDS)('the score distribution on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  it('puts a score in its own bucket, however a fractional bucket divides it, stored or recomputed', async () => {
    const distribution = (bucket: number) =>
      scoreDistribution(world.storage, {
        workspaceId: world.workspaceId,
        modelId: 'visits',
        bucket,
        now: world.clock.now(),
      });
    await world.configure({ scoring: { models: [visits(0.29)] } });
    await world.send([track('ann', 'Pricing Viewed')]);
    await world.settle();
    // Stored scores are counted in SQL: 0.29 / 0.01 is 28.999999999999996 there too.
    expect(await distribution(0.01)).toEqual([{ from: 0.29, count: 1 }]);
    // A rule changed since: the score is recomputed from the ledger, and counted here.
    await world.configure({ scoring: { models: [visits(57.3)] } });
    await world.send([track('bob', 'Pricing Viewed')]);
    await world.settle();
    expect(await distribution(0.1)).toEqual([
      { from: 0.2, count: 1 },
      { from: 57.3, count: 1 },
    ]);
  });

  it('is counted even when storing one profile’s recomputed score fails every time', async () => {
    await world.configure({ scoring: { models: [visits(10)] } });
    await world.send(['ann', 'poison', 'bob'].map((userId) => track(userId, 'Pricing Viewed')));
    await world.settle();
    // The rule changed (for events to come): every stored score is of the model before, so the
    // distribution is recomputed from the ledgers, and the scores it recomputes are stored again.
    await world.configure({ scoring: { models: [visits(20)] } });
    const poison = await world.profileOf('poison');
    await refuseWrites(world, {
      name: 'refuse_score',
      table: 'profile_scores',
      on: 'update',
      when: `old.profile_id = '${poison}'`,
    });

    const distribution = () =>
      scoreDistribution(world.storage, {
        workspaceId: world.workspaceId,
        modelId: 'visits',
        bucket: 10,
        now: world.clock.now(),
      });
    expect(await distribution()).toEqual([{ from: 10, count: 3 }]);
    expect(await distribution()).toEqual([{ from: 10, count: 3 }]);
  });
});
