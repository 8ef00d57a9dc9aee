import { createUser } from '../access/access.js';
import { systemClock } from '../core/clock.js';
import type { TestWorld } from './world.js';

/**
 * Logs a member (not an admin) of the world's workspace in, creating the user first: the session
 * cookie, for a test of what members may not do.
 */
export async function memberSessionCookie(world: TestWorld, email = 'member@example.com'): Promise<string> {
  const password = 'correct horse battery staple';
  await createUser(world.mops.storage, systemClock, {
    email,
    password,
    workspaceId: world.workspaceId,
    role: 'member',
  });
  const login = await fetch(`${world.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (login.status !== 200) throw new Error(`the member could not log in: HTTP ${login.status}`);
  return (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}
