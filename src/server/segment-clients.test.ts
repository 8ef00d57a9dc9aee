import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, eventually, startTestWorld, type TestWorld } from '../test-support/world.js';

/** The official clients, unchanged, pointed at Mops: the compatibility our users rely on. */
describe.each(BACKENDS)('real Segment and RudderStack clients on %s', (backend) => {
  let world: TestWorld;

  beforeAll(async () => {
    world = await startTestWorld(backend);
  });
  afterAll(async () => {
    await world?.close();
  });

  async function profileOf(userId: string) {
    return eventually(async () => {
      const response = await fetch(`${world.url}/api/workspaces/${world.workspaceId}/profiles?q=${userId}`, {
        headers: { authorization: `Bearer ${world.secretKey}` },
      });
      const page = (await response.json()) as {
        items: Array<{ id: string; traits: Record<string, unknown> }>;
      };
      return page.items[0];
    });
  }

  async function timelineOf(profileId: string) {
    const response = await fetch(
      `${world.url}/api/workspaces/${world.workspaceId}/profiles/${profileId}/events?limit=50`,
      {
        headers: { authorization: `Bearer ${world.secretKey}` },
      },
    );
    return ((await response.json()) as { items: Array<{ type: string; name: string | null }> }).items;
  }

  it('@segment/analytics-node (option host) delivers identify, track, page, group and alias', async () => {
    const analytics = new Analytics({
      writeKey: world.writeKey,
      host: world.url,
      flushAt: 10,
      maxRetries: 0,
    });
    const failures: unknown[] = [];
    analytics.on('error', (error) => failures.push(error));
    analytics.identify({ anonymousId: 'seg-anon', userId: 'seg-user', traits: { email: 'seg@example.com' } });
    analytics.track({ userId: 'seg-user', event: 'Cart Viewed', properties: { cart_id: 'c-1' } });
    analytics.page({ userId: 'seg-user', name: 'Checkout' });
    analytics.group({ userId: 'seg-user', groupId: 'seg-co', traits: { name: 'Seg Co' } });
    analytics.alias({ userId: 'seg-user', previousId: 'seg-old' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(failures).toEqual([]);

    const profile = await profileOf('seg-user');
    expect(profile.traits).toMatchObject({ email: 'seg@example.com' });
    const timeline = await eventually(async () => {
      const items = await timelineOf(profile.id);
      return items.length === 5 ? items : undefined;
    });
    expect(timeline.map((e) => e.type).sort()).toEqual(['alias', 'group', 'identify', 'page', 'track']);
  });

  it('@rudderstack/rudder-sdk-node (option dataPlaneUrl, gzip bodies) delivers its calls', async () => {
    const errors: unknown[] = [];
    const client = new RudderAnalytics(world.writeKey, {
      dataPlaneUrl: world.url,
      flushAt: 10,
      flushInterval: 200,
      retryCount: 0,
      logLevel: 'error',
      errorHandler: (error: unknown) => errors.push(error),
    });
    client.identify({
      userId: 'rudder-user',
      anonymousId: 'rudder-anon',
      traits: { email: 'rudder@example.com' },
    });
    client.track({ userId: 'rudder-user', event: 'Product Added', properties: { sku: 'SKU-9' } });
    client.page({ userId: 'rudder-user', name: 'Home' });
    await new Promise<void>((resolve, reject) => {
      client.flush((error?: unknown) => (error ? reject(error) : resolve()));
    });
    expect(errors).toEqual([]);

    const profile = await profileOf('rudder-user');
    expect(profile.traits).toMatchObject({ email: 'rudder@example.com' });
    const timeline = await eventually(async () => {
      const items = await timelineOf(profile.id);
      return items.length === 3 ? items : undefined;
    });
    expect(timeline.map((e) => e.type).sort()).toEqual(['identify', 'page', 'track']);
  });

  it('a client with a wrong write key gets 401 and nothing is stored', async () => {
    const analytics = new Analytics({ writeKey: 'wk_wrong', host: world.url, maxRetries: 0 });
    const errors: Array<{ code?: string; reason?: unknown }> = [];
    analytics.on('error', (error) => errors.push(error as { code?: string }));
    analytics.track({ userId: 'intruder', event: 'Nope' });
    await analytics.closeAndFlush({ timeout: 5_000 });
    expect(errors.length).toBe(1);
    expect(String((errors[0]?.reason as Error | undefined)?.message ?? errors[0])).toMatch(/401/);
    const response = await fetch(`${world.url}/api/workspaces/${world.workspaceId}/profiles?q=intruder`, {
      headers: { authorization: `Bearer ${world.secretKey}` },
    });
    expect(((await response.json()) as { items: unknown[] }).items).toEqual([]);
  });
});
