import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type ApiKeyVerifier,
  changeMemberRole,
  createApiKey,
  createUser,
  keyActorsOf,
  type MemberActor,
  MIN_PASSWORD_LENGTH,
  removeMember,
} from '../../access/access.js';
import { AccessName, ROLES, UserEmail } from '../../core/access.js';
import type { Clock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import type { Member, Storage } from '../../storage/storage.js';
import type { Authenticator, Principal } from '../auth.js';
import { ApiKeyJson, apiKeyJson, ErrorResponse, Workspace, WorkspaceParams } from '../schemas.js';

/** The id a key records as its creator or revoker: the user's, or the secret key's. */
const principalId = (principal: Principal): string =>
  principal.kind === 'user' ? principal.user.id : principal.key.id;

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };
const RoleName = z.enum(ROLES as ['owner', 'admin', 'member']);
const MemberJson = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    role: RoleName,
    joinedAt: z.string().describe('when the user joined this workspace'),
  })
  .meta({ id: 'Member' });
const memberJson = (member: Member) => ({
  id: member.id,
  email: member.email,
  name: member.name,
  role: member.role,
  joinedAt: new Date(member.joinedAt).toISOString(),
});
const MemberParams = WorkspaceParams.extend({ userId: z.string().min(1).max(100) });

/** Workspaces, API keys and users. */
export async function adminRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; clock: Clock; keys: ApiKeyVerifier; auth: Authenticator },
): Promise<void> {
  const { storage, clock, keys, auth } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/workspaces',
    {
      schema: {
        tags: ['workspaces'],
        summary: 'Workspaces the caller can use',
        response: { 200: z.object({ items: z.array(Workspace) }), ...errors },
      },
    },
    async (request) => {
      const principal = await auth.principal(request);
      const toJson = (workspace: { id: string; name: string; createdAt: number }) => ({
        id: workspace.id,
        name: workspace.name,
        createdAt: new Date(workspace.createdAt).toISOString(),
      });
      if (principal.kind === 'user') {
        const workspaces = await storage.workspaces.listForUser(principal.user.id);
        return { items: workspaces.map((workspace) => ({ ...toJson(workspace), role: workspace.role })) };
      }
      const workspace = await storage.workspaces.find(principal.key.workspaceId);
      return { items: workspace ? [toJson(workspace)] : [] };
    },
  );

  api.post(
    '/api/workspaces',
    {
      schema: {
        tags: ['workspaces'],
        summary: 'Create a workspace; the caller becomes its owner',
        body: z.strictObject({ name: AccessName }),
        response: { 201: Workspace, ...errors },
      },
    },
    async (request, reply) => {
      const user = await auth.requireUser(request);
      const now = clock.now();
      const workspace = { id: newId('ws', now), name: request.body.name, createdAt: now };
      await storage.transaction(async (tx) => {
        await tx.workspaces.create(workspace);
        await tx.access.addMembership({
          workspaceId: workspace.id,
          userId: user.id,
          role: 'owner',
          createdAt: now,
        });
      });
      return reply.status(201).send({
        id: workspace.id,
        name: workspace.name,
        createdAt: new Date(now).toISOString(),
        role: 'owner',
      });
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'List API keys (never the keys themselves)',
        params: WorkspaceParams,
        response: { 200: z.object({ items: z.array(ApiKeyJson) }), ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      const items = await storage.access.listApiKeys(request.params.workspaceId);
      const actors = await keyActorsOf(storage, items);
      return { items: items.map((key) => apiKeyJson(key, actors)) };
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'Create an API key; the response is the only time the key is shown',
        params: WorkspaceParams,
        body: z.strictObject({
          kind: z.enum(['write', 'secret']).describe('write: send events only; secret: the admin API'),
          name: AccessName,
        }),
        response: {
          201: ApiKeyJson.extend({ key: z.string().describe('shown once; store it now') }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const access = await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      const { key, token } = await createApiKey(storage, {
        workspaceId: request.params.workspaceId,
        kind: request.body.kind,
        name: request.body.name,
        now: clock.now(),
        createdBy: principalId(access),
      });
      const actors = await keyActorsOf(storage, [key, ...(access.kind === 'key' ? [access.key] : [])]);
      return reply.status(201).send({ ...apiKeyJson(key, actors), key: token });
    },
  );

  api.delete(
    '/api/workspaces/:workspaceId/keys/:keyId',
    {
      schema: {
        tags: ['keys'],
        summary: 'Revoke an API key; it stops working at once',
        description:
          'The keys it created, and the keys those created, are revoked with it (by the same caller): a leaked secret key must not live on in keys it made. The key list shows them revoked.',
        params: WorkspaceParams.extend({ keyId: z.string().min(1).max(100) }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const access = await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      await keys.revoke(request.params.workspaceId, request.params.keyId, principalId(access));
      return reply.status(204).send(null);
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Create a user with a role in this workspace',
        description: [
          'Creates an account with the password given, a member of this workspace only.',
          'An e-mail that already has an account on this server is refused with 409 (field `email`), and the account is left as it is: not added, its password not changed.',
          'Adding it instead would let whoever created an account for an address first (any user can create a workspace and be its admin) take over every workspace it is later added to, since they chose its password.',
          'The 409 does tell an admin that the address has an account; answering alike would not hide it, since logging in with the password the admin chose, or the list of users, would tell.',
          'Adding an existing account to a second workspace, and hiding whether an address has an account, both need invitations that reach the address itself, sent by a server-wide mailer Mops does not have yet.',
        ].join(' '),
        params: WorkspaceParams,
        body: z.strictObject({
          email: UserEmail,
          password: z.string().min(MIN_PASSWORD_LENGTH).max(200),
          name: z.string().trim().max(100).optional(),
          role: RoleName.default('member'),
        }),
        response: {
          201: z.object({ id: z.string(), email: z.string(), name: z.string().nullable(), role: z.string() }),
          409: ErrorResponse,
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      await auth.requireWorkspace(request, workspaceId, request.body.role === 'owner' ? 'owner' : 'admin');
      // The 409 for an e-mail that has an account is a choice, not an oversight (see the description):
      // an anonymous caller never gets this far, and the alternatives hand over accounts.
      const user = await createUser(storage, clock, { ...request.body, workspaceId });
      return reply
        .status(201)
        .send({ id: user.id, email: user.email, name: user.name, role: request.body.role });
    },
  );

  const actorOf = (principal: Principal): MemberActor =>
    principal.kind === 'key' ? { kind: 'key' } : { kind: 'user', userId: principal.user.id };

  api.get(
    '/api/workspaces/:workspaceId/users',
    {
      schema: {
        tags: ['users'],
        summary: "The workspace's users with their roles",
        params: WorkspaceParams,
        response: { 200: z.object({ items: z.array(MemberJson) }), ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      const members = await storage.access.listMembers(request.params.workspaceId);
      return { items: members.map(memberJson) };
    },
  );

  api.patch(
    '/api/workspaces/:workspaceId/users/:userId',
    {
      schema: {
        tags: ['users'],
        summary: "Change a user's role in this workspace",
        description:
          'Only an owner may grant or take away the owner role; the last owner cannot be demoted (409).',
        params: MemberParams,
        body: z.strictObject({ role: RoleName }),
        response: { 200: MemberJson, 409: ErrorResponse, ...errors },
      },
    },
    async (request) => {
      const { workspaceId, userId } = request.params;
      const principal = await auth.requireWorkspace(request, workspaceId, 'admin');
      const member = await changeMemberRole(storage, {
        workspaceId,
        userId,
        role: request.body.role,
        actor: actorOf(principal),
      });
      return memberJson(member);
    },
  );

  api.delete(
    '/api/workspaces/:workspaceId/users/:userId',
    {
      schema: {
        tags: ['users'],
        summary: 'Remove a user from this workspace (the account stays for its other workspaces)',
        description: 'Only an owner may remove an owner; the last owner cannot be removed (409).',
        params: MemberParams,
        response: { 204: z.null(), 409: ErrorResponse, ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId, userId } = request.params;
      const principal = await auth.requireWorkspace(request, workspaceId, 'admin');
      await removeMember(storage, { workspaceId, userId, actor: actorOf(principal) });
      return reply.status(204).send(null);
    },
  );
}
