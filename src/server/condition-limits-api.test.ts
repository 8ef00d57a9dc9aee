import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journey } from '../core/journey.js';
import {
  type ApiError,
  apiClient,
  type MailWorld,
  startMailWorld,
  unique,
} from '../test-support/api-client.js';
import { BACKENDS } from '../test-support/world.js';

/** `count` postcodes, none repeated (from `from` on). */
const postcodes = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => String(10_000 + from + i).padStart(5, '0'));

/**
 * What segment rules, journeys and score models share: at most 5,000 values in all their `in` lists,
 * and event filters whose paths are read inside the event's properties. Over HTTP.
 */
describe.each(BACKENDS)('condition limits on %s', (backend) => {
  let mailWorld: MailWorld;
  const { api } = apiClient(() => mailWorld);

  beforeAll(async () => {
    mailWorld = await startMailWorld(backend);
  });
  afterAll(async () => {
    await mailWorld?.close();
  });

  /** Entered on `Order Completed` from `entryValues` postcodes, then branching on `branchValues` more. */
  const postcodeJourney = (entryValues: string[], branchValues: string[]) => ({
    name: unique('Postcodes'),
    entry: {
      trigger: {
        type: 'event',
        event: 'Order Completed',
        conditions: [{ source: 'event', path: 'properties.postcode', op: 'in', value: entryValues }],
      },
    },
    start: 'check',
    steps: [
      {
        id: 'check',
        type: 'branch',
        branches: [
          {
            conditions: [{ source: 'trait', path: 'postcode', op: 'in', value: branchValues }],
            next: 'done',
          },
        ],
        otherwise: 'done',
      },
      { id: 'done', type: 'exit' },
    ],
  });

  it('refuses a journey whose in lists hold over 5,000 values in all on create, update and publish, storing nothing', async () => {
    const tooMany = postcodeJourney(postcodes(4000), postcodes(1001, 4000));
    const created = await api<ApiError>('POST', '/journeys', { definition: tooMany });
    expect(created.status).toBe(400);
    expect(created.body.error).toMatchObject({
      field: 'definition',
      message: expect.stringContaining('at most 5000 values in all'),
    });
    // A draft still being built is counted too.
    const { start: _start, ...unfinished } = tooMany;
    expect((await api<ApiError>('POST', '/journeys', { definition: unfinished })).body.error).toMatchObject({
      field: 'definition',
    });

    const fiveThousand = postcodeJourney(postcodes(4000), postcodes(1000, 4000));
    const journey = await api<{ id: string }>('POST', '/journeys', { definition: fiveThousand });
    expect(journey.status).toBe(201);
    const updated = await api<ApiError>('PUT', `/journeys/${journey.body.id}`, { definition: tooMany });
    expect(updated.status).toBe(400);
    expect(updated.body.error).toMatchObject({ field: 'definition' });
    const kept = await api<{ draft: unknown }>('GET', `/journeys/${journey.body.id}`);
    expect(kept.body.draft).toMatchObject({ name: fiveThousand.name });

    // A draft stored before this check is refused when published, and nothing is published.
    const { storage } = mailWorld.world.mops;
    const stored = await storage.journeys.find(mailWorld.world.workspaceId, journey.body.id);
    if (!stored) throw new Error('the journey was not stored');
    // As a draft of an earlier version was stored: no save now would store it.
    const storeDraft = (draft: unknown) =>
      storage.journeys.update({ ...stored, draft: draft as Journey['draft'] });
    await storeDraft(tooMany);
    const published = await api<ApiError>('POST', `/journeys/${journey.body.id}/publish`);
    expect(published.status).toBe(400);
    expect(published.body.error).toMatchObject({
      field: 'draft',
      message: expect.stringContaining('at most 5000 values in all'),
    });
    const unpublished = await api<{ status: string; currentVersion: number | null }>(
      'GET',
      `/journeys/${journey.body.id}`,
    );
    expect(unpublished.body).toMatchObject({ status: 'draft', currentVersion: null });

    await storeDraft(fiveThousand);
    expect((await api('POST', `/journeys/${journey.body.id}/publish`)).status).toBe(200);
  });

  it('refuses a score model whose in lists hold over 5,000 values in all, naming its rules; one stored before still saves', async () => {
    const before = (await api<Record<string, unknown>>('GET', '/settings')).body;
    const model = (fitValues: string[], filterValues: string[]) => ({
      id: 'local',
      name: 'Local',
      rules: [
        {
          id: 'nearby',
          kind: 'fit',
          when: { type: 'trait', path: 'postcode', op: 'in', value: fitValues },
          points: 10,
        },
        {
          id: 'ordered',
          kind: 'event',
          event: 'Order Completed',
          where: [{ path: 'postcode', op: 'in', value: filterValues }],
          points: 5,
        },
      ],
    });
    const tooMany = model(postcodes(3000), postcodes(2001, 3000));
    for (const method of ['PUT', 'PATCH']) {
      const refused = await api<ApiError>(method, '/settings', {
        ...(method === 'PUT' ? before : {}),
        scoring: { models: [tooMany] },
      });
      expect({ method, status: refused.status }).toEqual({ method, status: 400 });
      expect(refused.body.error).toMatchObject({
        field: 'scoring.models.0.rules',
        message: expect.stringContaining('at most 5000 values in all'),
      });
    }
    expect((await api('GET', '/settings')).body).toEqual(before);

    const fiveThousand = model(postcodes(3000), postcodes(2000, 3000));
    expect((await api('PATCH', '/settings', { scoring: { models: [fiveThousand] } })).status).toBe(200);

    // Stored before this check, as no save now would store it: the rest of the settings still saves.
    const { storage } = mailWorld.world.mops;
    const workspaceId = mailWorld.world.workspaceId;
    const stored = await storage.settings.get(workspaceId);
    const legacy = { ...stored, scoring: { models: [tooMany] } } as typeof stored;
    await storage.settings.put(workspaceId, legacy, Date.now());
    const saved = await api<{ scoring: unknown }>('PATCH', '/settings', {
      topics: (before as { topics: unknown }).topics,
      scoring: { models: [tooMany] },
    });
    expect(saved.status).toBe(200);
    expect(saved.body.scoring).toMatchObject({ models: [{ id: 'local' }] });
  });

  it('refuses lifecycle rules and hand-off assignment rules whose in lists hold over 5,000 values in all, storing nothing', async () => {
    const before = (await api<Record<string, unknown>>('GET', '/settings')).body;
    const lifecycle = (firstValues: string[], secondValues: string[]) => ({
      stages: ['lead', 'mql', 'customer'],
      rules: [
        {
          kind: 'event',
          to: 'mql',
          event: 'Demo Requested',
          where: [{ path: 'postcode', op: 'in', value: firstValues }],
        },
        {
          kind: 'event',
          to: 'customer',
          event: 'Order Completed',
          where: [{ path: 'postcode', op: 'in', value: secondValues }],
        },
      ],
      recycleTo: 'lead',
    });
    const handOff = (firstValues: string[], secondValues: string[]) => ({
      stage: 'mql',
      owners: [
        { id: 'north', name: 'North desk', email: 'north@example.com' },
        { id: 'south', name: 'South desk', email: 'south@example.com' },
      ],
      assignment: [
        { when: { type: 'trait', path: 'postcode', op: 'in', value: firstValues }, owner: 'north' },
        { when: { type: 'account_trait', path: 'postcode', op: 'in', value: secondValues }, owner: 'south' },
      ],
    });
    const fits = lifecycle(postcodes(10), postcodes(10, 10));
    for (const [change, field] of [
      [{ lifecycle: lifecycle(postcodes(3000), postcodes(2001, 3000)) }, 'lifecycle.rules'],
      [{ lifecycle: fits, handOff: handOff(postcodes(2500), postcodes(2501, 2500)) }, 'handOff.assignment'],
    ] as const) {
      const refused = await api<ApiError>('PATCH', '/settings', change);
      expect({ field, status: refused.status }).toEqual({ field, status: 400 });
      expect(refused.body.error).toMatchObject({
        field,
        message: expect.stringContaining('at most 5000 values in all'),
      });
    }
    expect((await api('GET', '/settings')).body).toEqual(before);

    const fiveThousand = {
      lifecycle: lifecycle(postcodes(3000), postcodes(2000, 3000)),
      handOff: handOff(postcodes(2500), postcodes(2500, 2500)),
    };
    expect((await api('PATCH', '/settings', fiveThousand)).status).toBe(200);
    expect((await api('PUT', '/settings', before)).status).toBe(200);
  });

  it('refuses an event filter whose path starts with properties., saying to write the path inside them', async () => {
    const byPropertiesPath = { path: 'properties.total', op: 'gte', value: 20 };
    const orders = { type: 'event', event: 'Order Completed', where: [byPropertiesPath] };
    for (const [method, path] of [
      ['POST', '/segments'],
      ['POST', '/segments/preview'],
    ] as const) {
      const refused = await api<ApiError>(method, path, { name: unique('Orders'), rule: orders });
      expect({ path, status: refused.status }).toEqual({ path, status: 400 });
      expect(refused.body.error).toMatchObject({
        field: 'rule.where.0.path',
        message: expect.stringContaining('write total, not properties.total'),
      });
    }
    const inGroup = await api<ApiError>('POST', '/segments', {
      name: unique('Orders'),
      rule: { all: [{ type: 'trait', path: 'plan', op: 'exists' }, orders] },
    });
    expect(inGroup.body.error).toMatchObject({ field: 'rule.all.1.where.0.path' });

    const scoring = {
      models: [
        {
          id: 'spend',
          name: 'Spend',
          rules: [
            { id: 'big', kind: 'event', event: 'Order Completed', where: [byPropertiesPath], points: 5 },
          ],
        },
      ],
    };
    const lifecycle = {
      stages: ['lead', 'customer'],
      rules: [{ kind: 'event', to: 'customer', event: 'Order Completed', where: [byPropertiesPath] }],
      recycleTo: 'lead',
    };
    for (const [change, field] of [
      [{ scoring }, 'scoring.models.0.rules.0.where.0.path'],
      [{ lifecycle }, 'lifecycle.rules.0.where.0.path'],
    ] as const) {
      const refused = await api<ApiError>('PATCH', '/settings', change);
      expect({ field, status: refused.status }).toEqual({ field, status: 400 });
      expect(refused.body.error.message).toContain('write total, not properties.total');
    }

    // The same paths inside the properties hold; a journey's conditions start at the event itself.
    const total = { path: 'total', op: 'gte', value: 20 };
    const segment = await api('POST', '/segments', {
      name: unique('Orders'),
      rule: { ...orders, where: [total] },
    });
    expect(segment.status).toBe(201);
    const settings = await api('PATCH', '/settings', {
      scoring: {
        models: [{ ...scoring.models[0], rules: [{ ...scoring.models[0]?.rules[0], where: [total] }] }],
      },
      lifecycle: { ...lifecycle, rules: [{ ...lifecycle.rules[0], where: [total] }] },
    });
    expect(settings.status).toBe(200);
    const journey = postcodeJourney(['20121'], ['20121']);
    const entered = { ...journey.entry.trigger, conditions: [{ source: 'event', ...byPropertiesPath }] };
    const created = await api('POST', '/journeys', {
      definition: { ...journey, entry: { trigger: entered } },
    });
    expect(created.status).toBe(201);
  });
});
