import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { BACKENDS } from '../test-support/world.js';
import { loadDemoShop } from './demo-shop.js';

describe.each(BACKENDS)('the demo shop in a workspace set up already, on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  it('loads beside a lifecycle of its own without an MQL stage, leaving out the segment on that stage', async () => {
    const lifecycle = { stages: ['visitor', 'buyer'], rules: [], recycleTo: 'visitor' };
    await world.configure({ lifecycle });

    const summary = await loadDemoShop(world.storage, {
      workspaceId: world.workspaceId,
      clock: world.clock,
      contacts: 10,
      days: 2,
      waitForPipeline: () => world.settle(),
    });

    const names = (await world.storage.segments.list(world.workspaceId)).map((segment) => segment.name);
    expect(names).not.toContain('Marketing-qualified');
    expect(names).toContain('Hot leads');
    expect(summary.segments).toHaveLength(5);
    expect(summary.journeys).toHaveLength(2);
    expect((await world.storage.settings.get(world.workspaceId)).lifecycle).toEqual(lifecycle);
  });
});
