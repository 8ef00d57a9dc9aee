import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createUser } from '../access/access.js';
import { SIGNATURE_HEADER, verifySignature } from '../channels/webhook/webhook-signature.js';
import { systemClock } from '../core/clock.js';
import {
  type ApiError,
  apiClient,
  type MailWorld,
  type MessageJson,
  startMailWorld,
} from '../test-support/api-client.js';
import { BACKENDS, eventually, startTestWorld, type TestWorld } from '../test-support/world.js';

const MEMBER_PASSWORD = 'correct horse battery staple';

/** Webhook destinations in the settings, publishing against them, and the dead-letter list, over HTTP. */
describe.each(BACKENDS)('webhook API on %s', (backend) => {
  let mailWorld: MailWorld;
  let receiver: Server;
  let port = 0;
  const bodies: string[] = [];
  const authorizations: Array<string | undefined> = [];
  const callHeaders: IncomingHttpHeaders[] = [];
  /** What the receiver answers next; 422 until a test says otherwise. */
  let answer = 422;
  const { api, metric, newProfile, publish, enrol } = apiClient(() => mailWorld);

  beforeAll(async () => {
    mailWorld = await startMailWorld(backend);
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        bodies.push(body);
        authorizations.push(request.headers.authorization);
        callHeaders.push(request.headers);
        response
          .writeHead(answer, { 'content-type': 'application/json' })
          .end('{"error":"owner is required"}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as { port: number }).port;
  });

  afterAll(async () => {
    receiver?.closeAllConnections();
    receiver?.close();
    await mailWorld?.close();
  });

  const settingsWith = (webhooks: Record<string, unknown>) => ({
    smtp: { host: '127.0.0.1', port: mailWorld.sink.port, from: 'Shop <shop@example.com>' },
    frequencyCaps: { email: [] },
    webhooks,
  });
  /** Saves these destinations beside those stored under other ids (journeys published before call them). */
  const putDestinations = async (destinations: Array<{ id: string; url: string }>) => {
    const { webhooks } = (
      await api<{ webhooks: { destinations: Array<{ id: string }> } }>('GET', '/settings')
    ).body;
    const ids = new Set(destinations.map((destination) => destination.id));
    return api(
      'PUT',
      '/settings',
      settingsWith({
        destinations: [
          ...webhooks.destinations.filter((destination) => !ids.has(destination.id)),
          ...destinations,
        ],
        allowPrivateNetworks: true,
      }),
    );
  };

  it('refuses settings with a destination named twice, naming the field, and keeps the stored ones', async () => {
    const refused = await api<ApiError>(
      'PUT',
      '/settings',
      settingsWith({
        destinations: [
          { id: 'crm', url: 'https://crm.example.com/a' },
          { id: 'crm', url: 'https://crm.example.com/b' },
        ],
      }),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error.field).toBe('webhooks.destinations.1.id');
    const stored = await api<{ webhooks: { destinations: unknown[] } }>('GET', '/settings');
    expect(stored.body.webhooks.destinations).toEqual([]);
  });

  it('refuses a destination URL holding credentials and header values HTTP cannot carry, naming the field', async () => {
    const withCredentials = await api<ApiError>(
      'PUT',
      '/settings',
      settingsWith({ destinations: [{ id: 'crm', url: 'https://user:pa55@crm.example.com/hooks' }] }),
    );
    expect(withCredentials.status).toBe(400);
    expect(withCredentials.body.error).toMatchObject({ field: 'webhooks.destinations.0.url' });
    expect(withCredentials.body.error.message).toMatch(/user name or password/);
    // What is no URL at all is refused as such, not failed on by the check for credentials.
    for (const url of ['crm.example.com', 'x'.repeat(3000)]) {
      const notUrl = await api<ApiError>(
        'PUT',
        '/settings',
        settingsWith({ destinations: [{ id: 'crm', url }] }),
      );
      expect({ url: url.slice(0, 20), status: notUrl.status }).toEqual({
        url: url.slice(0, 20),
        status: 400,
      });
      expect(notUrl.body.error.field).toBe('webhooks.destinations.0.url');
    }
    // A key pasted with its line break would make every call fail, to be retried for an hour.
    const lineBreak = await api<ApiError>(
      'PUT',
      '/settings',
      settingsWith({
        destinations: [
          { id: 'crm', url: 'https://crm.example.com/hooks', headers: { 'X-Api-Key': 'key-1\n' } },
        ],
      }),
    );
    expect(lineBreak.status).toBe(400);
    expect(lineBreak.body.error.field).toBe('webhooks.destinations.0.headers.X-Api-Key');
    const stored = await api<{ webhooks: { destinations: unknown[] } }>('GET', '/settings');
    expect(stored.body.webhooks.destinations).toEqual([]);
  });

  it('shows no secret, refuses a journey calling an unknown destination, and re-drives dead letters', async () => {
    const saved = await api<{ webhooks: { destinations: unknown[] } }>(
      'PUT',
      '/settings',
      settingsWith({
        destinations: [
          {
            id: 'crm',
            url: `http://127.0.0.1:${port}/hooks`,
            secret: 'sixteen-chars-secret',
            headers: { Authorization: 'Bearer t0ken' },
          },
        ],
        allowPrivateNetworks: true,
      }),
    );
    expect(saved.status).toBe(200);
    expect(saved.body.webhooks.destinations).toEqual([
      { id: 'crm', url: `http://127.0.0.1:${port}/hooks`, hasSecret: true, headerNames: ['Authorization'] },
    ]);
    expect(JSON.stringify(saved.body)).not.toMatch(/sixteen-chars-secret|t0ken/);
    // What the API shows can be saved back as it is, keeping the secrets it does not show.
    const shown = await api<Record<string, unknown>>('GET', '/settings');
    const resaved = await api<Record<string, unknown>>('PUT', '/settings', shown.body);
    expect(resaved.status).toBe(200);
    expect(resaved.body).toEqual(shown.body);

    const handOff = (destination: string) => ({
      name: `Hand-off to ${destination} ${Math.random()}`,
      entry: { trigger: { type: 'manual' } },
      start: 'call',
      steps: [
        {
          id: 'call',
          type: 'webhook',
          destination,
          path: '/leads',
          body: '{"id": {{ profile.id | json }}}',
          next: 'done',
        },
        { id: 'done', type: 'exit' },
      ],
    });
    const draft = await api<{ id: string }>('POST', '/journeys', { definition: handOff('billing') });
    const refused = await api<ApiError>('POST', `/journeys/${draft.body.id}/publish`);
    expect(refused.status).toBe(400);
    expect(refused.body.error.field).toBe('draft.steps.0.destination');

    const journeyId = await publish(handOff('crm'));
    const deadLettersBefore = await metric('mops_failed_messages{channel="webhook"}');
    const ada = await newProfile();
    expect((await enrol(journeyId, { profileId: ada.id })).status).toBe(201);
    const deadLetter = await eventually(async () => {
      const page = await api<{ items: MessageJson[] }>('GET', '/webhooks/dead-letters');
      const found = page.body.items.find((message) => message.journeyId === journeyId);
      if (!found) throw new Error('not dead-lettered yet');
      return found;
    });
    expect(deadLetter).toMatchObject({
      status: 'failed',
      reason: `HTTP 422 from 127.0.0.1:${port}: {"error":"owner is required"}`,
    });
    expect(bodies.map((body) => JSON.parse(body))).toEqual([{ id: ada.id }]);
    // An operator alerts on dead letters from the metrics.
    expect(await metric('mops_failed_messages{channel="webhook"}')).toBe(deadLettersBefore + 1);

    // A misspelt key is refused, not dropped: without `ids` the re-drive would call every dead letter.
    const misspelt = await api<ApiError>('POST', '/webhooks/dead-letters/redrive', { id: [deadLetter.id] });
    expect(misspelt.status).toBe(400);
    expect(misspelt.body.error).toMatchObject({ field: 'id', message: 'id: is not a known field' });
    expect((await api<{ items: MessageJson[] }>('GET', '/webhooks/dead-letters')).body.items).toHaveLength(1);

    answer = 200;
    const redriven = await api<{ requeued: string[] }>('POST', '/webhooks/dead-letters/redrive', {
      ids: [deadLetter.id, 'msg_nope'],
    });
    expect(redriven.body).toEqual({
      requeued: [deadLetter.id],
      notDeadLettered: ['msg_nope'],
      ofArchivedJourneys: [],
    });
    const delivered = await eventually(async () => {
      const page = await api<{ items: MessageJson[] }>('GET', `/messages?journeyId=${journeyId}`);
      return page.body.items.find((message) => message.status === 'sent');
    });
    expect(delivered.id).toBe(deadLetter.id);
    expect((await api<{ items: MessageJson[] }>('GET', '/webhooks/dead-letters')).body.items).toEqual([]);
    expect(await metric('mops_failed_messages{channel="webhook"}')).toBe(deadLettersBefore);
    expect(bodies).toHaveLength(2);
    expect(authorizations).toEqual(['Bearer t0ken', 'Bearer t0ken']);
    const again = await api<{ requeued: string[] }>('POST', '/webhooks/dead-letters/redrive', {});
    expect(again.body).toEqual({ requeued: [], notDeadLettered: [], ofArchivedJourneys: [] });
    // No body at all: every dead letter, as with an empty one.
    const bare = await api<{ requeued: string[] }>('POST', '/webhooks/dead-letters/redrive');
    expect(bare).toEqual({
      status: 200,
      body: { requeued: [], notDeadLettered: [], ofArchivedJourneys: [] },
    });
    // Nor with a JSON content type and no body, as many clients send a POST that takes none.
    const { world } = mailWorld;
    const post = (rest: string, body?: string) =>
      fetch(`${world.url}/api/workspaces/${world.workspaceId}${rest}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${world.secretKey}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body }),
      });
    const empty = await post('/webhooks/dead-letters/redrive');
    expect({ status: empty.status, body: await empty.json() }).toEqual({
      status: 200,
      body: { requeued: [], notDeadLettered: [], ofArchivedJourneys: [] },
    });
    // An endpoint that needs a body still says so, and JSON poisoning is still refused.
    const needsBody = await post('/segments/preview');
    expect(needsBody.status).toBe(400);
    expect(((await needsBody.json()) as ApiError).error.field).toBe('body');
    const poisoned = await post('/webhooks/dead-letters/redrive', '{"__proto__": {"ids": ["x"]}}');
    expect(poisoned.status).toBe(400);
  });

  it('lists and re-drives the dead letters of one destination, once its receiver is mended', async () => {
    const saved = await putDestinations([
      { id: 'orders', url: `http://127.0.0.1:${port}/orders` },
      { id: 'tickets', url: `http://127.0.0.1:${port}/tickets` },
    ]);
    expect(saved.status).toBe(200);
    const calling = (destination: string) => ({
      name: `Calls ${destination} ${Math.random()}`,
      entry: { trigger: { type: 'manual' }, reentry: { policy: 'every_time' } },
      start: 'call',
      steps: [
        { id: 'call', type: 'webhook', destination, path: '/', next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    const toOrders = await publish(calling('orders'));
    const toTickets = await publish(calling('tickets'));
    const answerBefore = answer;
    onTestFinished(() => {
      answer = answerBefore;
    });
    answer = 422;
    const ada = await newProfile();
    const bob = await newProfile();
    for (const journeyId of [toOrders, toTickets])
      for (const profile of [ada, bob])
        expect((await enrol(journeyId, { profileId: profile.id })).status).toBe(201);
    const deadLettersOf = async (destination: string) =>
      (await api<{ items: MessageJson[] }>('GET', `/webhooks/dead-letters?destination=${destination}`)).body
        .items;
    const ordersFailed = await eventually(async () => {
      const [orders, tickets] = [await deadLettersOf('orders'), await deadLettersOf('tickets')];
      return orders.length === 2 && tickets.length === 2 ? orders : undefined;
    });
    expect(ordersFailed.map((message) => [message.journeyId, message.webhookDestination])).toEqual([
      [toOrders, 'orders'],
      [toOrders, 'orders'],
    ]);
    expect(await deadLettersOf('billing')).toEqual([]);

    const bothAsked = await api<ApiError>('POST', '/webhooks/dead-letters/redrive', {
      ids: [ordersFailed[0]?.id],
      destination: 'orders',
    });
    expect(bothAsked.status).toBe(400);
    expect(bothAsked.body.error).toMatchObject({ field: 'destination' });
    const badId = await api<ApiError>('GET', '/webhooks/dead-letters?destination=Orders%20Desk');
    expect(badId.status).toBe(400);
    expect(badId.body.error).toMatchObject({ field: 'destination' });
    const onTexts = await api<ApiError>('GET', '/sms/failed?destination=orders');
    expect(onTexts.status).toBe(400);

    // The orders receiver is mended; the tickets one still refuses, and its calls stay listed.
    answer = 200;
    const redriven = await api<{ requeued: string[] }>('POST', '/webhooks/dead-letters/redrive', {
      destination: 'orders',
    });
    expect(redriven.body.requeued.sort()).toEqual(ordersFailed.map((message) => message.id).sort());
    await eventually(async () => {
      const page = await api<{ items: MessageJson[] }>('GET', `/messages?journeyId=${toOrders}`);
      return page.body.items.filter((message) => message.status === 'sent').length === 2 ? true : undefined;
    });
    expect(await deadLettersOf('orders')).toEqual([]);
    expect(await deadLettersOf('tickets')).toHaveLength(2);
  });

  it("keeps a destination's own query parameters from a step's path, at publish and at send", async () => {
    // Beside the destinations journeys published before call.
    const withUrl = (url: string) => putDestinations([{ id: 'keyed', url }]);
    expect((await withUrl(`http://127.0.0.1:${port}/hooks?code=secret`)).status).toBe(200);
    const calling = (path: string) => ({
      name: `Keyed ${Math.random()}`,
      entry: { trigger: { type: 'manual' } },
      start: 'call',
      steps: [
        { id: 'call', type: 'webhook', destination: 'keyed', path, next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    const draft = await api<{ id: string }>('POST', '/journeys', { definition: calling('/leads?code=mine') });
    const refused = await api<ApiError>('POST', `/journeys/${draft.body.id}/publish`);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({
      field: 'draft.steps.0.path',
      message: 'draft.steps.0.path: its query sets code, which the destination keyed sets itself',
    });

    // A destination that takes up the parameter after the step was published: the call fails, unsent.
    expect((await withUrl(`http://127.0.0.1:${port}/hooks`)).status).toBe(200);
    const journeyId = await publish(calling('/leads?code=mine'));
    expect((await withUrl(`http://127.0.0.1:${port}/hooks?code=secret`)).status).toBe(200);
    const called = bodies.length;
    const ada = await newProfile();
    expect((await enrol(journeyId, { profileId: ada.id })).status).toBe(201);
    const failed = await eventually(async () => {
      const page = await api<{ items: MessageJson[] }>('GET', `/messages?journeyId=${journeyId}`);
      return page.body.items.find((message) => message.status === 'failed');
    });
    expect(failed.reason).toBe("the path's query sets code, which the destination's URL sets itself");
    expect(bodies).toHaveLength(called);
  });

  it("shows members a webhook call's origin only, and why it failed without the receiver's host or answer; admins all of it", async () => {
    const saved = await putDestinations([
      { id: 'slack', url: `http://127.0.0.1:${port}/services/T0/B0/t0ken-in-path?code=secret` },
    ]);
    expect(saved.status).toBe(200);
    const journeyId = await publish({
      name: `Slack ${Math.random()}`,
      entry: { trigger: { type: 'manual' } },
      start: 'call',
      steps: [
        { id: 'call', type: 'webhook', destination: 'slack', path: '/', next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    answer = 422;
    expect((await enrol(journeyId, { profileId: (await newProfile()).id })).status).toBe(201);
    const failed = await eventually(async () => {
      const page = await api<{ items: MessageJson[] }>('GET', `/messages?journeyId=${journeyId}`);
      return page.body.items.find((message) => message.status === 'failed');
    });
    expect(failed.toAddress).toBe(`http://127.0.0.1:${port}/services/T0/B0/t0ken-in-path`);

    const { world } = mailWorld;
    await createUser(world.mops.storage, systemClock, {
      email: 'webhook-member@example.com',
      password: MEMBER_PASSWORD,
      workspaceId: world.workspaceId,
      role: 'member',
    });
    const login = await fetch(`${world.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'webhook-member@example.com', password: MEMBER_PASSWORD }),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const asMember = async (path: string) => {
      const response = await fetch(`${world.url}/api/workspaces/${world.workspaceId}${path}`, {
        headers: { cookie },
      });
      expect(response.status).toBe(200);
      const page = (await response.json()) as { items: MessageJson[] };
      return page.items.find((message) => message.id === failed.id);
    };
    // Why it failed: the status, without the receiver's host or what it answered (either may hold a secret).
    for (const path of [`/messages?journeyId=${journeyId}`, '/webhooks/dead-letters'])
      expect(await asMember(path)).toMatchObject({
        toAddress: 'http://…',
        reason: 'HTTP 422 from the receiver',
      });
    const deadLetters = await api<{ items: MessageJson[] }>('GET', '/webhooks/dead-letters');
    expect(deadLetters.body.items.find((message) => message.id === failed.id)).toMatchObject({
      toAddress: failed.toAddress,
      reason: `HTTP 422 from 127.0.0.1:${port}: {"error":"owner is required"}`,
    });
    answer = 200;
  });

  it('removes a stored signing secret when sent as null, and signs no call after', async () => {
    const { webhooks } = (
      await api<{ webhooks: { destinations: Array<{ id: string }> } }>('GET', '/settings')
    ).body;
    const others = webhooks.destinations.filter((destination) => destination.id !== 'signed');
    const withSigned = (signed: Record<string, unknown>) =>
      api<SettingsJson>(
        'PUT',
        '/settings',
        settingsWith({
          destinations: [...others, { id: 'signed', url: `http://127.0.0.1:${port}/signed`, ...signed }],
          allowPrivateNetworks: true,
        }),
      );
    const signedBy = (settings: SettingsJson) =>
      settings.webhooks.destinations.find((destination) => destination.id === 'signed');
    expect(signedBy((await withSigned({ secret: 'signing-secret-0123' })).body)?.hasSecret).toBe(true);
    const journeyId = await publish({
      name: `Signed ${Math.random()}`,
      entry: { trigger: { type: 'manual' } },
      start: 'call',
      steps: [
        { id: 'call', type: 'webhook', destination: 'signed', path: '/', next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    answer = 200;
    const call = async () => {
      const before = callHeaders.length;
      expect((await enrol(journeyId, { profileId: (await newProfile()).id })).status).toBe(201);
      await eventually(async () => (callHeaders.length > before ? true : undefined));
      const headers = callHeaders[before] as IncomingHttpHeaders;
      return {
        signature: headers[SIGNATURE_HEADER] as string | undefined,
        idempotencyKey: headers['idempotency-key'] as string,
        body: bodies[before] as string,
      };
    };
    const signed = await call();
    expect(
      verifySignature({
        secret: 'signing-secret-0123',
        method: 'POST',
        target: '/signed',
        header: signed.signature,
        idempotencyKey: signed.idempotencyKey,
        body: signed.body,
        nowMs: Date.now(),
      }),
    ).toBe(true);

    // Left out, it stays; null removes it.
    expect(signedBy((await withSigned({})).body)?.hasSecret).toBe(true);
    expect(signedBy((await withSigned({ secret: null })).body)?.hasSecret).toBe(false);
    expect(signedBy((await withSigned({})).body)?.hasSecret).toBe(false);
    expect((await call()).signature).toBeUndefined();
  });

  it('sends a signed test call to a destination once and tells what it answered, recording nothing', async () => {
    const { webhooks } = (
      await api<{ webhooks: { destinations: Array<{ id: string }> } }>('GET', '/settings')
    ).body;
    const others = webhooks.destinations.filter((destination) => destination.id !== 'probe');
    const saved = await api(
      'PUT',
      '/settings',
      settingsWith({
        destinations: [
          ...others,
          {
            id: 'probe',
            url: `http://127.0.0.1:${port}/crm?key=k1`,
            secret: 'probe-secret-0123',
            headers: { authorization: 'Bearer probe-token' },
          },
        ],
        allowPrivateNetworks: true,
      }),
    );
    expect(saved.status).toBe(200);
    const deadLettersBefore = (await api<{ items: unknown[] }>('GET', '/webhooks/dead-letters?limit=100'))
      .body.items.length;
    const test = () =>
      api<{ delivered: boolean; status: number | null; reason: string | null; address: string; ms: number }>(
        'POST',
        '/webhooks/destinations/probe/test',
      );

    answer = 204;
    const before = callHeaders.length;
    const delivered = await test();
    expect(delivered.status).toBe(200);
    expect(delivered.body).toMatchObject({
      delivered: true,
      status: 204,
      reason: null,
      address: `http://127.0.0.1:${port}/crm`,
    });
    expect(callHeaders).toHaveLength(before + 1);
    const headers = callHeaders[before] as IncomingHttpHeaders;
    const body = JSON.parse(bodies[before] as string) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'mops.test', destination: 'probe', id: headers['idempotency-key'] });
    expect(authorizations[before]).toBe('Bearer probe-token');
    expect(
      verifySignature({
        secret: 'probe-secret-0123',
        method: 'POST',
        target: '/crm?key=k1',
        header: headers[SIGNATURE_HEADER] as string,
        idempotencyKey: headers['idempotency-key'] as string,
        body: bodies[before] as string,
        nowMs: Date.now(),
      }),
    ).toBe(true);

    // Refused: said why, as the dead letters would, and made once (no retries).
    answer = 422;
    const refused = await test();
    expect(refused.body).toMatchObject({ delivered: false, status: 422 });
    expect(refused.body.reason).toContain('422');
    expect(callHeaders).toHaveLength(before + 2);
    expect(
      (await api<{ items: unknown[] }>('GET', '/webhooks/dead-letters?limit=100')).body.items,
    ).toHaveLength(deadLettersBefore);
    const unknown = await api<ApiError>('POST', '/webhooks/destinations/nowhere/test');
    expect(unknown.status).toBe(404);
  });

  it("removes a destination's stored headers when saved with none (headers: {}), and its calls carry none", async () => {
    const { webhooks } = (
      await api<{ webhooks: { destinations: Array<{ id: string }> } }>('GET', '/settings')
    ).body;
    const others = webhooks.destinations.filter((destination) => destination.id !== 'keyed');
    const keyed = { id: 'keyed', url: `http://127.0.0.1:${port}/keyed` };
    const save = (destination: Record<string, unknown>) =>
      api<SettingsJson>(
        'PUT',
        '/settings',
        settingsWith({ destinations: [...others, destination], allowPrivateNetworks: true }),
      );
    const withHeaders = await save({ ...keyed, headers: { Authorization: 'Bearer keyed-token' } });
    expect(withHeaders.status).toBe(200);
    expect(withHeaders.body.webhooks.destinations.find((destination) => destination.id === 'keyed')).toEqual({
      ...keyed,
      hasSecret: false,
      headerNames: ['Authorization'],
    });

    const cleared = await save({ ...keyed, headers: {} });
    expect(cleared.status).toBe(200);
    expect(cleared.body.webhooks.destinations.find((destination) => destination.id === 'keyed')).toEqual({
      ...keyed,
      hasSecret: false,
      headerNames: [],
    });
    // Left out again, nothing comes back: there is nothing stored to keep.
    expect((await save(keyed)).body.webhooks.destinations).toContainEqual({
      ...keyed,
      hasSecret: false,
      headerNames: [],
    });
    answer = 204;
    const before = callHeaders.length;
    const tested = await api<{ delivered: boolean }>('POST', '/webhooks/destinations/keyed/test');
    expect(tested.body.delivered).toBe(true);
    expect(callHeaders).toHaveLength(before + 1);
    expect(authorizations[before]).toBeUndefined();
    answer = 422;
  });

  it('keeps a stored secret only for the address it was given for: re-pointing needs it again', async () => {
    // Destinations a journey in force calls cannot be renamed away: the journeys above are archived.
    const journeys = (await api<{ items: Array<{ id: string; status: string }> }>('GET', '/journeys')).body
      .items;
    for (const journey of journeys.filter((candidate) => candidate.status !== 'archived'))
      expect((await api('POST', `/journeys/${journey.id}/archive`)).status).toBe(200);
    const smtp = { host: '127.0.0.1', port: mailWorld.sink.port, from: 'Shop <shop@example.com>' };
    const withSecrets = {
      smtp: { ...smtp, user: 'shop', password: 'smtp-password' },
      sms: {
        baseUrl: 'https://api.twilio.com',
        accountSid: 'AC1',
        authToken: 'sms-token',
        from: '+15005550006',
      },
      frequencyCaps: { email: [] },
      webhooks: {
        destinations: [
          {
            id: 'crm',
            url: 'https://crm.example.com/hooks',
            secret: 'sixteen-chars-secret',
            headers: { 'X-Api-Key': 'k-secret' },
          },
        ],
      },
    };
    expect((await api('PUT', '/settings', withSecrets)).status).toBe(200);
    const moved = (change: (shown: typeof withSecrets) => void) => {
      const body = structuredClone(withSecrets);
      delete (body.smtp as { password?: string }).password;
      delete (body.sms as { authToken?: string }).authToken;
      const [destination] = body.webhooks.destinations as Array<{ secret?: string; headers?: unknown }>;
      delete destination?.secret;
      delete destination?.headers;
      change(body);
      return body;
    };

    // The same addresses keep what is stored.
    const samePlace = await api<SettingsJson>(
      'PUT',
      '/settings',
      moved(() => {}),
    );
    expect(samePlace.status).toBe(200);
    // A base URL written with its trailing slash is the same address.
    expect(
      (
        await api(
          'PUT',
          '/settings',
          moved((body) => {
            body.sms.baseUrl = 'https://api.twilio.com/';
          }),
        )
      ).status,
    ).toBe(200);
    expect(samePlace.body).toMatchObject({
      smtp: { hasPassword: true },
      sms: { hasAuthToken: true },
      webhooks: { destinations: [{ hasSecret: true, headerNames: ['X-Api-Key'] }] },
    });

    // Renamed, at the same URL: what was stored for that URL stays.
    const renamed = await api<SettingsJson>(
      'PUT',
      '/settings',
      moved((body) => {
        (body.webhooks.destinations[0] as { id: string }).id = 'crm-prod';
      }),
    );
    expect(renamed.status).toBe(200);
    expect(renamed.body.webhooks.destinations).toMatchObject([
      { id: 'crm-prod', hasSecret: true, headerNames: ['X-Api-Key'] },
    ]);
    expect(
      (
        await api(
          'PUT',
          '/settings',
          moved(() => {}),
        )
      ).status,
    ).toBe(200);

    // Another receiver, SMTP server or SMS provider: refused, naming the secret, and nothing stored.
    // A webhook's whole URL counts: on a shared host (hooks.zapier.com/hooks/catch/…) the path says
    // whose hook it is.
    const refusals: Array<[string, (body: typeof withSecrets) => void]> = [
      [
        'webhooks.destinations.0.secret',
        (body) => {
          (body.webhooks.destinations[0] as { url: string }).url = `http://127.0.0.1:${port}/steal`;
        },
      ],
      [
        'webhooks.destinations.0.secret',
        (body) => {
          (body.webhooks.destinations[0] as { url: string }).url =
            'https://crm.example.com/hooks/someone-else';
        },
      ],
      [
        'smtp.password',
        (body) => {
          body.smtp.host = 'smtp.elsewhere.example';
        },
      ],
      // The same server, less safely: the kept password would go out in the clear, or unchecked.
      [
        'smtp.password',
        (body) => {
          (body.smtp as { tls?: string }).tls = 'none';
        },
      ],
      [
        'smtp.password',
        (body) => {
          (body.smtp as { verifyCertificate?: boolean }).verifyCertificate = false;
        },
      ],
      [
        'sms.authToken',
        (body) => {
          body.sms.baseUrl = 'https://sms.elsewhere.example';
        },
      ],
      // The same host, another path (a gateway's tenant) or account: the token may be someone else's.
      [
        'sms.authToken',
        (body) => {
          body.sms.baseUrl = 'https://api.twilio.com/someone-else';
        },
      ],
      [
        'sms.authToken',
        (body) => {
          body.sms.accountSid = 'AC2';
        },
      ],
    ];
    for (const [field, change] of refusals) {
      const refused = await api<ApiError>('PUT', '/settings', moved(change));
      expect(refused.status).toBe(400);
      expect(refused.body.error.field).toBe(field);
    }
    const stored = await api<SettingsJson>('GET', '/settings');
    expect(stored.body.webhooks.destinations[0]?.url).toBe('https://crm.example.com/hooks');
    expect(stored.body.smtp?.host).toBe('127.0.0.1');
  });
});

interface SettingsJson {
  smtp?: { host: string; hasPassword: boolean };
  sms?: { hasAuthToken: boolean };
  webhooks: { destinations: Array<{ id: string; url: string; hasSecret: boolean; headerNames: string[] }> };
}

/** Private networks are the operator's to open: any user can create a workspace of their own. */
describe('webhook settings on a server that keeps private networks closed', () => {
  let world: TestWorld;

  beforeAll(async () => {
    world = await startTestWorld('sqlite', { env: { MOPS_ALLOW_PRIVATE_NETWORKS: 'false' } });
  });
  afterAll(async () => {
    await world?.close();
  });

  const putSettings = async (settings: Record<string, unknown>) => {
    const response = await fetch(`${world.url}/api/workspaces/${world.workspaceId}/settings`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${world.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(settings),
    });
    return { status: response.status, body: (await response.json()) as ApiError };
  };

  it('refuses a workspace that turns on calls to private networks, naming the field', async () => {
    const webhooks = {
      destinations: [{ id: 'metadata', url: 'http://169.254.169.254/latest/' }],
      allowPrivateNetworks: true,
    };
    const refused = await putSettings({ webhooks });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({
      field: 'webhooks.allowPrivateNetworks',
      message: expect.stringContaining('MOPS_ALLOW_PRIVATE_NETWORKS'),
    });
    const sms = {
      baseUrl: 'http://127.0.0.1:9/',
      accountSid: 'AC1',
      from: '+15005550006',
      allowPrivateNetworks: true,
    };
    expect((await putSettings({ sms })).body.error).toMatchObject({ field: 'sms.allowPrivateNetworks' });
    expect((await putSettings({ webhooks: { ...webhooks, allowPrivateNetworks: false } })).status).toBe(200);

    // The settings say what the server allows (the console offers no switch then), and go back as read.
    const read = await fetch(`${world.url}/api/workspaces/${world.workspaceId}/settings`, {
      headers: { authorization: `Bearer ${world.secretKey}` },
    });
    const view = (await read.json()) as Record<string, unknown>;
    expect(view.serverAllowsPrivateNetworks).toBe(false);
    expect((await putSettings(view)).status).toBe(200);
  });

  it('calls no private address in a test, though settings saved while the server allowed it say so', async () => {
    let calls = 0;
    const receiver = createServer((_request, response) => {
      calls += 1;
      response.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
    const { port } = receiver.address() as AddressInfo;
    const { storage } = world.mops;
    const stored = await storage.settings.get(world.workspaceId);
    await storage.settings.put(
      world.workspaceId,
      {
        ...stored,
        webhooks: {
          ...stored.webhooks,
          destinations: [{ id: 'loopback', url: `http://127.0.0.1:${port}/hooks` }],
          allowPrivateNetworks: true,
        },
      },
      Date.now(),
    );
    const response = await fetch(
      `${world.url}/api/workspaces/${world.workspaceId}/webhooks/destinations/loopback/test`,
      { method: 'POST', headers: { authorization: `Bearer ${world.secretKey}` } },
    );
    expect(response.status).toBe(200);
    const test = (await response.json()) as { delivered: boolean; status: number | null; reason: string };
    expect(test).toMatchObject({ delivered: false, status: null });
    expect(test.reason).toMatch(/private/);
    expect(calls).toBe(0);
  });

  it('refuses headers Mops sets itself on every call, and quiet hours that would be none', async () => {
    const withHeaders = (headers: Record<string, string>) => ({
      webhooks: { destinations: [{ id: 'crm', url: 'https://crm.example.com/hooks', headers }] },
    });
    for (const name of ['Content-Length', 'idempotency-key', 'Mops-Signature', 'Host']) {
      const refused = await putSettings(withHeaders({ Authorization: 'Bearer x', [name]: '5' }));
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({
        field: `webhooks.destinations.0.headers.${name}`,
        message: expect.stringContaining(`Mops sets ${name} on every call itself`),
      });
    }
    expect((await putSettings(withHeaders({ Authorization: 'Bearer x', 'X-Api-Key': 'k' }))).status).toBe(
      200,
    );

    const never = await putSettings({ quietHours: { start: '08:00', end: '08:00' } });
    expect(never.status).toBe(400);
    expect(never.body.error.field).toBe('quietHours.end');
    expect((await putSettings({ quietHours: { start: '21:00', end: '08:00' } })).status).toBe(200);
    // Stored by an older version, they are kept as they are when another part of the settings is saved.
    const { storage } = world.mops;
    const stored = await storage.settings.get(world.workspaceId);
    await storage.settings.put(
      world.workspaceId,
      { ...stored, quietHours: { start: '08:00', end: '08:00' } },
      Date.now(),
    );
    expect(
      (await putSettings({ quietHours: { start: '08:00', end: '08:00' }, timezone: 'Europe/Rome' })).status,
    ).toBe(200);
  });
});
