import { type Kysely, sql } from 'kysely';
import type { ApiKey, ApiKeyKind, Role } from '../core/access.js';
import { AppError } from '../core/errors.js';
import type { DialectOps } from './dialect-ops.js';
import { isUniqueViolation } from './driver-errors.js';
import type { Database } from './schema.js';
import type { AccessStore, StoredApiKey, WorkspaceStore } from './storage.js';

const WORKSPACE_LIST_LOCK_KEY = 'workspace-list';

export function createWorkspaceStore(db: Kysely<Database>, ops: DialectOps): WorkspaceStore {
  return {
    async create(workspace) {
      await db
        .insertInto('workspaces')
        .values({ id: workspace.id, name: workspace.name, created_at: workspace.createdAt })
        .execute();
    },
    async find(id) {
      const row = await db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
      return row && { id: row.id, name: row.name, createdAt: Number(row.created_at) };
    },
    async list() {
      const rows = await db.selectFrom('workspaces').selectAll().orderBy('created_at').execute();
      return rows.map((row) => ({ id: row.id, name: row.name, createdAt: Number(row.created_at) }));
    },
    async listForUser(userId) {
      const rows = await db
        .selectFrom('workspaces')
        .innerJoin('memberships', 'memberships.workspace_id', 'workspaces.id')
        .select(['workspaces.id', 'workspaces.name', 'workspaces.created_at', 'memberships.role'])
        .where('memberships.user_id', '=', userId)
        .orderBy('workspaces.created_at')
        .execute();
      return rows.map((row) => ({
        id: row.id,
        name: row.name,
        createdAt: Number(row.created_at),
        role: row.role as Role,
      }));
    },
    async lockList() {
      await ops.lockKey(WORKSPACE_LIST_LOCK_KEY)?.execute(db);
    },
  };
}

type ApiKeyRow = Database['api_keys'];

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    kind: row.kind as ApiKeyKind,
    name: row.name,
    hint: row.hint,
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    createdBy: row.created_by,
    revokedBy: row.revoked_by,
  };
}

