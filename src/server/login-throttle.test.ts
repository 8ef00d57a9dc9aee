import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, resetPassword } from '../access/access.js';
import { ManualClock } from '../core/clock.js';
import {
  createTestDatabase,
  startTestWorld,
  type TestDatabase,
  type TestWorld,
  testConfig,
} from '../test-support/world.js';
import { createLogger } from './logger.js';
import { type RunningMops, startMops } from './server.js';

const PASSWORD = 'correct horse battery';

/** Password guessing meets a limit, before any password is hashed for it. */
describe('log-in attempts', () => {
  const clock = new ManualClock(Date.parse('2026-11-30T10:00:00Z'));
  let world: TestWorld;

  beforeAll(async () => {
    world = await startTestWorld('sqlite', { clock });
    for (const email of ['ada@example.com', 'bo@example.com', 'dee@example.com', 'eve@example.com'])
      await createUser(world.mops.storage, clock, {
        email,
        password: PASSWORD,
        workspaceId: world.workspaceId,
        role: 'member',
      });
  });
  afterAll(async () => {
    await world?.close();
  });

  const logIn = async (email: string, password: string, cookie?: string) => {
    const response = await fetch(`${world.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
      body: JSON.stringify({ email, password }),
    });
    return {
      status: response.status,
      body: (await response.json()) as { error?: { message: string } },
      cookies: response.headers.getSetCookie().map((header) => header.split(';')[0] ?? ''),
    };
  };

  it('refuses an e-mail after ten failed log-ins in fifteen minutes, even with the right password', async () => {
    for (let attempt = 0; attempt < 10; attempt++)
      expect((await logIn('ada@example.com', `guess ${attempt}`)).status).toBe(401);
    const locked = await logIn('ADA@example.com', PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.body.error?.message).toMatch(
      /too many failed log-ins for this e-mail: try again in 15 minutes/,
    );
    // Another account is not held by ada's guesses.
    expect((await logIn('bo@example.com', PASSWORD)).status).toBe(200);

    clock.advance(15 * 60_000 + 1);
    expect((await logIn('ada@example.com', PASSWORD)).status).toBe(200);
  });

  it('counts guesses sent all at once as they arrive, not once the first has been checked', async () => {
    const statuses = await Promise.all(
      Array.from(
        { length: 30 },
        async (_, guess) => (await logIn('dee@example.com', `guess ${guess}`)).status,
      ),
    );
    // Ten passwords checked (each wrong); the rest refused before theirs was hashed.
    expect(statuses.filter((status) => status === 401)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(20);
    expect((await logIn('dee@example.com', PASSWORD)).status).toBe(429);
  });

  it("keeps a browser the user logged in from open to them while others' guesses lock the e-mail", async () => {
    const first = await logIn('eve@example.com', PASSWORD);
    expect(first.status).toBe(200);
    const device = first.cookies.find((cookie) => cookie.startsWith('mops_device='));
    expect(device).toBeDefined();
    for (let guess = 0; guess < 10; guess++)
      expect((await logIn('eve@example.com', `guess ${guess}`)).status).toBe(401);
    expect((await logIn('eve@example.com', PASSWORD)).status).toBe(429);
    // Neither a forged device cookie nor one given for another e-mail counts.
    expect((await logIn('eve@example.com', PASSWORD, `${device?.slice(0, -2)}xx`)).status).toBe(429);
    expect((await logIn('dee@example.com', PASSWORD, device)).status).toBe(429);
    // The browser that logged in before still can, and is given no second device cookie.
    const again = await logIn('eve@example.com', PASSWORD, device);
    expect(again.status).toBe(200);
    expect(again.cookies.some((cookie) => cookie.startsWith('mops_device='))).toBe(false);
    // Its own wrong passwords meet a limit of their own.
    for (let guess = 0; guess < 10; guess++)
      expect((await logIn('eve@example.com', `typo ${guess}`, device)).status).toBe(401);
    expect((await logIn('eve@example.com', PASSWORD, device)).body.error?.message).toMatch(
      /too many failed log-ins from this browser/,
    );

    // An admin's password reset lets the owner of a locked e-mail in at once, from anywhere.
    for (let guess = 0; guess < 10; guess++)
      expect((await logIn('eve@example.com', `again ${guess}`)).status).toBe(401);
    expect((await logIn('eve@example.com', PASSWORD)).status).toBe(429);
    const reset = await resetPassword(world.mops.storage, 'eve@example.com');
    expect((await logIn('eve@example.com', reset)).status).toBe(200);
  });
});

/** Several API processes on one database hold one line between them. */
describe('log-in attempts through two API processes', () => {
  let database: TestDatabase;
  const processes: RunningMops[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    for (let i = 0; i < 2; i++)
      processes.push(
        await startMops({ config: testConfig(database), role: 'api', logger: createLogger('warn') }),
      );
    const workspaceId = processes[0]?.firstRun?.workspace.id;
    if (!workspaceId) throw new Error('no workspace');
    await createUser(processes[0]?.storage as RunningMops['storage'], new ManualClock(Date.now()), {
      email: 'cy@example.com',
      password: PASSWORD,
      workspaceId,
      role: 'member',
    });
  });
  afterAll(async () => {
    for (const running of processes) await running.stop();
    await database?.cleanup();
  });

  it('counts the guesses made through either, and refuses the next one through both', async () => {
    const logIn = async (running: RunningMops, password: string) =>
      (
        await fetch(`${running.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'cy@example.com', password }),
        })
      ).status;
    const [first, second] = processes as [RunningMops, RunningMops];
    for (let attempt = 0; attempt < 10; attempt++)
      expect(await logIn(attempt % 2 === 0 ? first : second, `guess ${attempt}`)).toBe(401);
    expect(await logIn(first, PASSWORD)).toBe(429);
    expect(await logIn(second, PASSWORD)).toBe(429);
  });
});
