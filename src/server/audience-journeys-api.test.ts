import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type MailWorld, type MessageJson, startMailWorld } from '../test-support/api-client.js';
import { LoopbackPeer } from '../test-support/loopback-peer.js';
import { TwilioStandIn } from '../test-support/twilio-stand-in.js';
import { BACKENDS, eventually } from '../test-support/world.js';

const CRM_SECRET = 'whsec-crm-0123456789abcdef';

/** The CRM and the team's chat on loopback: records every call, answering 500 while `isDown`. */
class Receiver extends LoopbackPeer {
  readonly received: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = [];
  isDown = false;
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
      response.writeHead(this.isDown ? 500 : 204).end();
    });
  });
  on(path: string) {
    return this.received.filter((call) => call.url === path);
  }
}

/** Whether a call carries the v3 signature docs/journeys.md tells receivers to check. */
function isSignedWith(secret: string, call: Receiver['received'][number]): boolean {
  const parts = Object.fromEntries(
    String(call.headers['mops-signature'])
      .split(',')
      .map((part) => part.split('=') as [string, string]),
  );
  const signed = `${parts.t}\n${call.method}\n${call.url}\n${call.headers['idempotency-key']}\n${call.body}`;
  return parts.v3 === createHmac('sha256', secret).update(signed).digest('hex');
}

/**
 * A journey entered on a segment, branching on a stage, another segment and a score, texting through
 * the Twilio stand-in and calling a signed webhook, beside the sales hand-off — all over HTTP, as a
 * marketing team sets it up and watches it.
 */