export function createAccessStore(db: Kysely<Database>, ops: DialectOps): AccessStore {
  return {
    async createUser(user) {
      try {
        await db
          .insertInto('users')
          .values({
            id: user.id,
            email: user.email,
            name: user.name,
            password_hash: user.passwordHash,
            created_at: user.createdAt,
          })
          .execute();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        throw new AppError('conflict', `a user with e-mail ${user.email} already exists`, {
          field: 'email',
          cause: error,
        });
      }
    },
    async findUserByEmail(email) {
      const row = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
      return (
        row && {
          id: row.id,
          email: row.email,
          name: row.name,
          createdAt: Number(row.created_at),
          passwordHash: row.password_hash,
        }
      );
    },
    async findUser(id) {
      const row = await db
        .selectFrom('users')
        .select(['id', 'email', 'name', 'created_at'])
        .where('id', '=', id)
        .executeTakeFirst();
      return row && { id: row.id, email: row.email, name: row.name, createdAt: Number(row.created_at) };
    },
    async updatePassword(userId, passwordHash) {
      await db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute();
    },
    async countUsers() {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async addMembership(membership) {
      await db
        .insertInto('memberships')
        .values({
          workspace_id: membership.workspaceId,
          user_id: membership.userId,
          role: membership.role,
          created_at: membership.createdAt,
        })
        .onConflict((oc) => oc.columns(['workspace_id', 'user_id']).doUpdateSet({ role: membership.role }))
        .execute();
    },
    async findMembership(workspaceId, userId) {
      const row = await db
        .selectFrom('memberships')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return row && { workspaceId: row.workspace_id, userId: row.user_id, role: row.role as Role };
    },
    async listMembers(workspaceId) {
      const rows = await db
        .selectFrom('memberships')
        .innerJoin('users', 'users.id', 'memberships.user_id')
        .select([
          'users.id',
          'users.email',
          'users.name',
          'users.created_at',
          'memberships.role',
          'memberships.created_at as joined_at',
        ])
        .where('memberships.workspace_id', '=', workspaceId)
        .orderBy('memberships.created_at')
        .orderBy('users.id')
        .execute();
      return rows.map((row) => ({
        id: row.id,
        email: row.email,
        name: row.name,
        createdAt: Number(row.created_at),
        role: row.role as Role,
        joinedAt: Number(row.joined_at),
      }));
    },
    async lockMemberships(workspaceId) {
      // Writing the workspace row takes its row lock on PostgreSQL, which every other membership
      // change in this workspace then waits for; SQLite's write transactions are serial already.
      await db.updateTable('workspaces').set({ name: sql`name` }).where('id', '=', workspaceId).execute();
    },
    async updateMembershipRole(membership) {
      const result = await db
        .updateTable('memberships')
        .set({ role: membership.role })
        .where('workspace_id', '=', membership.workspaceId)
        .where('user_id', '=', membership.userId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async deleteMembership(workspaceId, userId) {
      const result = await db
        .deleteFrom('memberships')
        .where('workspace_id', '=', workspaceId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async createApiKey(key) {
      const create = async (handle: Kysely<Database>) => {
        // A key made by a key revoked meanwhile would outlive the revocation's cascade. Locked, the
        // creator's row puts this insert before the revocation (which then reaches it) or after it.
        if (key.createdBy !== null) {
          const creator = await sql<{ revoked_at: number | string | null }>`
            select revoked_at from api_keys where id = ${key.createdBy} ${sql.raw(ops.lockRows)}`.execute(
            handle,
          );
          if (creator.rows[0] && creator.rows[0].revoked_at !== null) return false;
        }
        await insertApiKey(handle, key);
        return true;
      };
      // On SQLite, Kysely's own transaction begins deferred: a read then a write in it could meet
      // another connection's commit between them (SQLITE_BUSY_SNAPSHOT). Callers wanting the check
      // and the insert as one call it inside `storage.transaction`, which begins immediate.
      return db.isTransaction || ops.lockRows === '' ? create(db) : db.transaction().execute(create);
    },
    async findApiKeyByHash(tokenHash) {
      const row = await db
        .selectFrom('api_keys')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return row && toApiKey(row);
    },
    async listApiKeys(workspaceId) {
      const rows = await db
        .selectFrom('api_keys')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
      return rows.map(toApiKey);
    },
    async revokeApiKey(workspaceId, keyId, revocation) {
      const existing = await db
        .selectFrom('api_keys')
        .select('id')
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', keyId)
        .executeTakeFirst();
      if (!existing) return undefined;
      const revokeActive = async (ids: string[]) =>
        (
          await db
            .updateTable('api_keys')
            .set({ revoked_at: revocation.at, revoked_by: revocation.by })
            .where('workspace_id', '=', workspaceId)
            .where('id', 'in', ids)
            .where('revoked_at', 'is', null)
            .returning('id')
            .execute()
        ).map((row) => row.id);
      // The key first: its row locked, a key it is creating meanwhile is either found below or refused
      // (see createApiKey).
      const revoked = await revokeActive([keyId]);
      // What a key made is as little to be trusted as the key: generation by generation, through keys
      // revoked before too (a key revoked alone, before revocations cascaded, left its keys active).
      const family = new Set([keyId]);
      for (let creators = [keyId]; creators.length > 0; ) {
        const made = await db
          .selectFrom('api_keys')
          .select('id')
          .where('workspace_id', '=', workspaceId)
          .where('created_by', 'in', creators)
          .execute();
        creators = made.map((row) => row.id).filter((id) => !family.has(id));
        for (const id of creators) family.add(id);
      }
      family.delete(keyId);
      if (family.size > 0) revoked.push(...(await revokeActive([...family])));
      return revoked;
    },
    async touchApiKey(keyId, at) {
      await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', keyId).execute();
    },

    async createSession(session) {
      await db
        .insertInto('sessions')
        .values({
          token_hash: session.tokenHash,
          user_id: session.userId,
          created_at: session.createdAt,
          expires_at: session.expiresAt,
        })
        .execute();
    },
    async findSession(tokenHash) {
      const row = await db
        .selectFrom('sessions')
        .select(['user_id', 'expires_at'])
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return row && { userId: row.user_id, expiresAt: Number(row.expires_at) };
    },
    async deleteSession(tokenHash) {
      await db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
    },
    async deleteUserSessions(userId, options = {}) {
      let query = db.deleteFrom('sessions').where('user_id', '=', userId);
      if (options.except !== undefined) query = query.where('token_hash', '<>', options.except);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async deleteExpiredSessions(now) {
      const result = await db.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async loginFailures(keys, since) {
      const rows = await db
        .selectFrom('login_failures')
        .select((eb) => ['key', eb.fn.countAll<number>().as('count'), eb.fn.min('at').as('first')])
        .where('key', 'in', keys)
        .where('at', '>', since)
        .groupBy('key')
        .execute();
      return new Map(rows.map((row) => [row.key, { count: Number(row.count), first: Number(row.first) }]));
    },
    async noteLoginAttempt(keys, attempt, at, forgetBefore) {
      await db.deleteFrom('login_failures').where('at', '<=', forgetBefore).execute();
      await db
        .insertInto('login_failures')
        .values(keys.map((key) => ({ key, at, attempt })))
        .execute();
    },
    async releaseLoginAttempt(attempt) {
      await db.deleteFrom('login_failures').where('attempt', '=', attempt).execute();
    },
    async clearLoginFailures(key) {
      await db.deleteFrom('login_failures').where('key', '=', key).execute();
    },
  };
}

async function insertApiKey(db: Kysely<Database>, key: StoredApiKey): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({
      id: key.id,
      workspace_id: key.workspaceId,
      kind: key.kind,
      name: key.name,
      hint: key.hint,
      token_hash: key.tokenHash,
      created_at: key.createdAt,
      last_used_at: key.lastUsedAt,
      revoked_at: key.revokedAt,
      created_by: key.createdBy,
      revoked_by: key.revokedBy,
    })
    .execute();
}
