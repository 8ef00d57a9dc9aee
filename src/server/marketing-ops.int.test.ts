import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { twilioSignature } from '../channels/sms/inbound-sms.js';
import { killHard, startServerProcess } from '../test-support/cli.js';
import { TwilioStandIn } from '../test-support/twilio-stand-in.js';
import {
  basicAuth,
  createTestDatabase,
  eventually,
  PROCESS_TEST_TIMEOUT_MS,
  type TestDatabase,
} from '../test-support/world.js';

const AUTH_TOKEN = 'twilio-auth-token';
const LEADS = 6;

/** The CRM and the team's chat: one receiver, answering 500 while `isDown`. */
class Receiver {
  readonly calls: Array<{ path: string; key: string; body: Record<string, unknown> }> = [];
  isDown = false;
  port = 0;
  readonly #server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      if (this.isDown) {
        response.writeHead(500).end('{"error":"down"}');
        return;
      }
      this.calls.push({
        path: request.url ?? '',
        key: String(request.headers['idempotency-key']),
        body: JSON.parse(body) as Record<string, unknown>,
      });
      response.writeHead(200).end('{}');
    });
  });
  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
    return this;
  }
  stop(): void {
    this.#server.closeAllConnections();
    this.#server.close();
  }
  on(path: string) {
    return this.calls.filter((call) => call.path === path);
  }
}

/**
 * The features used together as a marketing team would, on two processes sharing PostgreSQL:
 * scores reaching MQL, hand-offs in turn with an SLA that is missed, a segment on score and stage, a
 * journey entered on it that texts and calls a webhook, a receiver failing then re-driven, a STOP, and
 * one of the processes killed mid-way — everything happens once, through the other.
 */
