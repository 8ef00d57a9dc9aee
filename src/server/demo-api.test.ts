import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveMomentCounts } from '../demo/demo-shop.js';
import { runCli } from '../test-support/cli.js';
import {
  BACKENDS,
  basicAuth,
  createTestDatabase,
  eventually,
  PROCESS_TEST_TIMEOUT_MS,
  startTestWorld,
  type TestWorld,
} from '../test-support/world.js';

interface Journey {
  id: string;
  name: string;
  status: string;
  counts: { entered: number };
}

/** The demo shop, loaded over HTTP (the console's button) and by `mops demo`. */
describe.each(BACKENDS)('demo shop on %s', (backend) => {
  let world: TestWorld;

  beforeAll(async () => {
    world = await startTestWorld(backend);
  });

  afterAll(async () => {
    await world?.close();
  });

  const api = async <T>(method: string, rest: string, body?: unknown) => {
    const response = await fetch(`${world.url}/api/workspaces/${world.workspaceId}${rest}`, {
      method,
      headers: {
        authorization: `Bearer ${world.secretKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as T };
  };

  it(
    'loads contacts with a month of history and two live journeys the history entered no one into',
    async () => {
      // A model the workspace had already is kept; the demo's others are added beside it.
      const ours = {
        id: 'engagement',
        name: 'Ours',
        rules: [{ id: 'view', kind: 'event', event: 'Page Viewed', points: 20 }],
      };
      expect((await api('PATCH', '/settings', { scoring: { models: [ours] } })).status).toBe(200);
      const loaded = await api<{ contacts: number; events: number; journeys: string[]; segments: string[] }>(
        'POST',
        '/demo',
        { contacts: 120 },
      );
      expect(loaded.status).toBe(200);
      expect(loaded.body.contacts).toBe(120);
      expect(loaded.body.events).toBeGreaterThan(120 * 3);

      const profiles = await api<{ items: Array<{ id: string; traits: Record<string, unknown> }> }>(
        'GET',
        '/profiles?q=demo-7&limit=5',
      );
      expect(profiles.body.items[0]?.traits.email).toMatch(/\.7@example\.com$/);
      const journeys = await api<{ items: Journey[] }>('GET', '/journeys');
      expect(journeys.body.items.map((journey) => [journey.name, journey.status]).sort()).toEqual([
        ['Abandoned cart', 'published'],
        ['Welcome new customers', 'published'],
      ]);
      // Scores, stages and segments built as the history came in.
      const settings = await api<{
        scoring: { models: Array<{ id: string; name: string }> };
        lifecycle: { rules: unknown[] } | null;
      }>('GET', '/settings');
      expect(settings.body.scoring.models.map((model) => [model.id, model.name])).toEqual([
        ['engagement', 'Ours'],
        ['fit', 'Fit'],
      ]);
      expect(settings.body.lifecycle?.rules).toHaveLength(3);
      expect(loaded.body.segments).toHaveLength(6);
      const segments = async () =>
        new Map(
          (
            await api<{ items: Array<{ name: string; status: string; members: number }> }>('GET', '/segments')
          ).body.items.map((segment) => [segment.name, segment]),
        );
      await eventually(async () =>
        [...(await segments()).values()].every((segment) => segment.status === 'ready') ? true : undefined,
      );
      const ready = await segments();
      for (const name of ['Active this week', 'Repeat buyers', 'Hot leads', 'Italian Pro customers'])
        expect(ready.get(name)?.members, name).toBeGreaterThan(0);
      // Hot leads are those the engagement distribution puts at 40 or more.
      const distribution = await api<{ buckets: Array<{ from: number; count: number }> }>(
        'GET',
        '/scoring/models/engagement/distribution?bucket=10',
      );
      const scoredHot = distribution.body.buckets
        .filter((bucket) => bucket.from >= 40)
        .reduce((sum, bucket) => sum + bucket.count, 0);
      expect(ready.get('Hot leads')?.members).toBe(scoredHot);

      // The month of history entered no one; the few moments of today after publishing did.
      const live = liveMomentCounts(120);
      const entered = async () =>
        Object.fromEntries(
          (await api<{ items: Journey[] }>('GET', '/journeys')).body.items.map((journey) => [
            journey.name,
            journey.counts.entered,
          ]),
        );
      await eventually(async () => {
        const now = await entered();
        return now['Welcome new customers'] === live.signUps && now['Abandoned cart'] === live.carts
          ? true
          : undefined;
      });

      // What comes next enters too: a new cart starts the abandoned-cart journey.
      const sent = await fetch(`${world.url}/v1/track`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basicAuth(world.writeKey) },
        body: JSON.stringify({
          userId: 'demo-7',
          event: 'Product Added',
          properties: { cart_id: 'new-cart' },
        }),
      });
      expect(sent.status).toBe(200);
      await eventually(async () =>
        (await entered())['Abandoned cart'] === live.carts + 1 ? true : undefined,
      );
      expect((await entered())['Welcome new customers']).toBe(live.signUps);

      const again = await api<{ error: { code: string; message: string } }>('POST', '/demo', {
        contacts: 120,
      });
      expect(again.status).toBe(409);
      expect(again.body.error.message).toMatch(/already loaded/);
      const bad = await api<{ error: { field: string } }>('POST', '/demo', { contacts: 5 });
      expect(bad.status).toBe(400);
      expect(bad.body.error.field).toBe('contacts');
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('mops demo', () => {
  it(
    'loads the demo shop without a server running, history processed and journeys published',
    async () => {
      const database = await createTestDatabase('sqlite');
      try {
        const result = await runCli(['demo', '--contacts', '40', '--json'], database.env);
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        const summary = JSON.parse(result.stdout) as { contacts: number; journeys: string[] };
        expect(summary.contacts).toBe(40);
        expect(summary.journeys).toHaveLength(2);
        const twice = await runCli(['demo', '--contacts', '40'], database.env);
        expect(twice.code).toBe(1);
        expect(twice.stderr).toMatch(/already loaded/);
      } finally {
        await database.cleanup();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
