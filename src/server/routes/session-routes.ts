import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  changePassword,
  login,
  logout,
  MIN_PASSWORD_LENGTH,
  normaliseEmail,
  SESSION_COOKIE,
} from '../../access/access.js';
import { DEVICE_COOKIE, DEVICE_COOKIE_TTL_MS, DeviceCookies } from '../../access/device-cookies.js';
import { LoginAttempts } from '../../access/login-attempts.js';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import type { Storage } from '../../storage/storage.js';
import type { Authenticator, RouteAccess } from '../auth.js';
import { ErrorResponse } from '../schemas.js';

const UserJson = z.object({ id: z.string(), email: z.string(), name: z.string().nullable() });

/** Admin log-in with an httpOnly, SameSite session cookie. */
export async function sessionRoutes(
  app: FastifyInstance,
  deps: {
    storage: Storage;
    clock: Clock;
    auth: Authenticator;
    sessionTtlMs: number;
    cookieSecure: boolean;
    /** MOPS_SECRET, which signs device cookies. */
    secret: string;
  },
): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const attempts = new LoginAttempts(deps.storage.access, deps.clock);
  const devices = new DeviceCookies(deps.secret);
  const cookieOptions = {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: deps.cookieSecure,
  };

  api.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in; sets the session cookie',
        security: [],
        body: z.strictObject({ email: z.string().min(1).max(320), password: z.string().min(1).max(200) }),
        response: {
          200: z.object({ user: UserJson, expiresAt: z.string() }),
          400: ErrorResponse,
          401: ErrorResponse,
          429: ErrorResponse,
        },
      },
      config: { isPublic: true } satisfies RouteAccess,
    },
    async (request, reply) => {
      const email = normaliseEmail(request.body.email);
      const device = devices.deviceOf(request.cookies[DEVICE_COOKIE], email);
      const attempt = await attempts.begin({ email, client: request.ip, device });
      let session: Awaited<ReturnType<typeof login>>;
      try {
        session = await login(deps, request.body);
      } catch (error) {
        // A wrong e-mail or password stays noted as a failure; a storage failure counts no guess.
        if (!(error instanceof AppError && error.code === 'unauthorized')) await attempt.abandoned();
        throw error;
      }
      await attempt.succeeded();
      const { user, token, expiresAt } = session;
      reply.setCookie(SESSION_COOKIE, token, { ...cookieOptions, expires: new Date(expiresAt) });
      // The session cookie first: scripts that log in and keep one cookie keep the session.
      if (device === undefined)
        reply.setCookie(DEVICE_COOKIE, devices.issue(email), {
          ...cookieOptions,
          expires: new Date(deps.clock.now() + DEVICE_COOKIE_TTL_MS),
        });
      return {
        user: { id: user.id, email: user.email, name: user.name },
        expiresAt: new Date(expiresAt).toISOString(),
      };
    },
  );

  api.post(
    '/api/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log out; ends the session',
        security: [],
        response: { 204: z.null() },
      },
      // Without a session it still clears the cookie.
      config: { isPublic: true } satisfies RouteAccess,
    },
    async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE];
      if (token) await logout(deps.storage, token);
      reply.clearCookie(SESSION_COOKIE, cookieOptions);
      return reply.status(204).send(null);
    },
  );

  api.post(
    '/api/auth/password',
    {
      schema: {
        tags: ['auth'],
        summary: "Change the logged-in user's password; their other sessions end",
        body: z.strictObject({
          currentPassword: z.string().min(1).max(200),
          newPassword: z.string().min(MIN_PASSWORD_LENGTH).max(200),
        }),
        response: { 204: z.null(), 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse },
      },
    },
    async (request, reply) => {
      const user = await deps.auth.requireUser(request);
      await changePassword(deps.storage, {
        userId: user.id,
        currentPassword: request.body.currentPassword,
        newPassword: request.body.newPassword,
        // requireUser accepted the session, so its cookie is there.
        sessionToken: request.cookies[SESSION_COOKIE] ?? '',
      });
      return reply.status(204).send(null);
    },
  );

  api.get(
    '/api/auth/me',
    {
      schema: {
        tags: ['auth'],
        summary: 'The logged-in user',
        response: { 200: z.object({ user: UserJson }), 401: ErrorResponse, 403: ErrorResponse },
      },
    },
    async (request) => {
      const user = await deps.auth.requireUser(request);
      return { user: { id: user.id, email: user.email, name: user.name } };
    },
  );
}
