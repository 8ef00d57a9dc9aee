import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOG_CURSORS } from '../server/log-cursors.js';
import { BACKENDS, basicAuth, eventually, startTestWorld, type TestWorld } from '../test-support/world.js';

/**
 * A database trigger refusing one user's profile makes profile resolution fail on that user's event
 * every time, as a bug on some event's data would: the running server must set the event aside and
 * go on, not stop processing every event after it.
 */
const REFUSAL = 'refused by a test trigger';

async function refuseProfilesOf(world: TestWorld, userId: string): Promise<void> {
  if (world.database.backend === 'sqlite') {
    const db = new BetterSqlite3(path.join(world.database.dataDir, 'mops.db'));
    try {
      db.exec(`create trigger refuse_profile before insert on profiles
        when new.user_id = '${userId}' begin select raise(abort, '${REFUSAL}'); end`);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: world.database.env.MOPS_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`
      create function refuse_profile() returns trigger language plpgsql as $$
      begin
        if new.user_id = '${userId}' then raise exception '${REFUSAL}'; end if;
        return new;
      end $$;
      create trigger refuse_profile before insert on profiles
        for each row execute function refuse_profile();`);
  } finally {
    await client.end();
  }
}

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