describe('a marketing team on two processes sharing PostgreSQL', () => {
  let database: TestDatabase;
  let twilio: TwilioStandIn;
  let receiver: Receiver;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    twilio = await new TwilioStandIn().start();
    receiver = await new Receiver().start();
  });
  afterAll(async () => {
    await Promise.all(children.map(killHard));
    receiver?.stop();
    await twilio?.stop();
    await database?.cleanup();
  });

  it(
    'hands each lead over once, texts and calls once, dead-letters and re-drives, with a process killed',
    async () => {
      const env = { ...database.env, MOPS_PORT: '0' };
      // The first start makes the workspace and its first user; the keys are made as an admin would.
      const a = await startServerProcess(env);
      const b = await startServerProcess(env);
      children.push(a.child, b.child);
      const login = await fetch(`${a.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          email: /e-mail:\s+(\S+)/.exec(a.output())?.[1],
          password: /password:\s+(\S+)/.exec(a.output())?.[1],
        }),
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const asAdmin = async (path: string, body?: unknown) =>
        (await fetch(`${a.url}${path}`, {
          method: body === undefined ? 'GET' : 'POST',
          headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }).then((response) => response.json())) as Record<string, unknown> & { items: Array<{ id: string }> };
      const workspaceId = (await asAdmin('/api/workspaces')).items[0]?.id as string;
      const createKey = async (kind: string) =>
        (await asAdmin(`/api/workspaces/${workspaceId}/keys`, { kind, name: kind })).key as string;
      const [writeKey, secret] = [await createKey('write'), await createKey('secret')];
      const urlB = b.url as string;

      const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
        const response = await fetch(`${urlB}/api/workspaces/${workspaceId}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${secret}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        expect(response.status, `${method} ${path}`).toBeLessThan(300);
        return (await response.json()) as T;
      };
      const metric = async (series: string) => {
        const metrics = await (await fetch(`${urlB}/metrics`)).text();
        const line = metrics.split('\n').find((candidate) => candidate.startsWith(`${series} `));
        return Number(line?.slice(series.length + 1));
      };

      await api('PUT', '/settings', {
        // Business hours end at 23:59 (below): a zone where that minute is hours away as the test runs.
        timezone: new Date().getUTCHours() >= 22 ? 'Asia/Tokyo' : 'UTC',
        sms: {
          baseUrl: twilio.baseUrl,
          accountSid: 'AC1',
          authToken: AUTH_TOKEN,
          from: '+15005550006',
          allowPrivateNetworks: true,
        },
        webhooks: {
          destinations: [
            { id: 'crm', url: `http://127.0.0.1:${receiver.port}/crm` },
            { id: 'chat', url: `http://127.0.0.1:${receiver.port}/chat` },
          ],
          allowPrivateNetworks: true,
          maxAttempts: 1,
        },
        scoring: {
          models: [
            {
              id: 'engagement',
              name: 'Engagement',
              rules: [
                { id: 'demo', kind: 'event', event: 'Demo Requested', points: 30, halfLife: '7d' },
                { id: 'pricing', kind: 'event', event: 'Page Viewed', points: 10, halfLife: '7d', cap: 20 },
                {
                  id: 'software',
                  kind: 'fit',
                  when: { type: 'account_trait', path: 'industry', op: 'eq', value: 'software' },
                  points: 15,
                },
              ],
            },
          ],
        },
        lifecycle: {
          stages: ['lead', 'mql', 'sql'],
          rules: [
            { kind: 'event', to: 'lead', event: 'Signed Up' },
            { kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 },
            { kind: 'event', to: 'sql', event: 'Sales Accepted' },
          ],
          recycleTo: 'lead',
        },
        handOff: {
          stage: 'mql',
          owners: ['marco', 'giulia'].map((id) => ({ id, name: id, email: `${id}@example.com` })),
          destination: 'crm',
          // Every hour of the week counts but the last minute of each day (kept hours away by the
          // workspace's time zone, above), so the SLA runs out during the test whenever it runs.
          acceptWithin: '3s',
          businessHours: {
            days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
            start: '00:00',
            end: '23:59',
          },
        },
      });
      const hot = await api<{ id: string }>('POST', '/segments', {
        name: 'Hot MQLs',
        rule: {
          all: [
            { type: 'score', model: 'engagement', min: 50 },
            { type: 'lifecycle', stages: ['mql', 'sql'] },
          ],
        },
      });
      await eventually(async () =>
        (await api<{ status: string }>('GET', `/segments/${hot.id}`)).status === 'ready' ? true : undefined,
      );
      const journey = await api<{ id: string }>('POST', '/journeys', {
        definition: {
          name: 'Follow up MQLs',
          entry: { trigger: { type: 'segment', segment: hot.id, on: 'entered' } },
          start: 'stage',
          steps: [
            {
              id: 'stage',
              type: 'branch',
              branches: [{ conditions: [{ source: 'lifecycle', op: 'in', stages: ['mql'] }], next: 'text' }],
              otherwise: 'done',
            },
            { id: 'text', type: 'send_sms', body: 'Ciao {{ profile.traits.name }} ☕', next: 'alert' },
            {
              id: 'alert',
              type: 'webhook',
              destination: 'chat',
              body: '{"profile": {{ profile.id | json }}}',
              next: 'done',
            },
            { id: 'done', type: 'exit' },
          ],
        },
      });
      await api('POST', `/journeys/${journey.id}/publish`);

      // Each lead browses anonymously, signs in (a visitor merged into a user), joins a software
      // account and asks for a demo; half the leads go to the process that is then killed.
      receiver.isDown = true;
      const send = async (url: string, lead: number) => {
        const user = `lead-${lead}`;
        const visitor = `visitor-${lead}`;
        const response = await fetch(`${url}/v1/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: basicAuth(writeKey) },
          body: JSON.stringify({
            batch: [
              {
                type: 'page',
                anonymousId: visitor,
                properties: { path: '/pricing' },
                messageId: `${user}-1`,
              },
              {
                type: 'identify',
                userId: user,
                anonymousId: visitor,
                traits: { name: `Lead ${lead}`, phone: `+39 347 000 00${lead}0` },
                messageId: `${user}-2`,
              },
              { type: 'track', userId: user, event: 'Signed Up', messageId: `${user}-3` },
              {
                type: 'group',
                userId: user,
                groupId: 'acme',
                traits: { industry: 'software' },
                messageId: `${user}-4`,
              },
              { type: 'track', userId: user, event: 'Demo Requested', messageId: `${user}-5` },
            ],
          }),
        });
        return response.status;
      };
      for (let lead = 0; lead < LEADS; lead++)
        expect(await send(lead % 2 ? (a.url as string) : urlB, lead)).toBe(200);
      await killHard(a.child);
      // A client retrying everything to the process left stores nothing twice.
      for (let lead = 0; lead < LEADS; lead++) expect(await send(urlB, lead)).toBe(200);

      type Page<T> = { items: T[] };
      type HandOff = { owner: string; status: string };
      const handOffs = await eventually(async () => {
        const page = await api<Page<HandOff>>('GET', '/hand-offs?missed=true');
        return page.items.length === LEADS ? page.items : undefined;
      }, 60_000);
      // In turn, and each missed once: the SLA ran out with nobody accepting.
      expect(handOffs.filter((handOff) => handOff.owner === 'marco')).toHaveLength(LEADS / 2);
      expect(handOffs.every((handOff) => handOff.status === 'breached')).toBe(true);
      expect(await metric('mops_hand_offs{status="breached"}')).toBe(LEADS);

      const members = await api<Page<unknown>>('GET', `/segments/${hot.id}/members`);
      expect(members.items).toHaveLength(LEADS);
      await eventually(async () => (twilio.sent.length === LEADS ? true : undefined), 60_000);
      expect(new Set(twilio.sent.map((sms) => sms.to)).size).toBe(LEADS);

      // The receiver was down: every hand-off and SLA call and every alert is a dead letter, re-driven once it is up.
      const deadLetters = await eventually(async () => {
        const page = await api<Page<{ id: string }>>('GET', '/webhooks/dead-letters?limit=100');
        return page.items.length === 3 * LEADS ? page.items : undefined;
      }, 60_000);
      expect(await metric('mops_failed_messages{channel="webhook"}')).toBe(3 * LEADS);
      receiver.isDown = false;
      const redriven = await api<{ requeued: string[] }>('POST', '/webhooks/dead-letters/redrive', {});
      expect(redriven.requeued.sort()).toEqual(deadLetters.map((message) => message.id).sort());
      await eventually(async () => (receiver.calls.length === 3 * LEADS ? true : undefined), 60_000);
      expect(new Set(receiver.calls.map((call) => call.key)).size).toBe(3 * LEADS);
      expect(receiver.on('/chat')).toHaveLength(LEADS);
      expect(receiver.on('/crm').map((call) => call.body.type)).toEqual(
        expect.arrayContaining(['mops.hand_off.created', 'mops.hand_off.sla_missed']),
      );
      expect(await metric('mops_failed_messages{channel="webhook"}')).toBe(0);

      // A lead replies STOP to the text: the number is suppressed for SMS.
      const inboundUrl = `${b.url}/v1/sms/inbound/${workspaceId}`;
      const params = new URLSearchParams({
        MessageSid: `SM${'1'.repeat(32)}`,
        AccountSid: 'AC1',
        From: '+393470000010',
        To: '+15005550006',
        Body: 'Stop',
      });
      const stop = await fetch(inboundUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilioSignature(AUTH_TOKEN, inboundUrl, params),
        },
        body: params.toString(),
      });
      expect(await stop.text()).toContain('unsubscribed');
      const suppressed = await api<Page<unknown>>('GET', '/suppressions?channel=sms&address=%2B393470000010');
      expect(suppressed.items).toHaveLength(1);

      const report = await api<{ entered: number; completed: number }>(
        'GET',
        `/journeys/${journey.id}/report`,
      );
      expect(report).toMatchObject({ entered: LEADS, completed: LEADS });
      const profiles = await api<Page<unknown>>('GET', '/profiles?limit=100');
      expect(profiles.items).toHaveLength(LEADS);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
