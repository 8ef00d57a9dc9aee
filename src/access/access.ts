import type { Role, User, Workspace } from '../core/access.js';
import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Storage } from '../storage/storage.js';
import { hashToken } from './api-keys.js';
import { forgetFailedLogIns } from './login-attempts.js';
import { generatePassword, hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from './passwords.js';
import { normaliseEmail } from './sessions.js';

export { ApiKeyVerifier, createApiKey, hashToken, keyActorsOf } from './api-keys.js';
export { changeMemberRole, type MemberActor, removeMember } from './members.js';
export { generatePassword, MIN_PASSWORD_LENGTH } from './passwords.js';
export { findSessionUser, login, logout, normaliseEmail, SESSION_COOKIE } from './sessions.js';

export const FIRST_ADMIN_EMAIL = 'admin@localhost';

export interface FirstRun {
  workspace: Workspace;
  /** Present only on the start that created the first admin: the one time its password is shown. */
  createdAdmin?: { email: string; password: string };
}

/**
 * Makes a fresh installation usable: a default workspace and, if no user exists, an owner with a
 * generated password (never a fixed default). Safe when several processes start at once.
 */
export async function ensureFirstRun(
  storage: Storage,
  clock: Clock,
  options: { withAdmin: boolean } = { withAdmin: true },
): Promise<FirstRun> {
  const now = clock.now();
  let [workspace] = await storage.workspaces.list();
  // Processes starting together on a fresh database: the first to hold the lock creates the
  // workspace, and the others, reading the list again under it, find that one.
  workspace ??= await storage.transaction(async (tx) => {
    await tx.workspaces.lockList();
    const [existing] = await tx.workspaces.list();
    if (existing) return existing;
    const created = { id: newId('ws', now), name: 'Default', createdAt: now };
    await tx.workspaces.create(created);
    return created;
  });
  if (!options.withAdmin || (await storage.access.countUsers()) > 0) return { workspace };
  const password = generatePassword();
  try {
    await createUser(storage, clock, {
      email: FIRST_ADMIN_EMAIL,
      password,
      name: 'Administrator',
      workspaceId: workspace.id,
      role: 'owner',
    });
  } catch (error) {
    if (error instanceof AppError && error.code === 'conflict') return { workspace };
    throw error;
  }
  return { workspace, createdAdmin: { email: FIRST_ADMIN_EMAIL, password } };
}

export async function createUser(
  storage: Storage,
  clock: Clock,
  options: { email: string; password: string; name?: string | null; workspaceId: string; role: Role },
): Promise<User> {
  const email = normaliseEmail(options.email);
  if (options.password.length < MIN_PASSWORD_LENGTH) {
    throw new AppError('invalid_input', `password must be at least ${MIN_PASSWORD_LENGTH} characters`, {
      field: 'password',
    });
  }
  if (await storage.access.findUserByEmail(email)) {
    throw new AppError('conflict', `a user with e-mail ${email} already exists`, { field: 'email' });
  }
  const now = clock.now();
  const user: User = { id: newId('usr', now), email, name: options.name ?? null, createdAt: now };
  const passwordHash = await hashPassword(options.password);
  await storage.transaction(async (tx) => {
    await tx.access.createUser({ ...user, passwordHash });
    await tx.access.addMembership({
      workspaceId: options.workspaceId,
      userId: user.id,
      role: options.role,
      createdAt: now,
    });
  });
  return user;
}

/**
 * A new generated password for a user (`mops users reset-password`), ending every session they have:
 * a reset is what follows a password someone else learnt, and their cookie must stop working too.
 */
export async function resetPassword(storage: Storage, email: string): Promise<string> {
  const user = await storage.access.findUserByEmail(normaliseEmail(email));
  if (!user) throw new AppError('not_found', `no user has e-mail ${email}`, { field: 'email' });
  const password = generatePassword();
  const hash = await hashPassword(password);
  await storage.transaction(async (tx) => {
    await tx.access.updatePassword(user.id, hash);
    await tx.access.deleteUserSessions(user.id);
    // Whoever locked the e-mail out by guessing, its owner can log in with the new password at once.
    await forgetFailedLogIns(tx.access, user.email);
  });
  return password;
}

/**
 * A logged-in user replaces their password (the first admin's generated one, say). The current one
 * must be right; every other session of the user ends, the one making the change stays.
 */
export async function changePassword(
  storage: Storage,
  options: { userId: string; currentPassword: string; newPassword: string; sessionToken: string },
): Promise<void> {
  const user = await storage.access.findUser(options.userId);
  const stored = user && (await storage.access.findUserByEmail(user.email));
  if (!stored) throw new AppError('not_found', `user ${options.userId} does not exist`);
  if (!(await verifyPassword(options.currentPassword, stored.passwordHash)))
    throw new AppError('invalid_input', 'the current password is wrong', {
      field: 'currentPassword',
      issue: { code: 'refused', reason: 'wrong_current_password' },
    });
  if (options.newPassword.length < MIN_PASSWORD_LENGTH)
    throw new AppError(
      'invalid_input',
      `the new password must be at least ${MIN_PASSWORD_LENGTH} characters`,
      {
        field: 'newPassword',
      },
    );
  if (options.newPassword === options.currentPassword)
    throw new AppError('invalid_input', 'the new password must differ from the current one', {
      field: 'newPassword',
    });
  await storage.access.updatePassword(stored.id, await hashPassword(options.newPassword));
  await storage.access.deleteUserSessions(stored.id, { except: hashToken(options.sessionToken) });
}
