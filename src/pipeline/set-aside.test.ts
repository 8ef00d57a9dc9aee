import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOG_CURSORS } from '../server/log-cursors.js';
import { REFUSAL, refuseProfilesOf } from '../test-support/refuse-profile.js';
import { BACKENDS, basicAuth, eventually, startTestWorld, type TestWorld } from '../test-support/world.js';

/**
 * Profile resolution failing on one user's events every time (a database trigger refuses the
 * profile) must make the running server set the event aside and go on, not stop processing every
 * event after it.
 */
describe.each(BACKENDS)('an event a consumer always fails on, on %s', (backend) => {
  let world: TestWorld;

  beforeEach(async () => {
    world = await startTestWorld(backend);
  });
  afterEach(async () => {
    await world?.close();
  });

  const api = (route: string) =>
    fetch(`${world.url}/api/workspaces/${world.workspaceId}/${route}`, {
      headers: { authorization: `Bearer ${world.secretKey}` },
    });

  it('is set aside and listed, and every event after it is processed', async () => {
    await refuseProfilesOf(world, 'poison');
    const response = await fetch(`${world.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(world.writeKey) },
      body: JSON.stringify({
        batch: [
          { type: 'identify', userId: 'ann', traits: { plan: 'pro' } },
          { type: 'track', userId: 'poison', event: 'Signed Up', messageId: 'poisoned-call' },
          { type: 'identify', userId: 'bob', traits: { plan: 'free' } },
        ],
      }),
    });
    expect(response.status).toBe(200);

    const setAside = await eventually(async () => {
      const { items } = (await (await api('set-aside-events')).json()) as { items: unknown[] };
      return items.length > 0 ? items : undefined;
    }, 30_000);
    expect(setAside).toEqual([
      expect.objectContaining({
        consumer: 'profiles',
        messageId: 'poisoned-call',
        type: 'track',
        name: 'Signed Up',
        reason: expect.stringContaining(REFUSAL),
      }),
    ]);
    await eventually(async () => {
      const lags = await Promise.all(LOG_CURSORS.map((cursor) => world.mops.storage.pipelineLag(cursor)));
      return lags.every((lag) => lag === 0) ? true : undefined;
    }, 30_000);
    const { items: profiles } = (await (await api('profiles')).json()) as {
      items: Array<{ userId: string }>;
    };
    expect(profiles.map((profile) => profile.userId).sort()).toEqual(['ann', 'bob']);

    const metrics = await (await fetch(`${world.url}/metrics`)).text();
    expect(metrics).toContain('mops_pipeline_set_aside_events{consumer="profiles"} 1');
    expect(metrics).toContain('mops_pipeline_set_aside_events{consumer="journeys"} 0');
  }, 90_000);
});
