import { z } from 'zod';

export type Role = 'owner' | 'admin' | 'member';
export const ROLES: readonly Role[] = ['owner', 'admin', 'member'];

/** A user's e-mail address, as the API and `mops users create` take it. */
export const UserEmail = z.email();
export type UserEmail = z.infer<typeof UserEmail>;

/** A workspace's or API key's name, as the API and the `mops` command take it: trimmed, 1 to 100 characters. */
export const AccessName = z.string().trim().min(1).max(100);
export type AccessName = z.infer<typeof AccessName>;

export interface Workspace {
  id: string;
  name: string;
  createdAt: number;
}

export interface User {
  id: string;
  email: string;
  name: string | null;
  createdAt: number;
}

export interface Membership {
  workspaceId: string;
  userId: string;
  role: Role;
}

/** Write keys may only send events; secret keys may use the admin API of their workspace. */
export type ApiKeyKind = 'write' | 'secret';

export interface ApiKey {
  id: string;
  workspaceId: string;
  kind: ApiKeyKind;
  name: string;
  /** The first characters of the key, enough to recognise it in a list; the key itself is never stored. */
  hint: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
  /** The user or secret key that created it; null when made on the command line (or before Mops kept this). */
  createdBy: string | null;
  /** The user or secret key that revoked it, as `createdBy`. */
  revokedBy: string | null;
}

/** Who created or revoked a key, as the key list shows it. */
export interface KeyActor {
  kind: 'user' | 'key';
  id: string;
  /** The user's name, or the key's. */
  name: string | null;
  /** The user's e-mail; null for a key, and for a user whose account is gone. */
  email: string | null;
}
