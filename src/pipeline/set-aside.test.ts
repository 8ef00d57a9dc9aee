import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOG_CURSORS } from '../server/log-cursors.js';
import { REFUSAL, refuseRowsOf } from '../test-support/refuse-rows.js';
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

  const api = (route: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${world.url}/api/workspaces/${world.workspaceId}/${route}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${world.secretKey}`,
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    });
  const send = async (batch: unknown[]) => {
    const response = await fetch(`${world.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(world.writeKey) },
      body: JSON.stringify({ batch }),
    });
    expect(response.status).toBe(200);
  };
  const setAsideEvents = () =>
    eventually(async () => {
      const { items } = (await (await api('set-aside-events')).json()) as { items: unknown[] };
      return items.length > 0 ? items : undefined;
    }, 30_000);
  const caughtUp = () =>
    eventually(async () => {
      const lags = await Promise.all(LOG_CURSORS.map((cursor) => world.mops.storage.pipelineLag(cursor)));
      return lags.every((lag) => lag === 0) ? true : undefined;
    }, 30_000);

  it('is set aside and listed, and every event after it is processed', async () => {
    await refuseRowsOf(world, 'profiles', 'poison');
    await send([
      { type: 'identify', userId: 'ann', traits: { plan: 'pro' } },
      { type: 'track', userId: 'poison', event: 'Signed Up', messageId: 'poisoned-call' },
      { type: 'identify', userId: 'bob', traits: { plan: 'free' } },
    ]);
    const setAside = await setAsideEvents();
    expect(setAside).toEqual([
      expect.objectContaining({
        consumer: 'profiles',
        messageId: 'poisoned-call',
        type: 'track',
        name: 'Signed Up',
        reason: expect.stringContaining(REFUSAL),
      }),
    ]);
    await caughtUp();
    const { items: profiles } = (await (await api('profiles')).json()) as {
      items: Array<{ userId: string }>;
    };
    expect(profiles.map((profile) => profile.userId).sort()).toEqual(['ann', 'bob']);

    const metrics = await (await fetch(`${world.url}/metrics`)).text();
    expect(metrics).toContain('mops_pipeline_set_aside_events{consumer="profiles"} 1');
    expect(metrics).toContain('mops_pipeline_set_aside_events{consumer="journeys"} 0');
  }, 90_000);

  it('is set aside by the segments thread too, the other contacts still becoming members', async () => {
    const created = await api('segments', {
      method: 'POST',
      body: { name: 'Viewers', kind: 'live', rule: { type: 'event', event: 'Viewed', atLeast: 1 } },
    });
    expect(created.status).toBe(201);
    const segment = (await created.json()) as { id: string };
    await refuseRowsOf(world, 'segment_members', 'poison');
    await send([
      { type: 'track', userId: 'ann', event: 'Viewed' },
      { type: 'track', userId: 'poison', event: 'Viewed', messageId: 'poisoned-view' },
      { type: 'track', userId: 'bob', event: 'Viewed' },
    ]);
    expect(await setAsideEvents()).toEqual([
      expect.objectContaining({
        consumer: 'segments',
        messageId: 'poisoned-view',
        reason: expect.stringContaining(REFUSAL),
      }),
    ]);
    await caughtUp();
    const members = (await (await api(`segments/${segment.id}/members`)).json()) as {
      items: Array<{ profileId: string }>;
    };
    const profiles = (await (await api('profiles')).json()) as {
      items: Array<{ id: string; userId: string }>;
    };
    const userOf = new Map(profiles.items.map((profile) => [profile.id, profile.userId]));
    expect(members.items.map((member) => userOf.get(member.profileId)).sort()).toEqual(['ann', 'bob']);
  }, 90_000);
});

describe.each(BACKENDS)('a timer set aside, on %s', (backend) => {
  let world: TestWorld;

  beforeEach(async () => {
    world = await startTestWorld(backend);
  });
  afterEach(async () => {
    await world?.close();
  });

  it('is listed with its error, and counted in /metrics', async () => {
    const { storage } = world.mops;
    const timer = {
      kind: 'segment' as const,
      workspaceId: world.workspaceId,
      subject: 'prf_stuck',
      token: null,
      dueAt: Date.parse('2026-12-01T10:00:00Z'),
    };
    await storage.transaction(async (tx) => {
      await tx.segments.bringTimersForward([{ ...timer, profileId: timer.subject }]);
      expect(await tx.setAsideTimers.add(timer, `Error: ${REFUSAL}`, Date.now())).toBe(true);
    });

    const response = await fetch(`${world.url}/api/workspaces/${world.workspaceId}/set-aside-timers`, {
      headers: { authorization: `Bearer ${world.secretKey}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      items: [
        expect.objectContaining({
          kind: 'segment',
          subject: 'prf_stuck',
          token: null,
          dueAt: '2026-12-01T10:00:00.000Z',
          reason: `Error: ${REFUSAL}`,
        }),
      ],
      nextCursor: null,
    });
    expect(await storage.segments.nextTimerDue()).toBeUndefined();
    const metrics = await (await fetch(`${world.url}/metrics`)).text();
    expect(metrics).toContain('mops_set_aside_timers{kind="segment"} 1');
    expect(metrics).toContain('mops_set_aside_timers{kind="journey"} 0');
  });
});
