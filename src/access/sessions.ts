import type { User } from '../core/access.js';
import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import { randomToken } from '../core/ids.js';
import type { Storage } from '../storage/storage.js';
import { hashToken } from './api-keys.js';
import { passwordHashMatchingNothing, verifyPassword } from './passwords.js';

export const SESSION_COOKIE = 'mops_session';

/**
 * Logs a user in: checks the password and stores only the session token's hash, so a database
 * leak does not hand out live sessions. Unknown e-mail and wrong password fail alike.
 */
export async function login(
  deps: { storage: Storage; clock: Clock; sessionTtlMs: number },
  credentials: { email: string; password: string },
): Promise<{ user: User; token: string; expiresAt: number }> {
  const found = await deps.storage.access.findUserByEmail(normaliseEmail(credentials.email));
  // Hash even for an unknown user, so response time does not tell which e-mails exist.
  const isValid = await verifyPassword(
    credentials.password,
    found?.passwordHash ?? passwordHashMatchingNothing(),
  );
  if (!found || !isValid)
    throw new AppError('unauthorized', 'e-mail or password is wrong', {
      issue: { code: 'refused', reason: 'wrong_credentials' },
    });
  const now = deps.clock.now();
  const token = randomToken(32);
  const expiresAt = now + deps.sessionTtlMs;
  await deps.storage.access.createSession({
    tokenHash: hashToken(token),
    userId: found.id,
    createdAt: now,
    expiresAt,
  });
  const { passwordHash: _, ...user } = found;
  return { user, token, expiresAt };
}

export async function findSessionUser(
  deps: { storage: Storage; clock: Clock },
  token: string,
): Promise<User | undefined> {
  const session = await deps.storage.access.findSession(hashToken(token));
  if (!session || session.expiresAt <= deps.clock.now()) return undefined;
  return deps.storage.access.findUser(session.userId);
}

export async function logout(storage: Storage, token: string): Promise<void> {
  await storage.access.deleteSession(hashToken(token));
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}
