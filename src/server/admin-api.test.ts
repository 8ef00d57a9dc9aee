import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../access/access.js';
import { systemClock } from '../core/clock.js';
import { BACKENDS, basicAuth, startTestWorld, type TestWorld } from '../test-support/world.js';

describe.each(BACKENDS)('admin API on %s', (backend) => {
  let world: TestWorld;
  const password = 'correct horse battery staple';

  beforeAll(async () => {
    world = await startTestWorld(backend);
    await createUser(world.mops.storage, systemClock, {
      email: 'Owner@Example.com',
      password,
      workspaceId: world.workspaceId,
      role: 'owner',
    });
  });
  afterAll(async () => {
    await world?.close();
  });

  const call = (path: string, init: RequestInit = {}) => fetch(`${world.url}${path}`, init);
  const json = (body: unknown, headers: Record<string, string> = {}) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

  async function logIn(): Promise<string> {
    const response = await call('/api/auth/login', json({ email: 'owner@example.com', password }));
    expect(response.status).toBe(200);
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/mops_session=[^;]+/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    return cookie.split(';')[0] ?? '';
  }

  it('logs in with a session cookie, shows the user, and logs out', async () => {
    const cookie = await logIn();
    const me = await call('/api/auth/me', { headers: { cookie } });
    expect(await me.json()).toEqual({ user: expect.objectContaining({ email: 'owner@example.com' }) });
    const workspaces = (await (await call('/api/workspaces', { headers: { cookie } })).json()) as {
      items: Array<{ id: string; role: string }>;
    };
    expect(workspaces.items).toEqual([expect.objectContaining({ id: world.workspaceId, role: 'owner' })]);
    expect((await call('/api/auth/logout', { method: 'POST', headers: { cookie } })).status).toBe(204);
    expect((await call('/api/auth/me', { headers: { cookie } })).status).toBe(401);
  });

  it('refuses a wrong password or an unknown user alike', async () => {
    const wrong = await call(
      '/api/auth/login',
      json({ email: 'owner@example.com', password: 'not it at all' }),
    );
    const unknown = await call('/api/auth/login', json({ email: 'nobody@example.com', password }));
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const refusal = await wrong.json();
    expect(refusal).toEqual(await unknown.json());
    // Named for the console to word: a wrong password, not a session that ended.
    expect(refusal).toMatchObject({ error: { issue: { code: 'refused', reason: 'wrong_credentials' } } });
  });

  it('answers 400 naming the field for a bad body, with what was wrong for a client to word', async () => {
    const response = await call('/api/auth/login', json({ email: 'owner@example.com' }));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: expect.objectContaining({
        code: 'invalid_input',
        field: 'password',
        issue: { code: 'required' },
      }),
    });
    const cookie = await logIn();
    const keysPath = `/api/workspaces/${world.workspaceId}/keys`;
    const refusal = async (body: unknown) =>
      ((await (await call(keysPath, json(body, { cookie }))).json()) as { error: unknown }).error;
    expect(await refusal({ kind: 'write', name: 'x'.repeat(101) })).toMatchObject({
      field: 'name',
      issue: { code: 'too_big', origin: 'string', limit: 100, inclusive: true },
    });
    expect(await refusal({ kind: 'admin', name: 'x' })).toMatchObject({
      field: 'kind',
      issue: { code: 'invalid_value', values: ['write', 'secret'] },
    });
    expect(await refusal({ kind: 'write', name: 'x', owner: 'me' })).toMatchObject({
      field: 'owner',
      issue: { code: 'unknown_field' },
    });
    // Refused whole, before any field of it is read: the body is what is wrong.
    expect(await refusal({ kind: 'write', name: 'x'.repeat(1_100_000) })).toMatchObject({
      code: 'payload_too_large',
      field: 'body',
    });
  });

  it('creates a key shown once, lists it by hint, and revokes it at once', async () => {
    const cookie = await logIn();
    const created = await call(
      `/api/workspaces/${world.workspaceId}/keys`,
      json({ kind: 'write', name: 'website' }, { cookie }),
    );
    expect(created.status).toBe(201);
    const key = (await created.json()) as { id: string; key: string; hint: string };
    expect(key.key).toMatch(/^wk_/);
    const list = (await (
      await call(`/api/workspaces/${world.workspaceId}/keys`, { headers: { cookie } })
    ).json()) as {
      items: Array<Record<string, unknown>>;
    };
    const listed = list.items.find((item) => item.id === key.id);
    expect(listed).toMatchObject({ name: 'website', hint: key.hint, revokedAt: null });
    expect(JSON.stringify(list)).not.toContain(key.key);

    const send = () =>
      call('/v1/track', json({ userId: 'u', event: 'E' }, { authorization: basicAuth(key.key) }));
    expect((await send()).status).toBe(200);
    expect(
      (
        await call(`/api/workspaces/${world.workspaceId}/keys/${key.id}`, {
          method: 'DELETE',
          headers: { cookie },
        })
      ).status,
    ).toBe(204);
    expect((await send()).status).toBe(401);
    expect(
      (
        await call(`/api/workspaces/${world.workspaceId}/keys/key_missing`, {
          method: 'DELETE',
          headers: { cookie },
        })
      ).status,
    ).toBe(404);
  });

  it('names who created and who revoked each key: a user logged in, a secret key, or the command line', async () => {
    const cookie = await logIn();
    const keysPath = `/api/workspaces/${world.workspaceId}/keys`;
    const bySecretKey = { authorization: `Bearer ${world.secretKey}` };
    const byUser = (await (
      await call(keysPath, json({ kind: 'write', name: 'shop' }, { cookie }))
    ).json()) as {
      id: string;
      createdBy: unknown;
    };
    const byKeyResponse = await call(keysPath, json({ kind: 'secret', name: 'crm sync' }, bySecretKey));
    expect(byKeyResponse.status).toBe(201);
    const byKey = (await byKeyResponse.json()) as { id: string; createdBy: unknown };
    const secretKeyId = (await world.mops.storage.access.listApiKeys(world.workspaceId)).find(
      (key) => key.kind === 'secret' && key.createdBy === null,
    )?.id;
    const owner = {
      kind: 'user',
      id: expect.stringMatching(/^usr_/),
      name: null,
      email: 'owner@example.com',
    };
    const secretKey = { kind: 'key', id: secretKeyId, name: 'test', email: null };
    expect(byUser.createdBy).toEqual(owner);
    expect(byKey.createdBy).toEqual(secretKey);

    expect((await call(`${keysPath}/${byUser.id}`, { method: 'DELETE', headers: bySecretKey })).status).toBe(
      204,
    );
    expect((await call(`${keysPath}/${byKey.id}`, { method: 'DELETE', headers: { cookie } })).status).toBe(
      204,
    );
    // Revoking it again changes nothing: the first revocation is the one kept.
    expect((await call(`${keysPath}/${byUser.id}`, { method: 'DELETE', headers: { cookie } })).status).toBe(
      204,
    );

    const list = (await (await call(keysPath, { headers: { cookie } })).json()) as {
      items: Array<{ id: string; createdBy: unknown; revokedBy: unknown }>;
    };
    const listed = (id: string | undefined) => list.items.find((item) => item.id === id);
    expect(listed(byUser.id)).toMatchObject({ createdBy: owner, revokedBy: secretKey });
    expect(listed(byKey.id)).toMatchObject({ createdBy: secretKey, revokedBy: owner });
    // The test world's keys were made as `mops keys create` makes them.
    expect(listed(secretKeyId)).toMatchObject({ createdBy: null, revokedBy: null });
  });

  it('revokes with a secret key the keys it created, so a leaked key does not live on in them', async () => {
    const cookie = await logIn();
    const keysPath = `/api/workspaces/${world.workspaceId}/keys`;
    const create = async (kind: string, headers: Record<string, string>) =>
      (await (await call(keysPath, json({ kind, name: `made ${kind}` }, headers))).json()) as {
        id: string;
        key: string;
      };
    const leaked = await create('secret', { cookie });
    const made = await create('secret', { authorization: `Bearer ${leaked.key}` });
    const madeByMade = await create('write', { authorization: `Bearer ${made.key}` });
    const unrelated = await create('write', { cookie });
    const profilesBy = async (key: string) =>
      (
        await call(`/api/workspaces/${world.workspaceId}/profiles`, {
          headers: { authorization: `Bearer ${key}` },
        })
      ).status;
    const ingestBy = async (key: string) =>
      (
        await call(
          '/v1/track',
          json({ userId: 'u-keys', event: 'Key Checked' }, { authorization: basicAuth(key) }),
        )
      ).status;
    expect(await profilesBy(made.key)).toBe(200);
    expect(await ingestBy(madeByMade.key)).toBe(200);

    expect((await call(`${keysPath}/${leaked.id}`, { method: 'DELETE', headers: { cookie } })).status).toBe(
      204,
    );
    expect(await profilesBy(made.key)).toBe(401);
    expect(await ingestBy(madeByMade.key)).toBe(401);
    expect(await ingestBy(unrelated.key)).toBe(200);
    const list = (await (await call(keysPath, { headers: { cookie } })).json()) as {
      items: Array<{ id: string; revokedAt: string | null; revokedBy: { kind: string } | null }>;
    };
    const revokedBy = (id: string) => list.items.find((item) => item.id === id)?.revokedBy?.kind ?? null;
    expect([leaked.id, made.id, madeByMade.id, unrelated.id].map(revokedBy)).toEqual([
      'user',
      'user',
      'user',
      null,
    ]);
  });

  it('lets a write key read nothing', async () => {
    const response = await call(`/api/workspaces/${world.workspaceId}/profiles`, {
      headers: { authorization: `Bearer ${world.writeKey}` },
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
      /write keys can only send events/,
    );
  });

  it('keeps a secret key to its own workspace and needs a key or a session', async () => {
    const other = await call('/api/workspaces/ws_someone_else/profiles', {
      headers: { authorization: `Bearer ${world.secretKey}` },
    });
    expect(other.status).toBe(404);
    expect((await call(`/api/workspaces/${world.workspaceId}/profiles`)).status).toBe(401);
    expect(
      (
        await call(`/api/workspaces/${world.workspaceId}/profiles`, {
          headers: { authorization: 'Bearer sk_forged' },
        })
      ).status,
    ).toBe(401);
  });

  it('refuses a caller without a key or session before reading the body, on every route that needs one', async () => {
    const openapi = (await (await call('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    // The document's own word: an operation without security of its own takes a secret key or a session.
    const guarded = Object.entries(openapi.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => operation.security === undefined)
        .map(([method]) => ({
          method: method.toUpperCase(),
          path: path.replace(/\{(\w+)\}/g, (_, name) => (name === 'workspaceId' ? world.workspaceId : 'x1')),
        })),
    );
    expect(guarded.length).toBeGreaterThan(50);
    const keysBefore = await call(`/api/workspaces/${world.workspaceId}/keys`, {
      headers: { authorization: `Bearer ${world.secretKey}` },
    });
    // Nesting far past what a recursive walk takes: refused without being walked at all.
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const bodies = ['{"malformed', '{"kind":"secret","name":"anonymous","unexpected":true}', deep];
    for (const { method, path } of guarded)
      for (const credentials of [{}, { cookie: 'mops_session=forged' }] as Array<Record<string, string>>)
        for (const body of method === 'GET' ? [undefined] : bodies) {
          // A query no route takes, too: a NUL, a limit out of range.
          const response = await call(`${path}?limit=-1&cursor=%00`, {
            method,
            headers: { 'content-type': 'application/json', ...credentials },
            ...(body === undefined ? {} : { body }),
          });
          expect({ method, path, status: response.status }).toEqual({ method, path, status: 401 });
        }
    const keysAfter = await call(`/api/workspaces/${world.workspaceId}/keys`, {
      headers: { authorization: `Bearer ${world.secretKey}` },
    });
    // No key made or revoked. (Last use is this test's own calls with its key: recorded once a
    // minute, it moves when the run is slow.)
    const keys = async (response: Response) =>
      ((await response.json()) as { items: Array<{ lastUsedAt: string | null }> }).items.map(
        ({ lastUsedAt: _used, ...key }) => key,
      );
    expect(await keys(keysAfter)).toEqual(await keys(keysBefore));
  });

  it('refuses cross-site writes made with the session cookie', async () => {
    const cookie = await logIn();
    const response = await call(
      `/api/workspaces/${world.workspaceId}/keys`,
      json({ kind: 'write', name: 'csrf' }, { cookie, origin: 'https://evil.example' }),
    );
    expect(response.status).toBe(403);
    // Same-site is not same-origin (a sibling subdomain), and a browser hides the origin of a form
    // sent through a redirect from another one.
    for (const headers of [{ 'sec-fetch-site': 'same-site' }, { origin: 'null' }] as Array<
      Record<string, string>
    >) {
      const refused = await call(
        `/api/workspaces/${world.workspaceId}/keys`,
        json({ kind: 'write', name: 'csrf' }, { cookie, ...headers }),
      );
      expect({ headers, status: refused.status }).toEqual({ headers, status: 403 });
    }
    const keys = await call(`/api/workspaces/${world.workspaceId}/keys`, { headers: { cookie } });
    expect(JSON.stringify(await keys.json())).not.toContain('csrf');
  });

  it('lets a member read but not manage keys', async () => {
    await createUser(world.mops.storage, systemClock, {
      email: 'member@example.com',
      password,
      workspaceId: world.workspaceId,
      role: 'member',
    });
    const login = await call('/api/auth/login', json({ email: 'member@example.com', password }));
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(
      (await call(`/api/workspaces/${world.workspaceId}/profiles`, { headers: { cookie } })).status,
    ).toBe(200);
    expect((await call(`/api/workspaces/${world.workspaceId}/keys`, { headers: { cookie } })).status).toBe(
      403,
    );
  });

  it('serves health, Prometheus metrics with ingest counters, and the OpenAPI document', async () => {
    const health = await call('/healthz');
    expect(await health.json()).toEqual({ status: 'ok', database: backend, logThread: 'running' });
    expect(health.headers.get('x-frame-options')).toBe('DENY');
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');

    await call(
      '/v1/batch',
      json(
        { batch: [{ type: 'track', userId: 'm', event: 'Metered' }] },
        { authorization: basicAuth(world.writeKey) },
      ),
    );
    const metrics = await (await call('/metrics')).text();
    expect(metrics).toMatch(/mops_ingest_events_total\{outcome="stored"\} [1-9]/);
    expect(metrics).toMatch(/mops_ingest_duration_seconds_bucket/);
    expect(metrics).toMatch(
      /mops_http_request_duration_seconds_count\{method="POST",route="\/v1\/batch",status="200"\}/,
    );
    expect(metrics).toMatch(/mops_pipeline_lag_events\{consumer="profiles"\} \d+/);
    expect(metrics).toMatch(/mops_pipeline_lag_events\{consumer="journeys"\} \d+/);

    const openapi = (await (await call('/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/v1/batch',
        '/v1/track',
        '/api/workspaces/{workspaceId}/profiles',
        '/api/auth/login',
        '/api/workspaces/{workspaceId}/segments',
        '/api/workspaces/{workspaceId}/scoring/models/{model}/distribution',
        '/api/workspaces/{workspaceId}/webhooks/dead-letters',
        '/v1/sms/inbound/{workspaceId}',
      ]),
    );
    expect(JSON.stringify(openapi.paths['/v1/batch'])).toContain('"maxItems":2500');
  });

  it('describes segment rules, settings and the SMS webhook in the OpenAPI document, not as "anything"', async () => {
    type Schema = Record<string, unknown>;
    const openapi = (await (await call('/openapi.json')).json()) as {
      paths: Record<string, Record<string, Schema>>;
      components: { schemas: Record<string, Schema> };
    };
    // A valid OpenAPI 3.1 document, every $ref resolving.
    await expect(SwaggerParser.validate(structuredClone(openapi) as never)).resolves.toBeTruthy();
    const operation = (path: string, method: string) => {
      const found = openapi.paths[path]?.[method];
      if (!found) throw new Error(`the document has no ${method} ${path}`);
      return found as {
        requestBody: { content: Record<string, unknown> };
        responses: Record<string, unknown>;
      };
    };
    const jsonBody = (path: string, method: string) =>
      JSON.stringify(operation(path, method).requestBody.content);
    const answer = (path: string, method: string) => JSON.stringify(operation(path, method).responses['200']);

    expect(jsonBody('/api/workspaces/{workspaceId}/segments', 'post')).toContain(
      '"$ref":"#/components/schemas/SegmentRuleInput"',
    );
    // all/any/not of rules, and every kind of condition.
    const rule = JSON.stringify(openapi.components.schemas.SegmentRuleInput);
    for (const part of ['"all"', '"any"', '"not"', '"event_time"', '"lifecycle"', '"subscription"'])
      expect(rule).toContain(part);

    // Every schema a path refers to is in the document.
    for (const [, name] of JSON.stringify(openapi).matchAll(/"#\/components\/schemas\/(\w+)"/g))
      expect(openapi.components.schemas).toHaveProperty([name as string]);

    const settingsBody = jsonBody('/api/workspaces/{workspaceId}/settings', 'put');
    for (const part of ['"timezone"', '"quietHours"', '"frequencyCaps"', '"password"'])
      expect(settingsBody).toContain(part);
    const settings = JSON.stringify(openapi.components.schemas.SettingsView);
    expect(settings).toContain('"hasPassword"');
    expect(settings).not.toContain('"password"');
    expect(answer('/api/workspaces/{workspaceId}/settings', 'get')).toContain('SettingsView');

    expect(jsonBody('/v1/sms/inbound/{workspaceId}', 'post')).toContain('application/x-www-form-urlencoded');
    expect(answer('/v1/sms/inbound/{workspaceId}', 'post')).toContain('text/xml');

    // A body that may be left out is not required; one that may not, is.
    const isRequired = (path: string) =>
      (operation(path, 'post').requestBody as { required?: boolean }).required === true;
    expect(isRequired('/api/workspaces/{workspaceId}/webhooks/dead-letters/redrive')).toBe(false);
    expect(isRequired('/api/workspaces/{workspaceId}/segments')).toBe(true);
    expect(
      Object.keys(operation('/api/workspaces/{workspaceId}/segments/{segmentId}/members', 'post').responses),
    ).toEqual(expect.arrayContaining(['400', '415', '503']));
    // A file too large is a 400 (payload_too_large), as every size limit of the API answers.
    expect(
      Object.keys(operation('/api/workspaces/{workspaceId}/segments/{segmentId}/members', 'post').responses),
    ).not.toContain('413');
  });

  it('answers a malformed or too long URL path in the API’s error shape', async () => {
    const response = await call(`/api/workspaces/%E0%A4%A/segments`, {
      headers: { authorization: `Bearer ${world.secretKey}` },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: 'invalid_input', message: expect.stringContaining('percent-escape'), field: 'url' },
    });
    const tooLong = await call(`/api/workspaces/${'w'.repeat(5000)}/segments`, {
      headers: { authorization: `Bearer ${world.secretKey}` },
    });
    expect(tooLong.status).toBe(414);
    expect(await tooLong.json()).toEqual({
      error: { code: 'invalid_input', message: expect.stringContaining('too long'), field: 'url' },
    });
  });
});

describe('metrics behind a token', () => {
  const TOKEN = 'metrics-token-0123456789';
  let world: TestWorld;

  beforeAll(async () => {
    world = await startTestWorld('sqlite', { env: { MOPS_METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('serves /metrics only to the bearer of MOPS_METRICS_TOKEN', async () => {
    const scrape = (authorization?: string) =>
      fetch(`${world.url}/metrics`, authorization ? { headers: { authorization } } : {});
    expect((await scrape()).status).toBe(401);
    expect((await scrape(`Bearer ${TOKEN.slice(0, -1)}x`)).status).toBe(401);
    expect((await scrape(`Bearer ${TOKEN}extra`)).status).toBe(401);
    const allowed = await scrape(`Bearer ${TOKEN}`);
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toMatch(/mops_ingest_events_total/);
  });
});
