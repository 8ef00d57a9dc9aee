import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { Message } from '../../core/journey.js';
import { setJourneyPaused } from '../../journeys/journeys.js';
import {
  SECRET as JOURNEY_WORLD_SECRET,
  type JourneyWorld,
  startJourneyWorld,
} from '../../test-support/journey-world.js';
import { LoopbackPeer } from '../../test-support/loopback-peer.js';
import { refuseWrites } from '../../test-support/refusing-trigger.js';
import { identify, track } from '../../test-support/segment-calls.js';
import { closedPort, resolvingTo } from '../../test-support/several-addresses.js';
import { BACKENDS } from '../../test-support/world.js';
import { SecretBox, settingsView } from '../settings.js';
import { addressShownToMembers, testDestination } from './webhook-channel.js';
import { verifySignature } from './webhook-signature.js';

describe('the address members see of a webhook call', () => {
  it('is its scheme alone: a token may be in the host, the path or a query (kept by older versions)', () => {
    expect(addressShownToMembers('https://hooks.slack.com/services/T0/B0/token')).toBe('https://…');
    expect(addressShownToMembers('https://crm.example.com/?key=secret')).toBe('https://…');
    expect(addressShownToMembers('http://t0ken.hooks.example.com:8443/')).toBe('http://…');
    expect(addressShownToMembers(null)).toBeNull();
  });
});

const SECRET = 'whsec-0123456789abcdef';
/** The dispatcher reads a workspace's settings at most this often. */

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP receiver on loopback that answers with the statuses it is given, in turn. */
class Receiver extends LoopbackPeer {
  readonly received: Received[] = [];
  answers: Array<{
    status: number;
    body?: string;
    /** The body written a piece at a time, each a moment after the other, so the caller reads it so. */
    pieces?: Buffer[];
    headers?: Record<string, string>;
    takesMs?: number;
  }> = [];
  /** Moves the caller's clock on as a slow answer would (its clock is a manual one). */
  onSlowAnswer: (ms: number) => void = () => undefined;
  protected readonly server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      this.received.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body,
      });
      const answer = this.answers.shift() ?? { status: 204 };
      if (answer.takesMs) this.onSlowAnswer(answer.takesMs);
      // Status 0: no answer at all, until the caller gives up.
      if (answer.status === 0) return;
      response.writeHead(answer.status, answer.headers);
      if (!answer.pieces) {
        response.end(answer.body ?? '');
        return;
      }
      const [first, ...rest] = answer.pieces;
      response.write(first ?? '');
      if (rest.length === 0) response.end();
      else setTimeout(() => response.end(Buffer.concat(rest)), 50);
    });
  });
}