describe.each(BACKENDS)('journeys on segments, scores and stages over HTTP on %s', (backend) => {
  let mail: MailWorld;
  let twilio: TwilioStandIn;
  let receiver: Receiver;
  let journeyId = '';
  const { api, ingest, caughtUp, newProfile } = apiClient(() => mail);

  beforeAll(async () => {
    mail = await startMailWorld(backend);
    twilio = await new TwilioStandIn().start();
    receiver = await new Receiver().start();
    const settings = await api('PATCH', '/settings', {
      sms: {
        baseUrl: twilio.baseUrl,
        accountSid: 'AC1',
        authToken: 'twilio-token',
        from: 'Shop',
        allowPrivateNetworks: true,
      },
      frequencyCaps: { email: [], sms: [] },
      webhooks: {
        destinations: [{ id: 'crm', url: `${receiver.baseUrl}/crm`, secret: CRM_SECRET }],
        allowPrivateNetworks: true,
        maxAttempts: 1,
      },
      scoring: {
        models: [
          {
            id: 'engagement',
            name: 'Engagement',
            rules: [{ id: 'demo', kind: 'event', event: 'Demo Requested', points: 30 }],
          },
        ],
      },
      lifecycle: {
        stages: ['lead', 'mql'],
        rules: [{ kind: 'score', to: 'mql', model: 'engagement', atLeast: 60 }],
      },
      handOff: {
        stage: 'mql',
        owners: [{ id: 'marco', name: 'Marco', email: 'marco@example.com' }],
        destination: 'crm',
        acceptWithin: '2d',
      },
    });
    expect(settings.status).toBe(200);
    const segment = async (name: string, rule: unknown) => {
      const created = await api<{ id: string }>('POST', '/segments', { name, rule });
      expect(created.status).toBe(201);
      // A new segment's first members, backfilled, never "enter" it: a journey follows it once ready.
      await eventually(async () => {
        const segment = await api<{ status: string }>('GET', `/segments/${created.body.id}`);
        return segment.body.status === 'ready' ? true : undefined;
      });
      return created.body.id;
    };
    const shoppers = await segment('Cart open', {
      all: [
        { type: 'event', event: 'Product Added', within: '7d' },
        { not: { type: 'event', event: 'Order Completed', within: '7d' } },
      ],
    });
    const italians = await segment('Italians', { type: 'trait', path: 'country', op: 'eq', value: 'IT' });
    const created = await api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'Cart follow-up',
        entry: {
          trigger: { type: 'segment', segment: shoppers, on: 'entered' },
          reentry: { policy: 'every_time' },
        },
        start: 'route',
        steps: [
          {
            id: 'route',
            type: 'branch',
            branches: [
              { conditions: [{ source: 'lifecycle', op: 'in', stages: ['mql'] }], next: 'crm' },
              {
                conditions: [
                  { source: 'segment', segment: italians, op: 'in' },
                  { source: 'score', model: 'engagement', op: 'gte', value: 30 },
                ],
                next: 'text',
              },
            ],
            otherwise: 'done',
          },
          {
            id: 'text',
            type: 'send_sms',
            body: 'Ciao {{ profile.traits.first_name }} & <b>benvenuta</b> ☕',
            next: 'done',
          },
          {
            id: 'crm',
            type: 'webhook',
            destination: 'crm',
            path: '/carts',
            body: '{"name": {{ profile.traits.first_name | json }}, "note": "{{ profile.traits.note }}"}',
            next: 'done',
          },
          { id: 'done', type: 'exit' },
        ],
      },
    });
    expect(created.status).toBe(201);
    journeyId = created.body.id;
    expect((await api('POST', `/journeys/${journeyId}/publish`)).status).toBe(200);
  });
  afterAll(async () => {
    await mail?.close();
    await twilio?.stop();
    await receiver?.stop();
  });

  const messagesOf = async (profileId: string) =>
    (await api<{ items: MessageJson[] }>('GET', `/messages?profileId=${profileId}&journeyId=${journeyId}`))
      .body.items;

  it('texts the Italian with points, and hands the MQL over and calls the CRM about the cart, signed', async () => {
    const ada = await newProfile({ first_name: 'Ada', country: 'IT', phone: '+39 347 111 2222' });
    const bob = await newProfile({ first_name: 'Bob "B" <b>Ünï</b>', note: 'said "hi"\n<script>' });
    const cy = await newProfile({ first_name: 'Cy', country: 'FR', phone: '+33 6 12 34 56 78' });
    await ingest([
      { type: 'track', userId: ada.userId, event: 'Demo Requested' },
      { type: 'track', userId: ada.userId, event: 'Product Added' },
      { type: 'track', userId: bob.userId, event: 'Demo Requested' },
      { type: 'track', userId: bob.userId, event: 'Demo Requested' },
      { type: 'track', userId: bob.userId, event: 'Product Added' },
      { type: 'track', userId: cy.userId, event: 'Demo Requested' },
      { type: 'track', userId: cy.userId, event: 'Product Added' },
    ]);

    const text = await eventually(async () => twilio.sent.find((sms) => sms.to === '+393471112222'));
    expect(text).toMatchObject({ from: 'Shop', body: 'Ciao Ada & <b>benvenuta</b> ☕' });
    const [cart] = await eventually(async () => {
      const calls = receiver.on('/crm/carts');
      return calls.length > 0 ? calls : undefined;
    });
    expect(JSON.parse(cart?.body ?? '')).toEqual({ name: 'Bob "B" <b>Ünï</b>', note: 'said "hi"\n<script>' });
    expect(cart && isSignedWith(CRM_SECRET, cart)).toBe(true);
    const handOff = receiver.on('/crm').find((call) => call.body.includes(bob.userId));
    expect(JSON.parse(handOff?.body ?? '{}')).toMatchObject({
      type: 'mops.hand_off.created',
      hand_off: { owner: { id: 'marco' } },
    });
    expect(handOff && isSignedWith(CRM_SECRET, handOff)).toBe(true);
    const intent = await api<{ stage: string; handOffs: Array<{ owner: string; status: string }> }>(
      'GET',
      `/profiles/${bob.id}/intent`,
    );
    expect(intent.body).toMatchObject({ stage: 'mql', handOffs: [{ owner: 'marco', status: 'pending' }] });

    // Cy is in the cart segment but neither Italian nor an MQL: the journey ends without a word.
    await eventually(async () => {
      const journeys = await api<{ items: Array<{ status: string }> }>('GET', `/profiles/${cy.id}/journeys`);
      return journeys.body.items[0]?.status === 'completed' ? true : undefined;
    });
    expect(await messagesOf(cy.id)).toEqual([]);
    expect(twilio.sent.filter((sms) => sms.to === '+33612345678')).toEqual([]);
  });

  it('lists a call the CRM failed as a dead letter, and re-drives it once when the CRM is back', async () => {
    receiver.isDown = true;
    const dee = await newProfile({ first_name: 'Dee' });
    await ingest([
      { type: 'track', userId: dee.userId, event: 'Demo Requested' },
      { type: 'track', userId: dee.userId, event: 'Demo Requested' },
      { type: 'track', userId: dee.userId, event: 'Product Added' },
    ]);
    const [dead] = await eventually(async () => {
      const messages = await messagesOf(dee.id);
      return messages[0]?.status === 'failed' ? messages : undefined;
    });
    const letters = await api<{ items: MessageJson[] }>('GET', '/webhooks/dead-letters');
    expect(letters.body.items.map((letter) => letter.id)).toContain(dead?.id);

    receiver.isDown = false;
    const redriven = await api<{ requeued: string[] }>('POST', '/webhooks/dead-letters/redrive', {
      ids: [dead?.id],
    });
    expect(redriven.body.requeued).toEqual([dead?.id]);
    await eventually(async () => ((await messagesOf(dee.id))[0]?.status === 'sent' ? true : undefined));
    const delivered = receiver.on('/crm/carts').filter((call) => call.body.includes('Dee'));
    // Once down (500), once re-driven, with the same key and body.
    expect(delivered).toHaveLength(2);
    expect(new Set(delivered.map((call) => call.headers['idempotency-key'])).size).toBe(1);
    expect(delivered[1]?.body).toBe(delivered[0]?.body);
  });

  it('enters nobody while paused, not even once resumed, and texts nobody', async () => {
    expect((await api('POST', `/journeys/${journeyId}/pause`)).status).toBe(200);
    const eva = await newProfile({ first_name: 'Eva', country: 'IT', phone: '+39 333 000 0002' });
    await ingest([
      { type: 'track', userId: eva.userId, event: 'Demo Requested' },
      { type: 'track', userId: eva.userId, event: 'Product Added' },
    ]);
    await caughtUp();
    const segments = await api<{ items: unknown[] }>('GET', `/profiles/${eva.id}/segments`);
    expect(segments.body.items).toHaveLength(2);
    expect((await api('POST', `/journeys/${journeyId}/resume`)).status).toBe(200);
    await caughtUp();
    const journeys = await api<{ items: unknown[] }>('GET', `/profiles/${eva.id}/journeys`);
    expect(journeys.body.items).toEqual([]);
    expect(await messagesOf(eva.id)).toEqual([]);
    expect(twilio.sent.filter((sms) => sms.to === '+393330000002')).toEqual([]);
  });

  it('texts those already in a segment when a journey is published to take its current members, and shows how far it got', async () => {
    const milanese = [
      await newProfile({ first_name: 'Gio', city: 'Milano', phone: '+39 333 000 0101' }),
      await newProfile({ first_name: 'Lia', city: 'Milano', phone: '+39 333 000 0102' }),
    ];
    await newProfile({ first_name: 'Ugo', city: 'Roma', phone: '+39 333 000 0103' });
    const segment = await api<{ id: string }>('POST', '/segments', {
      name: 'Milanese',
      rule: { type: 'trait', path: 'city', op: 'eq', value: 'Milano' },
    });
    await eventually(async () => {
      const ready = await api<{ status: string }>('GET', `/segments/${segment.body.id}`);
      return ready.body.status === 'ready' ? true : undefined;
    });
    const created = await api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'Milan store opening',
        entry: {
          trigger: { type: 'segment', segment: segment.body.id, on: 'entered', currentMembers: true },
          reentry: { policy: 'once' },
        },
        start: 'text',
        steps: [
          {
            id: 'text',
            type: 'send_sms',
            body: 'Ciao {{ profile.traits.first_name }}: apriamo a Milano!',
            next: 'done',
          },
          { id: 'done', type: 'exit' },
        ],
      },
    });
    expect(created.status).toBe(201);
    expect((await api('POST', `/journeys/${created.body.id}/publish`)).status).toBe(200);
    const entry = await eventually(async () => {
      const journey = await api<{ memberEntry: { status: string } | null }>(
        'GET',
        `/journeys/${created.body.id}`,
      );
      return journey.body.memberEntry?.status === 'done' ? journey.body.memberEntry : undefined;
    });
    expect(entry).toMatchObject({ segmentId: segment.body.id, membersTotal: 2, membersDone: 2, entered: 2 });
    const texts = await eventually(async () => {
      const sent = twilio.sent.filter((sms) => sms.body.includes('apriamo a Milano'));
      return sent.length === 2 ? sent : undefined;
    });
    expect(texts.map((sms) => sms.to).sort()).toEqual(['+393330000101', '+393330000102']);
    for (const profile of milanese) {
      const journeys = await api<{ items: Array<{ journeyId: string }> }>(
        'GET',
        `/profiles/${profile.id}/journeys`,
      );
      expect(journeys.body.items.map((item) => item.journeyId)).toEqual([created.body.id]);
    }

    // Published paused, a journey takes them only once resumed, and says what it waits for.
    const later = await api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'Milan store, second week',
        entry: {
          trigger: { type: 'segment', segment: segment.body.id, on: 'entered' },
          reentry: { policy: 'once' },
        },
        start: 'done',
        steps: [{ id: 'done', type: 'exit' }],
      },
    });
    expect((await api('POST', `/journeys/${later.body.id}/publish`)).status).toBe(200);
    expect((await api('POST', `/journeys/${later.body.id}/pause`)).status).toBe(200);
    const draft = await api<{ draft: { entry: { trigger: Record<string, unknown> } } }>(
      'GET',
      `/journeys/${later.body.id}`,
    );
    const withMembers = {
      ...draft.body.draft,
      entry: {
        ...draft.body.draft.entry,
        trigger: { ...draft.body.draft.entry.trigger, currentMembers: true },
      },
    };
    expect((await api('PUT', `/journeys/${later.body.id}`, { definition: withMembers })).status).toBe(200);
    expect((await api('POST', `/journeys/${later.body.id}/publish`)).status).toBe(200);
    const waiting = await api<{ status: string; memberEntry: Record<string, unknown> }>(
      'GET',
      `/journeys/${later.body.id}`,
    );
    expect(waiting.body).toMatchObject({
      status: 'paused',
      memberEntry: { status: 'running', membersDone: 0, waitingFor: 'journey_paused' },
    });
    expect((await api('POST', `/journeys/${later.body.id}/resume`)).status).toBe(200);
    const resumed = await eventually(async () => {
      const journey = await api<{ memberEntry: { status: string } | null }>(
        'GET',
        `/journeys/${later.body.id}`,
      );
      return journey.body.memberEntry?.status === 'done' ? journey.body.memberEntry : undefined;
    }, 20_000);
    expect(resumed).toMatchObject({ entered: 2, waitingFor: null });
  });
});
