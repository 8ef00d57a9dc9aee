import type {} from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type ApiKeyVerifier, findSessionUser, SESSION_COOKIE } from '../access/access.js';
import type { ApiKey, Role, User } from '../core/access.js';
import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import type { Storage } from '../storage/storage.js';

export type Principal = { kind: 'user'; user: User } | { kind: 'key'; key: ApiKey };
/** A caller let into a workspace, with its role there (a secret key's is admin). */
export type WorkspaceAccess = Principal & { role: Role };

const ROLE_RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 };
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Who is calling the admin API: a secret key (`Authorization: Bearer sk_…`) or a logged-in user
 * (session cookie). Write keys are refused here: they may send events and read nothing.
 */
export class Authenticator {
  readonly #deps: { storage: Storage; clock: Clock; keys: ApiKeyVerifier };
  /** Found once per request, by `authenticateFirst`'s hook: the route's own checks ask again. */
  readonly #found = new WeakMap<FastifyRequest, Promise<Principal>>();

  constructor(deps: { storage: Storage; clock: Clock; keys: ApiKeyVerifier }) {
    this.#deps = deps;
  }

  principal(request: FastifyRequest): Promise<Principal> {
    let found = this.#found.get(request);
    if (!found) {
      found = this.#find(request);
      this.#found.set(request, found);
    }
    return found;
  }

  async #find(request: FastifyRequest): Promise<Principal> {
    const authorization = request.headers.authorization;
    if (authorization) {
      const [scheme, token] = authorization.split(' ');
      if (scheme?.toLowerCase() !== 'bearer' || !token) {
        throw new AppError('unauthorized', 'use Authorization: Bearer <secret key>');
      }
      const key = await this.#deps.keys.find(token);
      if (!key) throw new AppError('unauthorized', 'the API key is not valid or was revoked');
      if (key.kind !== 'secret')
        throw new AppError('forbidden', 'write keys can only send events; use a secret key');
      return { kind: 'key', key };
    }
    const token = request.cookies[SESSION_COOKIE];
    if (token) {
      const user = await findSessionUser(this.#deps, token);
      if (user) {
        assertSameOrigin(request);
        return { kind: 'user', user };
      }
    }
    throw new AppError('unauthorized', 'log in or send a secret API key');
  }

  /** The caller, if allowed into the workspace with at least `role`; 404 hides workspaces of others. */
  async requireWorkspace(
    request: FastifyRequest,
    workspaceId: string,
    role: Role = 'member',
  ): Promise<WorkspaceAccess> {
    const principal = await this.principal(request);
    if (principal.kind === 'key') {
      if (principal.key.workspaceId !== workspaceId)
        throw new AppError('not_found', `workspace ${workspaceId} does not exist`);
      // A secret key acts as an admin (admins create keys): what needs an owner needs one logged in.
      if (!hasRole('admin', role))
        throw new AppError(
          'forbidden',
          `this needs the ${role} role, logged in: an API key acts as an admin`,
        );
      return { ...principal, role: 'admin' };
    }
    const membership = await this.#deps.storage.access.findMembership(workspaceId, principal.user.id);
    if (!membership) throw new AppError('not_found', `workspace ${workspaceId} does not exist`);
    if (!hasRole(membership.role, role)) {
      throw new AppError(
        'forbidden',
        `this needs the ${role} role in the workspace; you are ${membership.role}`,
      );
    }
    return { ...principal, role: membership.role };
  }

  async requireUser(request: FastifyRequest): Promise<User> {
    const principal = await this.principal(request);
    if (principal.kind !== 'user')
      throw new AppError('forbidden', 'this needs a logged-in user, not an API key');
    return principal.user;
  }
}

/** Whether `role` may do what `needed` may: an owner what an admin may, an admin what a member may. */
export function hasRole(role: Role, needed: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[needed];
}

/** What a route's config says of its callers. */
export interface RouteAccess {
  /**
   * Reached without a key or a session: logging in and out, and what authenticates its caller itself
   * (a provider's webhook, by its signature over the body).
   */
  isPublic?: boolean;
}

/**
 * Every route of `scope` but the public ones refuses a caller without a valid key or session before
 * its body is read: an anonymous caller learns nothing of what the route would make of it (not even
 * whether it is malformed), and costs no parsing or validation. What the caller may do in a workspace
 * (its role) is still the route's to check.
 */
export function authenticateFirst(scope: FastifyInstance, auth: Authenticator): void {
  scope.addHook('onRequest', async (request) => {
    if ((request.routeOptions.config as RouteAccess).isPublic) return;
    await auth.principal(request);
  });
}

/**
 * Cookie-authenticated writes must come from our own pages. SameSite=Lax keeps the cookie off
 * cross-site POSTs but not off same-site ones (a sibling subdomain, another port of the host): those
 * are refused here when a browser names another origin, or hides it (`Origin: null`, as after a
 * redirect from another origin, or from a sandboxed frame).
 */
function assertSameOrigin(request: FastifyRequest): void {
  if (!UNSAFE_METHODS.has(request.method)) return;
  const fetchSite = request.headers['sec-fetch-site'];
  if (fetchSite === 'cross-site' || fetchSite === 'same-site')
    throw new AppError('forbidden', `${fetchSite} request refused`);
  const origin = request.headers.origin;
  if (origin !== undefined) {
    const host = request.headers.host;
    if (!host || !URL.canParse(origin) || new URL(origin).host !== host)
      throw new AppError('forbidden', 'cross-origin request refused');
  }
}