describe.each(BACKENDS)('webhook channel on %s', (backend) => {
  let world: JourneyWorld;
  let receiver: Receiver;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
    receiver = await new Receiver().start();
  });
  afterEach(async () => {
    await receiver.stop();
    await world.close();
  });

  const configure = (overrides: Record<string, unknown> = {}, destination: Record<string, unknown> = {}) =>
    world.configure({
      webhooks: {
        destinations: [
          {
            id: 'crm',
            url: `http://127.0.0.1:${receiver.port}/hooks/`,
            secret: SECRET,
            headers: { 'X-Api-Key': 'crm-key-1' },
            ...destination,
          },
        ],
        allowPrivateNetworks: true,
        ...overrides,
      },
    });

  const publishHandOff = () =>
    world.publish({
      name: 'CRM hand-off',
      entry: { trigger: { type: 'event', event: 'Demo Requested' }, reentry: { policy: 'every_time' } },
      start: 'crm',
      steps: [
        {
          id: 'crm',
          type: 'webhook',
          destination: 'crm',
          path: '/leads?source=mops',
          // Outputs inside a string are escaped as JSON string content; `| json` writes whole values.
          body: '{"email": {{ profile.traits.email | json }}, "company": {{ event.properties.company | json }}, "note": "via {{ event.properties.company }}"}',
          next: 'end',
        },
        { id: 'end', type: 'exit' },
      ],
    });

  const requestDemo = async (userId = 'w') => {
    await world.send([
      identify(userId, { email: `${userId}@example.com` }),
      track(userId, 'Demo Requested', { company: 'Acme "Inc"' }),
    ]);
    await world.settle();
  };

  /** Re-drives the dead letters at once: the dispatcher judges them by the settings just saved. */
  const redriveAfterSettingsChange = async () => {
    await world.storage.messages.requeueFailed({
      workspaceId: world.workspaceId,
      channel: 'webhook',
      now: world.clock.now(),
    });
    await world.settle();
  };

  const webhookMessages = async (): Promise<Message[]> =>
    (await world.storage.messages.list(world.workspaceId, { channel: 'webhook' }, { limit: 50 })).items;

  it("shows members the address called without the destination's key in its query", async () => {
    await configure({}, { url: `http://127.0.0.1:${receiver.port}/hooks/?code=crm-code-1` });
    await publishHandOff();
    await requestDemo();
    expect(receiver.received[0]?.url).toBe('/hooks/leads?code=crm-code-1&source=mops');
    const [message] = await webhookMessages();
    expect(message).toMatchObject({
      status: 'sent',
      toAddress: `http://127.0.0.1:${receiver.port}/hooks/leads`,
    });
  });

  it("calls the destination's own address when a step adds a query alone, without a slash after its path", async () => {
    // Receivers route /hooks and /hooks/ apart (Slack's answers 404 to the second).
    await configure({}, { url: `http://127.0.0.1:${receiver.port}/hooks` });
    await world.publish({
      name: 'Tagged hand-off',
      entry: { trigger: { type: 'event', event: 'Demo Requested' } },
      start: 'crm',
      steps: [
        { id: 'crm', type: 'webhook', destination: 'crm', path: '/?source=mops', next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await requestDemo();
    expect(receiver.received.map((call) => call.url)).toEqual(['/hooks?source=mops']);
    expect(await webhookMessages()).toMatchObject([
      { status: 'sent', toAddress: `http://127.0.0.1:${receiver.port}/hooks` },
    ]);
  });

  it('calls only the configured destination, with a signed JSON body and its headers', async () => {
    await configure();
    await publishHandOff();
    await requestDemo();

    expect(receiver.received).toHaveLength(1);
    const [call] = receiver.received;
    if (!call) throw new Error('no call');
    expect(call.method).toBe('POST');
    expect(call.url).toBe('/hooks/leads?source=mops');
    expect(JSON.parse(call.body)).toEqual({
      email: 'w@example.com',
      company: 'Acme "Inc"',
      note: 'via Acme "Inc"',
    });
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers['x-api-key']).toBe('crm-key-1');
    expect(call.headers['idempotency-key']).toMatch(/^ins_.*:crm:1$/);
    const [message] = await webhookMessages();
    expect(call.headers['mops-webhook-id']).toBe(message?.id);
    expect(message).toMatchObject({ status: 'sent', attempts: 1 });

    const signature = call.headers['mops-signature'] as string;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64},v2=[0-9a-f]{64},v3=[0-9a-f]{64}$/);
    // v1, as receivers written before v2 check it: the time and the body.
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})/.exec(signature) ?? [];
    expect(v1).toBe(createHmac('sha256', SECRET).update(`${t}.${call.body}`).digest('hex'));
    // v2, as receivers written before v3 check it: the time, the key and the body.
    const [, v2] = /,v2=([0-9a-f]{64})/.exec(signature) ?? [];
    const key = call.headers['idempotency-key'] as string;
    expect(v2).toBe(createHmac('sha256', SECRET).update(`${t}\n${key}\n${call.body}`).digest('hex'));
    const signed = {
      secret: SECRET,
      method: call.method,
      target: call.url,
      idempotencyKey: key,
      body: call.body,
      header: signature,
      nowMs: world.clock.now(),
    };
    expect(verifySignature(signed)).toBe(true);
    // Replayed to another path of the same destination, or with another method: refused.
    expect(verifySignature({ ...signed, target: '/hooks/unsubscribe?source=mops' })).toBe(false);
    expect(verifySignature({ ...signed, method: 'PUT' })).toBe(false);
    expect(verifySignature({ ...signed, body: `${call.body} ` })).toBe(false);
    expect(verifySignature({ ...signed, secret: 'another-secret-value' })).toBe(false);
    // Replayed under a new Idempotency-Key (which the receiver would not recognise as seen): refused.
    expect(verifySignature({ ...signed, idempotencyKey: `${signed.idempotencyKey}-again` })).toBe(false);
    // A signature replayed later than the tolerance (5 minutes) is refused.
    expect(verifySignature({ ...signed, nowMs: world.clock.now() + 301_000 })).toBe(false);
  });

  it('keeps secrets out of the settings the API shows, and keeps them when a save leaves them out', async () => {
    await configure();
    const view = settingsView(await world.storage.settings.get(world.workspaceId), {
      privateNetworksAllowed: true,
    });
    expect(view.webhooks.destinations).toEqual([
      {
        id: 'crm',
        url: `http://127.0.0.1:${receiver.port}/hooks/`,
        hasSecret: true,
        headerNames: ['X-Api-Key'],
      },
    ]);
    expect(JSON.stringify(await world.storage.settings.get(world.workspaceId))).not.toContain('crm-key-1');
    expect(JSON.stringify(await world.storage.settings.get(world.workspaceId))).not.toContain(SECRET);

    await configure({}, { secret: undefined, headers: undefined });
    await publishHandOff();
    await requestDemo();
    const [call] = receiver.received;
    expect(call?.headers['x-api-key']).toBe('crm-key-1');
    expect(
      verifySignature({
        secret: SECRET,
        method: call?.method ?? '',
        target: call?.url ?? '',
        idempotencyKey: call?.headers['idempotency-key'] as string,
        body: call?.body ?? '',
        header: call?.headers['mops-signature'] as string,
        nowMs: world.clock.now(),
      }),
    ).toBe(true);
  });

  it('refuses to publish a step whose destination is not configured', async () => {
    await configure();
    await expect(
      world.publish({
        name: 'Elsewhere',
        entry: { trigger: { type: 'event', event: 'Go' } },
        start: 'call',
        steps: [
          { id: 'call', type: 'webhook', destination: 'billing', next: 'end' },
          { id: 'end', type: 'exit' },
        ],
      }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'draft.steps.0.destination',
      message: expect.stringContaining('billing is not one of'),
    });
  });

  it('refuses to publish Liquid it could never render, in a webhook body or a trait value, naming the field', async () => {
    await configure();
    const withStep = (step: Record<string, unknown>) =>
      world.publish({
        name: 'Broken Liquid',
        entry: { trigger: { type: 'event', event: 'Demo Requested' } },
        start: 'step',
        steps: [
          { id: 'step', ...step, next: 'end' },
          { id: 'end', type: 'exit' },
        ],
      });
    await expect(
      withStep({
        type: 'webhook',
        destination: 'crm',
        body: '{"name": {{ profile.traits.name | upcase_all }}}',
      }),
    ).rejects.toMatchObject({ code: 'invalid_input', field: 'draft.steps.0.body' });
    // Nor a body whose own text can never be JSON, whatever its outputs write: a form, or prose.
    for (const body of ['name={{ profile.traits.name }}&plan=pro', 'not json {{ x }}', '{"a": 1} thanks', ''])
      await expect(withStep({ type: 'webhook', destination: 'crm', body })).rejects.toMatchObject({
        code: 'invalid_input',
        field: 'draft.steps.0.body',
        message: expect.stringContaining('a JSON body cannot'),
      });
    await expect(
      withStep({ type: 'update_traits', set: { plan: 'pro', note: '{% if event.properties.big %}big' } }),
    ).rejects.toMatchObject({ code: 'invalid_input', field: 'draft.steps.0.set.note' });
    expect(await world.storage.journeys.list(world.workspaceId)).toSatisfy(
      (journeys: Array<{ currentVersion: number | null }>) =>
        journeys.every((journey) => journey.currentVersion === null),
    );
  });

  it('refuses loopback and private addresses unless the workspace allows private networks', async () => {
    await configure({ allowPrivateNetworks: false }, { url: `http://[::1]:${receiver.port}/hooks` });
    await publishHandOff();
    await requestDemo('a');
    expect(receiver.received).toHaveLength(0);
    const failed = await webhookMessages();
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(failed[0]?.reason).toMatch(/private or reserved address/);

    // By literal address, and by name (checked on the address dialled).
    for (const host of ['127.0.0.1', 'localhost']) {
      await configure({ allowPrivateNetworks: false }, { url: `http://${host}:${receiver.port}/hooks` });
      await redriveAfterSettingsChange();
      expect(receiver.received).toHaveLength(0);
      expect((await webhookMessages())[0]?.reason).toMatch(
        new RegExp(`^${host} resolves to (127\\.0\\.0\\.1|::1), a private or reserved address`),
      );
    }

    // Allowed, the same dead letter re-driven goes through.
    await configure({ allowPrivateNetworks: true });
    await redriveAfterSettingsChange();
    expect(receiver.received).toHaveLength(1);
    expect((await webhookMessages())[0]).toMatchObject({ status: 'sent' });
  });

  it('calls no private address from a server whose operator does not allow it, whatever the settings stored say', async () => {
    // Saved while the server allowed private networks; the server has been restarted without.
    await configure();
    await publishHandOff();
    await world.send([identify('op', { email: 'op@example.com' }), track('op', 'Demo Requested')]);
    await world.background.pipeline.drain();
    const restricted = world.dispatcher({ allowPrivateNetworks: false });
    expect(await restricted.runOnce()).toBe(1);
    expect(receiver.received).toHaveLength(0);
    expect((await webhookMessages())[0]).toMatchObject({ status: 'failed' });
    expect((await webhookMessages())[0]?.reason).toMatch(/private or reserved address/);

    // The same settings on a server that allows it: the call goes.
    await redriveAfterSettingsChange();
    expect(receiver.received).toHaveLength(1);
  });

  it('retries server errors with back-off and honours Retry-After, then delivers', async () => {
    await configure();
    await publishHandOff();
    receiver.answers = [
      { status: 503, body: 'down for maintenance' },
      { status: 429, headers: { 'retry-after': '600' } },
      { status: 200 },
    ];
    await requestDemo();
    expect(receiver.received).toHaveLength(1);
    let [message] = await webhookMessages();
    expect(message).toMatchObject({ status: 'deferred', attempts: 1 });
    expect(message?.reason).toBe(`retrying: HTTP 503 from 127.0.0.1:${receiver.port}: down for maintenance`);
    expect(message?.nextAttemptAt).toBe(world.clock.now() + 30_000);
    // The contact changes address meanwhile: the retries still send what the first call sent.
    await world.send([identify('w', { email: 'changed@example.com' })]);
    await world.settle();

    await world.advance(29_000);
    expect(receiver.received).toHaveLength(1);
    await world.advance(1_000);
    expect(receiver.received).toHaveLength(2);
    [message] = await webhookMessages();
    // The second back-off would be 60 s; the receiver asked for 600.
    expect(message?.nextAttemptAt).toBe(world.clock.now() + 600_000);

    await world.advance(599_000);
    expect(receiver.received).toHaveLength(2);
    await world.advance(1_000);
    expect(receiver.received).toHaveLength(3);
    expect((await webhookMessages())[0]).toMatchObject({ status: 'sent', attempts: 3 });
    // Every attempt is the same call: same idempotency key, same body.
    expect(new Set(receiver.received.map((call) => call.headers['idempotency-key'])).size).toBe(1);
    const bodies = new Set(receiver.received.map((call) => call.body));
    expect([...bodies].map((body) => JSON.parse(body))).toEqual([
      { email: 'w@example.com', company: 'Acme "Inc"', note: 'via Acme "Inc"' },
    ]);
  });

  it('counts the back-off from when a call failed, not from when its round of calls began', async () => {
    await configure();
    await publishHandOff();
    receiver.onSlowAnswer = (ms) => world.clock.advance(ms);
    receiver.answers = [{ status: 503, takesMs: 5 * 60_000 }];
    await requestDemo();
    expect(receiver.received).toHaveLength(1);
    const [message] = await webhookMessages();
    expect(message).toMatchObject({ status: 'deferred', attempts: 1 });
    // The receiver took five minutes to fail: the 30 s back-off starts then.
    expect(message?.nextAttemptAt).toBe(world.clock.now() + 30_000);
  });

  it('sends a refused call (4xx) to the dead-letter list at once, and one that keeps failing after its attempts', async () => {
    await configure({ maxAttempts: 2 });
    await publishHandOff();
    receiver.answers = [{ status: 422, body: '{"error": "email is required"}' }];
    await requestDemo('refused');
    expect(receiver.received).toHaveLength(1);
    let [message] = await webhookMessages();
    expect(message).toMatchObject({ status: 'failed', attempts: 1 });
    expect(message?.reason).toBe(`HTTP 422 from 127.0.0.1:${receiver.port}: {"error": "email is required"}`);

    receiver.answers = [{ status: 500 }, { status: 500 }];
    await requestDemo('broken');
    await world.advance(30_000);
    expect(receiver.received).toHaveLength(3);
    [message] = await webhookMessages();
    expect(message).toMatchObject({
      status: 'failed',
      attempts: 2,
      reason: `HTTP 500 from 127.0.0.1:${receiver.port}`,
      // Where the calls went, as for a refused one.
      toAddress: `http://127.0.0.1:${receiver.port}/hooks/leads`,
    });
    await world.advance(3_600_000);
    expect(receiver.received).toHaveLength(3);
  });

  it("logs a failed call without the receiver's host or the text it answered, which it keeps for admins", async () => {
    await configure();
    await publishHandOff();
    receiver.answers = [{ status: 500, body: 'nope token=SECRET123' }];
    await world.send([identify('w', { email: 'w@example.com' }), track('w', 'Demo Requested')]);
    await world.background.pipeline.drain();
    await world.background.engine.runDueTimers();
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    await world.dispatcher({ logger }).runOnce();
    expect(receiver.received).toHaveLength(1);
    const logged = lines.map((line) => JSON.parse(line) as { msg: string; reason?: string });
    expect(logged.find((line) => line.msg === 'message attempt failed')?.reason).toBe(
      'HTTP 500 from the receiver',
    );
    expect(lines.join('\n')).not.toMatch(/SECRET123|127\.0\.0\.1/);
    expect((await webhookMessages())[0]?.reason).toBe(
      `retrying: HTTP 500 from 127.0.0.1:${receiver.port}: nope token=SECRET123`,
    );
  });

  it('records a refusal whose answer holds a NUL, and the calls beside it, each once', async () => {
    await configure();
    await publishHandOff();
    receiver.answers = [{ status: 400, body: 'no\u0000pe' }, { status: 204 }];
    await world.send([
      identify('nul', { email: 'nul@example.com' }),
      identify('fine', { email: 'fine@example.com' }),
      track('nul', 'Demo Requested', { company: 'Acme' }),
      track('fine', 'Demo Requested', { company: 'Acme' }),
    ]);
    await world.settle();
    const messages = await webhookMessages();
    expect(messages.map((message) => message.status).sort()).toEqual(['failed', 'sent']);
    expect(messages.find((message) => message.status === 'failed')?.reason).toBe(
      `HTTP 400 from 127.0.0.1:${receiver.port}: no\uFFFDpe`,
    );
    // Recorded, so never claimed again once a claim would have run out.
    await world.advance(3_600_000);
    expect(receiver.received).toHaveLength(2);
  });

  it("keeps whole a character of a refusal's text that spans two pieces of the answer, or the end of the excerpt", async () => {
    await configure();
    await publishHandOff();
    const greeting = Buffer.from('Grüße: ');
    const cut = greeting.indexOf(0xbc); // the second byte of ü
    receiver.answers = [
      { status: 400, pieces: [greeting.subarray(0, cut), greeting.subarray(cut)] },
      { status: 400, body: `${'a'.repeat(299)}😀 and more` },
    ];
    await requestDemo('split');
    await requestDemo('emoji');

    const reasons = (await webhookMessages()).map((message) => message.reason);
    expect(reasons).toContain(`HTTP 400 from 127.0.0.1:${receiver.port}: Grüße:`);
    expect(reasons).toContain(`HTTP 400 from 127.0.0.1:${receiver.port}: ${'a'.repeat(299)}😀`);
  });

  it.runIf(backend === 'postgres')(
    'uses up no attempt, nor ends failed, while the database fails the attempt itself',
    async () => {
      await configure({ maxAttempts: 2 });
      await publishHandOff();
      await world.send([identify('unlucky', { email: 'unlucky@example.com' })]);
      await world.settle();
      // A serialization failure, as a busy server gives, each time the call's rendered body is kept.
      await refuseWrites(world, {
        name: 'fail_serialization',
        table: 'messages',
        on: 'update',
        when: `old.profile_id = '${await world.profileOf('unlucky')}' and new.context is distinct from old.context`,
        sqlState: '40001',
      });
      await world.send([track('unlucky', 'Demo Requested', { company: 'Acme' })]);
      await world.settle();
      for (let retry = 0; retry < 5; retry++) await world.advance(3_600_000);

      const [message] = await webhookMessages();
      expect(message).toMatchObject({ status: 'deferred', attempts: 0 });
      expect(message?.reason).toMatch(/^retrying: /);
      expect(receiver.received).toHaveLength(0);
    },
  );

  it('uses up no attempt while the call is held back (a paused journey), only when it is tried', async () => {
    await configure({ maxAttempts: 2 });
    const journeyId = await publishHandOff();
    await world.send([identify('p', { email: 'p@example.com' }), track('p', 'Demo Requested')]);
    // Queued, not yet claimed: the journey is paused before the dispatcher gets to it.
    await world.background.pipeline.drain();
    await world.background.engine.runDueTimers();
    await setJourneyPaused(world.storage, world.clock, world.workspaceId, journeyId, true);
    await world.settle();
    for (let minute = 0; minute < 5; minute++) await world.advance(60_000);
    expect(receiver.received).toHaveLength(0);
    expect((await webhookMessages())[0]).toMatchObject({
      status: 'deferred',
      reason: 'journey paused',
      attempts: 0,
    });

    // Resumed, the call goes at once, not at the dispatcher's next look at paused journeys.
    await setJourneyPaused(world.storage, world.clock, world.workspaceId, journeyId, false);
    receiver.answers = [{ status: 503 }];
    await world.settle();
    expect(receiver.received).toHaveLength(1);
    // Its first real attempt failed: retried, not dead-lettered by the minutes spent waiting.
    expect((await webhookMessages())[0]).toMatchObject({ status: 'deferred', attempts: 1 });
    await world.advance(30_000);
    expect(receiver.received).toHaveLength(2);
    expect((await webhookMessages())[0]).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('retries a receiver that does not answer within the timeout, and follows no redirect', async () => {
    await configure({ timeoutMs: 300 });
    await publishHandOff();
    // The first call gets no answer at all; the retry is redirected elsewhere.
    receiver.answers = [
      { status: 0 },
      { status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/' } },
    ];
    await requestDemo();
    expect(receiver.received).toHaveLength(1);
    let [message] = await webhookMessages();
    expect(message).toMatchObject({ status: 'deferred', attempts: 1 });
    expect(message?.reason).toMatch(/^retrying: 127\.0\.0\.1:\d+: .*(timeout|aborted)/i);

    // Time enough for the redirect to come back on a busy machine (the settings are read afresh by then).
    await configure({ timeoutMs: 10_000 });
    await world.advance(30_000);
    expect(receiver.received).toHaveLength(2);
    [message] = await webhookMessages();
    expect(message).toMatchObject({ status: 'failed', attempts: 2 });
    expect(message?.reason).toMatch(/redirects are not followed/);
  });

  it("names each address tried as the reason when all of a name's addresses refuse the call", async () => {
    const port = await closedPort();
    onTestFinished(resolvingTo('crm.test', ['127.0.0.1', '::1']));
    await configure({ maxAttempts: 1 }, { url: `http://crm.test:${port}/hooks/` });
    await publishHandOff();
    await requestDemo();
    const [message] = await webhookMessages();
    expect(message).toMatchObject({ status: 'failed', attempts: 1 });
    // Node tries each address and throws an AggregateError, whose own message is empty. (::1 may be
    // refused, or not be there at all.)
    expect(message?.reason).toMatch(
      new RegExp(
        String.raw`^crm\.test:${port}: connect ECONNREFUSED 127\.0\.0\.1:${port}; connect E[A-Z]+ ::1:${port}$`,
      ),
    );
  });

  it('fails a call at once, calling nothing, when a stored secret does not decrypt under the current MOPS_SECRET', async () => {
    await configure();
    await publishHandOff();
    // Stored by a server started with another MOPS_SECRET.
    const otherServer = new SecretBox('another-mops-secret-another-mops-secret');
    const storeSealedElsewhere = async (destination: Record<string, unknown>) => {
      const settings = await world.storage.settings.get(world.workspaceId);
      const [crm] = settings.webhooks.destinations;
      const sealed = { ...settings.webhooks, destinations: [{ ...crm, ...destination }] };
      await world.storage.settings.put(
        world.workspaceId,
        { ...settings, webhooks: sealed } as typeof settings,
        world.clock.now(),
      );
    };
    await storeSealedElsewhere({ secret: otherServer.seal(SECRET) });
    await requestDemo('signed');
    expect(receiver.received).toHaveLength(0);
    const [message] = await webhookMessages();
    // Not retried: no attempt would mend it, and the receiver is not to blame.
    expect(message).toMatchObject({
      status: 'failed',
      attempts: 1,
      toAddress: `http://127.0.0.1:${receiver.port}/hooks/leads`,
      reason:
        'webhook destination crm: its stored signing secret cannot be decrypted under the current MOPS_SECRET (it was stored under another one); enter it again in Settings → Webhooks',
    });
    await world.advance(3_600_000);
    expect(receiver.received).toHaveLength(0);
    // "Send a test" says the same, calling nothing either.
    const settings = await world.storage.settings.get(world.workspaceId);
    const tested = await testDestination({
      destination: settings.webhooks.destinations[0] as (typeof settings.webhooks.destinations)[number],
      settings: settings.webhooks,
      secrets: new SecretBox(JOURNEY_WORLD_SECRET),
      callId: 'test-call',
      now: world.clock.now(),
    });
    expect(tested).toMatchObject({ isDelivered: false, status: null, reason: message?.reason });
    expect(receiver.received).toHaveLength(0);

    // A header as well; entered again, the call goes.
    await configure({}, { headers: { 'X-Api-Key': 'crm-key-1' } });
    await storeSealedElsewhere({ headers: { 'X-Api-Key': otherServer.seal('crm-key-1') } });
    await requestDemo('keyed');
    expect(receiver.received).toHaveLength(0);
    const keyed = (await webhookMessages()).find((candidate) => candidate.id !== message?.id);
    expect(keyed).toMatchObject({ status: 'failed', attempts: 1 });
    expect(keyed?.reason).toMatch(
      /^webhook destination crm: its stored header X-Api-Key cannot be decrypted under the current MOPS_SECRET/,
    );
    await configure();
    await redriveAfterSettingsChange();
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received.map((call) => call.headers['x-api-key'])).toEqual(['crm-key-1', 'crm-key-1']);
  });

  it('keeps a destination a published journey calls, and fails a call whose destination is gone', async () => {
    await configure();
    await publishHandOff();
    await expect(world.configure({ webhooks: { destinations: [] } })).rejects.toMatchObject({
      field: 'webhooks.destinations',
      message: expect.stringContaining('journey CRM hand-off calls the destination crm'),
    });
    // Settings saved before that check: the call fails at once, to the dead-letter list.
    const settings = await world.storage.settings.get(world.workspaceId);
    const withoutCrm = { ...settings, webhooks: { ...settings.webhooks, destinations: [] } };
    await world.storage.settings.put(world.workspaceId, withoutCrm, world.clock.now());
    await requestDemo();
    expect(receiver.received).toHaveLength(0);
    expect((await webhookMessages())[0]).toMatchObject({
      status: 'failed',
      reason: 'webhook destination crm is no longer configured',
    });
  });
});
