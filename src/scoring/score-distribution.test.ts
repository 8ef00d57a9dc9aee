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
