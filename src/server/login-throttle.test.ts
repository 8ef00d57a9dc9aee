import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../access/access.js';
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
    for (const email of ['ada@example.com', 'bo@example.com'])
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

  const logIn = async (email: string, password: string) => {
    const response = await fetch(`${world.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    return { status: response.status, body: (await response.json()) as { error?: { message: string } } };
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
