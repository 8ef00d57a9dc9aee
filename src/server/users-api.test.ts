import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, resetPassword } from '../access/access.js';
import type { Role } from '../core/access.js';
import { systemClock } from '../core/clock.js';
import { BACKENDS, startTestWorld, type TestWorld } from '../test-support/world.js';

interface MemberJson {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  joinedAt: string;
}

describe.each(BACKENDS)('users and roles API on %s', (backend) => {
  let world: TestWorld;
  let serial = 0;
  const password = 'correct horse battery staple';

  beforeAll(async () => {
    world = await startTestWorld(backend);
  });
  afterAll(async () => {
    await world?.close();
  });

  const call = (path: string, init: RequestInit = {}) => fetch(`${world.url}${path}`, init);
  const send = (method: string, body: unknown, cookie: string) => ({
    method,
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify(body),
  });
  const uniqueEmail = (who: string) => `${who}-${++serial}@example.com`;

  async function logIn(email: string, secret = password): Promise<string> {
    const response = await call('/api/auth/login', send('POST', { email, password: secret }, ''));
    expect(response.status).toBe(200);
    return (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  }

  /** A fresh workspace whose only member is a new owner, logged in. */
  async function ownWorkspace(): Promise<{ workspaceId: string; owner: string; ownerEmail: string }> {
    const ownerEmail = uniqueEmail('owner');
    await createUser(world.mops.storage, systemClock, {
      email: ownerEmail,
      password,
      workspaceId: world.workspaceId,
      role: 'member',
    });
    const owner = await logIn(ownerEmail);
    const created = await call('/api/workspaces', send('POST', { name: 'Team' }, owner));
    expect(created.status).toBe(201);
    return { workspaceId: ((await created.json()) as { id: string }).id, owner, ownerEmail };
  }

  async function addUser(workspaceId: string, cookie: string, role: Role): Promise<MemberJson> {
    const response = await call(
      `/api/workspaces/${workspaceId}/users`,
      send('POST', { email: uniqueEmail(role), password, name: `A ${role}`, role }, cookie),
    );
    expect(response.status).toBe(201);
    return (await response.json()) as MemberJson;
  }

  async function members(workspaceId: string, cookie: string): Promise<MemberJson[]> {
    const response = await call(`/api/workspaces/${workspaceId}/users`, { headers: { cookie } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: MemberJson[] }).items;
  }

  const setRole = (workspaceId: string, userId: string, role: Role, cookie: string) =>
    call(`/api/workspaces/${workspaceId}/users/${userId}`, send('PATCH', { role }, cookie));
  const remove = (workspaceId: string, userId: string, cookie: string) =>
    call(`/api/workspaces/${workspaceId}/users/${userId}`, { method: 'DELETE', headers: { cookie } });

  it('lists the users with their roles, changes a role and removes a user from the workspace', async () => {
    const { workspaceId, owner, ownerEmail } = await ownWorkspace();
    const added = await addUser(workspaceId, owner, 'member');
    expect(await members(workspaceId, owner)).toEqual([
      expect.objectContaining({ email: ownerEmail, role: 'owner' }),
      { id: added.id, email: added.email, name: 'A member', role: 'member', joinedAt: expect.any(String) },
    ]);

    const promoted = await setRole(workspaceId, added.id, 'admin', owner);
    expect(promoted.status).toBe(200);
    expect(await promoted.json()).toMatchObject({ id: added.id, role: 'admin' });
    expect((await members(workspaceId, owner)).find((member) => member.id === added.id)?.role).toBe('admin');

    const addedSession = await logIn(added.email);
    expect(
      (await call(`/api/workspaces/${workspaceId}/users`, { headers: { cookie: addedSession } })).status,
    ).toBe(200);
    expect((await remove(workspaceId, added.id, owner)).status).toBe(204);
    expect((await members(workspaceId, owner)).map((member) => member.id)).not.toContain(added.id);
    // The account stays, but the workspace is closed to it.
    expect(
      (await call(`/api/workspaces/${workspaceId}/users`, { headers: { cookie: addedSession } })).status,
    ).toBe(404);
    expect((await remove(workspaceId, added.id, owner)).status).toBe(404);
  });

  it('refuses an e-mail that has an account in another workspace, leaving the account as it was', async () => {
    const mine = await ownWorkspace();
    const theirs = await ownWorkspace();
    const existing = await addUser(theirs.workspaceId, theirs.owner, 'admin');
    const response = await call(
      `/api/workspaces/${mine.workspaceId}/users`,
      send(
        'POST',
        { email: existing.email, password: 'a password I chose myself', role: 'owner' },
        mine.owner,
      ),
    );
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: { field?: string } }).error.field).toBe('email');
    // Added, the account would be whoever chose its password's: the first to create it takes it over.
    expect((await members(mine.workspaceId, mine.owner)).map((member) => member.email)).toEqual([
      mine.ownerEmail,
    ]);
    const refused = await call(
      '/api/auth/login',
      send('POST', { email: existing.email, password: 'a password I chose myself' }, ''),
    );
    expect(refused.status).toBe(401);
    await logIn(existing.email);
  });

  it('refuses to demote or remove the last owner, and allows it once another owner exists', async () => {
    const { workspaceId, owner } = await ownWorkspace();
    const [self] = await members(workspaceId, owner);
    if (!self) throw new Error('the workspace has no owner');

    const demoted = await setRole(workspaceId, self.id, 'admin', owner);
    expect(demoted.status).toBe(409);
    expect(await demoted.json()).toEqual({
      error: {
        code: 'conflict',
        field: 'role',
        message: expect.stringMatching(/last owner of this workspace: make another member owner first/),
        issue: { code: 'refused', reason: 'last_owner', params: { email: expect.stringContaining('@') } },
      },
    });
    expect((await remove(workspaceId, self.id, owner)).status).toBe(409);

    const second = await addUser(workspaceId, owner, 'owner');
    expect((await setRole(workspaceId, self.id, 'admin', owner)).status).toBe(200);
    // Now an admin: the remaining owner is out of its reach, and it cannot make itself owner again.
    expect((await remove(workspaceId, second.id, owner)).status).toBe(403);
    expect((await setRole(workspaceId, self.id, 'owner', owner)).status).toBe(403);
    expect((await members(workspaceId, owner)).filter((member) => member.role === 'owner')).toEqual([
      expect.objectContaining({ id: second.id }),
    ]);
  });

  it('keeps one owner when two owners demote each other at the same moment', async () => {
    const { workspaceId, owner } = await ownWorkspace();
    const [self] = await members(workspaceId, owner);
    const other = await addUser(workspaceId, owner, 'owner');
    const otherSession = await logIn(other.email);
    if (!self) throw new Error('the workspace has no owner');

    const outcomes = await Promise.all([
      setRole(workspaceId, other.id, 'member', owner),
      setRole(workspaceId, self.id, 'member', otherSession),
    ]);
    // The loser is refused either as no longer an owner (403) or as about to remove the last one (409).
    const statuses = outcomes.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 403 || status === 409)).toHaveLength(1);
    const owners = (await world.mops.storage.access.listMembers(workspaceId)).filter(
      (member) => member.role === 'owner',
    );
    expect(owners).toHaveLength(1);
  });

  it('lets a member read the score models, stages, topics and hand-off owners, though not the settings', async () => {
    const { workspaceId, owner } = await ownWorkspace();
    const member = await addUser(workspaceId, owner, 'member');
    const memberSession = await logIn(member.email);
    const model = {
      id: 'engagement',
      name: 'Engagement',
      rules: [{ kind: 'event', id: 'pricing', event: 'Page Viewed', points: 5 }],
    };
    const saved = await call(
      `/api/workspaces/${workspaceId}/settings`,
      send(
        'PUT',
        {
          scoring: { models: [model] },
          lifecycle: {},
          handOff: {
            stage: 'mql',
            owners: [{ id: 'marco', name: 'Marco', email: 'marco@example.com' }],
            acceptWithin: '2d',
          },
        },
        owner,
      ),
    );
    expect(saved.status).toBe(200);

    const settings = await call(`/api/workspaces/${workspaceId}/settings`, {
      headers: { cookie: memberSession },
    });
    expect(settings.status).toBe(403);
    const definitions = await call(`/api/workspaces/${workspaceId}/scoring/definitions`, {
      headers: { cookie: memberSession },
    });
    expect(definitions.status).toBe(200);
    expect(await definitions.json()).toMatchObject({
      models: [{ id: 'engagement', name: 'Engagement', rules: [{ id: 'pricing', points: 5 }] }],
      stages: ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer'],
      topics: [
        { id: 'marketing', name: 'Marketing' },
        { id: 'transactional', name: 'Transactional' },
      ],
      // Hand-offs show their owner by name; the owner's e-mail is for admins.
      owners: [{ id: 'marco', name: 'Marco' }],
    });
    expect(
      JSON.stringify(
        await (
          await call(`/api/workspaces/${workspaceId}/scoring/definitions`, {
            headers: { cookie: memberSession },
          })
        ).json(),
      ),
    ).not.toContain('marco@example.com');
    // Someone of another workspace reads nothing of this one, not even that it exists.
    const stranger = (await ownWorkspace()).owner;
    const refused = await call(`/api/workspaces/${workspaceId}/scoring/definitions`, {
      headers: { cookie: stranger },
    });
    expect(refused.status).toBe(404);
  });

  it('lets an admin manage members and admins but not owners, and a member nothing', async () => {
    const { workspaceId, owner } = await ownWorkspace();
    const admin = await addUser(workspaceId, owner, 'admin');
    const member = await addUser(workspaceId, owner, 'member');
    const [self] = await members(workspaceId, owner);
    if (!self) throw new Error('the workspace has no owner');
    const adminSession = await logIn(admin.email);
    const memberSession = await logIn(member.email);

    expect((await setRole(workspaceId, member.id, 'admin', adminSession)).status).toBe(200);
    expect((await setRole(workspaceId, member.id, 'member', adminSession)).status).toBe(200);
    const grant = await setRole(workspaceId, member.id, 'owner', adminSession);
    expect(grant.status).toBe(403);
    expect(await grant.json()).toMatchObject({ error: { code: 'forbidden', message: /only an owner/ } });
    expect((await setRole(workspaceId, self.id, 'member', adminSession)).status).toBe(403);
    expect((await remove(workspaceId, self.id, adminSession)).status).toBe(403);

    expect(
      (await call(`/api/workspaces/${workspaceId}/users`, { headers: { cookie: memberSession } })).status,
    ).toBe(403);
    expect((await setRole(workspaceId, member.id, 'admin', memberSession)).status).toBe(403);
    expect((await remove(workspaceId, admin.id, memberSession)).status).toBe(403);
    expect((await setRole(workspaceId, 'usr_missing', 'admin', owner)).status).toBe(404);
    const badRole = await setRole(workspaceId, member.id, 'king' as Role, owner);
    expect(badRole.status).toBe(400);
    expect(await badRole.json()).toMatchObject({ error: { field: 'role' } });
  });

  it('lets the secret key of the workspace manage its users, but not its owners', async () => {
    const headers = { authorization: `Bearer ${world.secretKey}`, 'content-type': 'application/json' };
    const created = await call(`/api/workspaces/${world.workspaceId}/users`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ email: uniqueEmail('keyed'), password, role: 'member' }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as MemberJson;
    const listed = await call(`/api/workspaces/${world.workspaceId}/users`, { headers });
    expect(((await listed.json()) as { items: MemberJson[] }).items).toContainEqual(
      expect.objectContaining({ id, role: 'member' }),
    );
    const promote = (role: Role) =>
      call(`/api/workspaces/${world.workspaceId}/users/${id}`, {
        method: 'PATCH',
        headers,
        body: JSON.stringify({ role }),
      });
    expect((await promote('admin')).status).toBe(200);
    // An admin mints keys: a key making its admin owner, or removing an owner, would make every admin one.
    const crowned = await promote('owner');
    expect(crowned.status).toBe(403);
    expect(await crowned.json()).toMatchObject({ error: { field: 'role', message: /API key cannot/ } });
    const asOwner = await call(`/api/workspaces/${world.workspaceId}/users`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ email: uniqueEmail('crowned'), password, role: 'owner' }),
    });
    expect(asOwner.status).toBe(403);
    const owners = (
      (await (await call(`/api/workspaces/${world.workspaceId}/users`, { headers })).json()) as {
        items: MemberJson[];
      }
    ).items.filter((member) => member.role === 'owner');
    for (const owner of owners) {
      const ousted = await call(`/api/workspaces/${world.workspaceId}/users/${owner.id}`, {
        method: 'DELETE',
        headers: { authorization: headers.authorization },
      });
      expect(ousted.status).toBe(403);
    }
    const removed = await call(`/api/workspaces/${world.workspaceId}/users/${id}`, {
      method: 'DELETE',
      headers: { authorization: headers.authorization },
    });
    expect(removed.status).toBe(204);
  });

  describe('changing one’s own password', () => {
    const change = (body: unknown, cookie: string) => call('/api/auth/password', send('POST', body, cookie));
    /** A member of the test workspace with the shared password; answers their e-mail. */
    const newMember = async (who: string) => {
      const email = uniqueEmail(who);
      await createUser(world.mops.storage, systemClock, {
        email,
        password,
        workspaceId: world.workspaceId,
        role: 'member',
      });
      return email;
    };

    it('checks the current password and the new one, then logs in only with the new one', async () => {
      const email = await newMember('changer');
      const session = await logIn(email);
      const elsewhere = await logIn(email);
      const newPassword = 'a much longer passphrase';

      const wrong = await change({ currentPassword: 'not the password', newPassword }, session);
      expect(wrong.status).toBe(400);
      expect(await wrong.json()).toEqual({
        error: {
          code: 'invalid_input',
          field: 'currentPassword',
          message: 'the current password is wrong',
          issue: { code: 'refused', reason: 'wrong_current_password' },
        },
      });
      const short = await change({ currentPassword: password, newPassword: 'short' }, session);
      expect(short.status).toBe(400);
      expect(await short.json()).toMatchObject({ error: { field: 'newPassword' } });
      const same = await change({ currentPassword: password, newPassword: password }, session);
      expect(same.status).toBe(400);
      expect(await same.json()).toMatchObject({ error: { field: 'newPassword', message: /must differ/ } });

      expect((await change({ currentPassword: password, newPassword }, session)).status).toBe(204);
      // The session that changed it goes on; the others end.
      expect((await call('/api/auth/me', { headers: { cookie: session } })).status).toBe(200);
      expect((await call('/api/auth/me', { headers: { cookie: elsewhere } })).status).toBe(401);
      expect((await call('/api/auth/login', send('POST', { email, password }, ''))).status).toBe(401);
      await logIn(email, newPassword);
    });

    it('ends every session of a user whose password an operator resets', async () => {
      const email = await newMember('reset');
      const session = await logIn(email);
      expect((await call('/api/auth/me', { headers: { cookie: session } })).status).toBe(200);
      const generated = await resetPassword(world.mops.storage, email);
      expect((await call('/api/auth/me', { headers: { cookie: session } })).status).toBe(401);
      await logIn(email, generated);
    });

    it('refuses a cookie-authenticated write whose Origin cannot be read, as cross-origin', async () => {
      const email = await newMember('origin');
      const session = await logIn(email);
      const body = { currentPassword: password, newPassword: 'a much longer passphrase' };
      const request = send('POST', body, session);
      const refused = await call('/api/auth/password', {
        ...request,
        headers: { ...request.headers, origin: 'http://[not a host' },
      });
      expect(refused.status).toBe(403);
    });

    it('needs a logged-in user, not an API key', async () => {
      const body = { currentPassword: password, newPassword: 'a much longer passphrase' };
      expect((await change(body, '')).status).toBe(401);
      const keyed = await call('/api/auth/password', {
        method: 'POST',
        headers: { authorization: `Bearer ${world.secretKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(keyed.status).toBe(403);
    });
  });
});
