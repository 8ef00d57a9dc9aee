import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JourneyDraft } from '../core/journey-draft.js';
import type { SegmentCondition } from '../core/segment-definition.js';
import { createSegment } from '../segments/segments.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { LoopbackPeer } from '../test-support/loopback-peer.js';
import { identify, track } from '../test-support/segment-calls.js';
import { TwilioStandIn } from '../test-support/twilio-stand-in.js';
import { BACKENDS } from '../test-support/world.js';
import { publishJourney, updateDraft } from './journeys.js';

const HOUR = 3_600_000;
const SECRET = 'whsec-audience-journeys-0123';

/** A CRM on loopback: records each call, answering the statuses queued in `answers` (204 after). */
class Crm extends LoopbackPeer {
  readonly received: Array<{ url: string; headers: IncomingHttpHeaders; body: string }> = [];
  answers: number[] = [];
  protected readonly server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      this.received.push({ url: request.url ?? '', headers: request.headers, body });
      response.writeHead(this.answers.shift() ?? 204).end();
    });
  });
}

/** Added to the cart in the last week, idle for an hour since, and no order in the week. */
const CART_ABANDONERS: SegmentCondition = {
  all: [
    { type: 'event', event: 'Product Added', within: '7d', atLeast: 1, where: [] },
    { type: 'event_time', event: 'Product Added', which: 'last', op: 'not_within_last', value: '1h' },
    { not: { type: 'event', event: 'Order Completed', within: '7d', atLeast: 1, where: [] } },
  ],
} as SegmentCondition;

/**
 * Segments, scores, stages, texts and webhooks used together by journeys, as a marketing team sets
 * them up, with time moved by hand: entered on a segment that time alone fills, branching on another
 * segment, a score and a stage.
 */
describe.each(BACKENDS)('journeys on segments, scores and stages on %s', (backend) => {
  let world: JourneyWorld;
  let twilio: TwilioStandIn;
  let crm: Crm;
  let abandoners = '';
  let italians = '';

  beforeAll(async () => {
    world = await startJourneyWorld(backend);
    twilio = await new TwilioStandIn().start();
    crm = await new Crm().start();
    await world.configure({
      sms: {
        baseUrl: twilio.baseUrl,
        accountSid: 'AC1',
        authToken: 'twilio-token',
        from: '+15005550006',
        allowPrivateNetworks: true,
      },
      frequencyCaps: { email: [], sms: [] },
      quietHours: { start: '21:00', end: '08:00' },
      webhooks: {
        destinations: [{ id: 'crm', url: `${crm.baseUrl}/hooks`, secret: SECRET }],
        allowPrivateNetworks: true,
        timeoutMs: 10_000,
        maxAttempts: 3,
      },
      scoring: {
        models: [
          {
            id: 'engagement',
            name: 'Engagement',
            rules: [
              {
                id: 'demo',
                kind: 'event',
                event: 'Demo Requested',
                points: 30,
                repeat: 'every_time',
                where: [],
              },
            ],
          },
          {
            id: 'interest',
            name: 'Interest',
            rules: [
              {
                id: 'brochure',
                kind: 'event',
                event: 'Brochure Viewed',
                points: 20,
                halfLife: '1d',
                repeat: 'every_time',
                where: [],
              },
            ],
          },
        ],
      },
      lifecycle: {
        stages: ['lead', 'mql'],
        rules: [{ kind: 'score', to: 'mql', model: 'engagement', atLeast: 60 }],
      },
    });
    const segment = async (name: string, rule: SegmentCondition) =>
      (
        await createSegment(world.storage, {
          workspaceId: world.workspaceId,
          input: { name, kind: 'live', rule },
          now: world.clock.now(),
        })
      ).id;
    abandoners = await segment('Cart abandoners', CART_ABANDONERS);
    italians = await segment('Italians', { type: 'trait', path: 'country', op: 'eq', value: 'IT' });
    await world.settle();
    await world.publish({
      name: 'Cart rescue',
      entry: {
        trigger: { type: 'segment', segment: abandoners, on: 'entered', exitOnSegmentExit: true },
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
          body: 'Ciao {{ profile.traits.first_name }}, il carrello ti aspetta & <b>scade</b> ☕',
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
    });
  });
  afterAll(async () => {
    await world?.close();
    await twilio?.stop();
    await crm?.stop();
  });

  it('texts the Italian with some points and calls the CRM for the MQL once their carts sit idle for an hour', async () => {
    await world.send([
      identify('ada', { first_name: 'Ada', country: 'IT', phone: '+39 347 111 2222' }),
      track('ada', 'Demo Requested'),
      track('ada', 'Product Added', { sku: 'A1' }),
      identify('bob', {
        first_name: 'Bob "B" <b>Ünï</b>',
        note: 'said "hi"\n<script>',
        phone: '+393331234567',
      }),
      track('bob', 'Demo Requested'),
      track('bob', 'Demo Requested'),
      track('bob', 'Product Added', { sku: 'B1' }),
      identify('cy', { first_name: 'Cy', country: 'FR', phone: '+33612345678' }),
      track('cy', 'Demo Requested'),
      track('cy', 'Product Added', { sku: 'C1' }),
      identify('dee', { first_name: 'Dee', country: 'IT', phone: '+393330000001' }),
      track('dee', 'Product Added', { sku: 'D1' }),
      track('dee', 'Order Completed'),
    ]);
    await world.settle();
    expect(twilio.sent).toEqual([]);
    expect(crm.received).toEqual([]);

    await world.advance(HOUR + 1000);
    expect(twilio.sent.map((sms) => ({ to: sms.to, from: sms.from, body: sms.body }))).toEqual([
      {
        to: '+393471112222',
        from: '+15005550006',
        body: 'Ciao Ada, il carrello ti aspetta & <b>scade</b> ☕',
      },
    ]);
    expect(crm.received).toHaveLength(1);
    const call = crm.received[0] as (typeof crm.received)[number];
    expect(call.url).toBe('/hooks/carts');
    expect(JSON.parse(call.body)).toEqual({ name: 'Bob "B" <b>Ünï</b>', note: 'said "hi"\n<script>' });
    const signature = Object.fromEntries(
      String(call.headers['mops-signature'])
        .split(',')
        .map((part) => part.split('=') as [string, string]),
    );
    const signed = `${signature.t}\nPOST\n/hooks/carts\n${call.headers['idempotency-key']}\n${call.body}`;
    expect(signature.v3).toBe(createHmac('sha256', SECRET).update(signed).digest('hex'));
  });

  it('does not text a reminder held back by quiet hours to a shopper who ordered during the night', async () => {
    // 20:30 in Rome: the cart sits idle until 21:30, within quiet hours.
    world.clock.set(Date.parse('2026-11-23T19:30:00Z'));
    await world.send([
      identify('eva', { first_name: 'Eva', country: 'IT', phone: '+393330000002' }),
      track('eva', 'Demo Requested'),
      track('eva', 'Product Added', { sku: 'E1' }),
    ]);
    await world.settle();
    await world.advance(HOUR + 1000);
    const eva = await world.profileOf('eva');
    const [held] = (await world.storage.messages.list(world.workspaceId, { profileId: eva }, { limit: 10 }))
      .items;
    expect(held).toMatchObject({ channel: 'sms', status: 'deferred' });

    // 23:00 in Rome: the order comes; she leaves the segment the journey was entered on.
    await world.advance(90 * 60_000);
    await world.send([track('eva', 'Order Completed')]);
    await world.settle();
    await world.advance(10 * HOUR);
    expect(twilio.sent.filter((sms) => sms.to === '+393330000002')).toEqual([]);
    expect(await world.storage.messages.findById(held?.id ?? '')).toMatchObject({
      status: 'skipped',
      reason: 'left the entry segment',
    });
  });

  it('sends nothing it held back for the night to a contact whose instance met the goal meanwhile', async () => {
    await world.publish({
      name: 'Price watch',
      entry: { trigger: { type: 'event', event: 'Price Watched' } },
      goal: { event: 'Order Completed', within: '7d' },
      start: 'text',
      steps: [
        {
          id: 'text',
          type: 'send_sms',
          body: 'The price of {{ event.properties.sku }} dropped',
          next: 'wait',
        },
        { id: 'wait', type: 'wait', duration: '2d', next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    // 22:00 in Rome: the text waits for the morning.
    world.clock.set(Date.parse('2026-11-25T21:00:00Z'));
    await world.send([
      identify('gil', { first_name: 'Gil', phone: '+393330000003' }),
      track('gil', 'Price Watched', { sku: 'G1' }),
    ]);
    await world.settle();
    const gil = await world.profileOf('gil');
    const [held] = (await world.storage.messages.list(world.workspaceId, { profileId: gil }, { limit: 10 }))
      .items;
    expect(held).toMatchObject({ channel: 'sms', status: 'deferred' });

    await world.advance(HOUR);
    await world.send([track('gil', 'Order Completed')]);
    await world.settle();
    await world.advance(12 * HOUR);
    expect(twilio.sent.filter((sms) => sms.to === '+393330000003')).toEqual([]);
    expect(await world.storage.messages.findById(held?.id ?? '')).toMatchObject({
      status: 'skipped',
      reason: 'goal reached',
    });
  });

  it('sends nothing held back for the night to a contact who meets the goal after the instance has ended, and counts them converted', async () => {
    const journeyId = await world.publish({
      name: 'Back in stock',
      entry: { trigger: { type: 'event', event: 'Stock Watched' } },
      goal: { event: 'Order Completed', within: '7d' },
      start: 'text',
      steps: [
        { id: 'text', type: 'send_sms', body: '{{ event.properties.sku }} is back', next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    // 22:00 in Rome: the text waits for the morning, and the instance ends at once.
    world.clock.set(Date.parse('2026-11-26T21:00:00Z'));
    await world.send([
      identify('jo', { first_name: 'Jo', phone: '+393330000004' }),
      track('jo', 'Stock Watched', { sku: 'J1' }),
      identify('kim', { first_name: 'Kim', phone: '+393330000005' }),
      track('kim', 'Stock Watched', { sku: 'K1' }),
    ]);
    await world.settle();
    const [jo, kim] = [await world.profileOf('jo'), await world.profileOf('kim')];
    const heldFor = async (profileId: string) =>
      (await world.storage.messages.list(world.workspaceId, { profileId }, { limit: 10 })).items[0];
    expect(await heldFor(jo)).toMatchObject({ channel: 'sms', status: 'deferred' });
    const instances = await world.storage.journeys.listInstancesOfProfile(world.workspaceId, jo);
    expect(instances.map((instance) => instance.status)).toEqual(['completed']);

    await world.advance(HOUR);
    await world.send([track('jo', 'Order Completed')]);
    await world.settle();
    await world.advance(12 * HOUR);
    expect(await heldFor(jo)).toMatchObject({ status: 'skipped', reason: 'goal reached' });
    // Kim, who did not order, gets hers in the morning.
    const toJoOrKim = twilio.sent.filter((sms) => ['+393330000004', '+393330000005'].includes(sms.to));
    expect(toJoOrKim.map((sms) => [sms.to, sms.body])).toEqual([['+393330000005', 'K1 is back']]);
    expect(await heldFor(kim)).toMatchObject({ status: 'sent' });
    // Jo converted though the instance had ended; Kim's order after the goal's week does not count.
    expect(await world.storage.journeys.report(journeyId)).toMatchObject({
      entered: 2,
      completed: 2,
      converted: 1,
    });
    await world.advance(7 * 24 * HOUR);
    await world.send([track('kim', 'Order Completed'), track('jo', 'Order Completed')]);
    await world.settle();
    expect(await world.storage.journeys.report(journeyId)).toMatchObject({ entered: 2, converted: 1 });
  });

  it('skips what an ended instance of an earlier version held back when its own goal is met, whatever the goal now', async () => {
    const definition = {
      name: 'Restock alert',
      entry: { trigger: { type: 'event', event: 'Restock Watched' } },
      goal: { event: 'Restock Ordered', within: '7d' },
      start: 'text',
      steps: [
        { id: 'text', type: 'send_sms', body: 'It is back', next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    };
    const journeyId = await world.publish(definition);
    // 22:00 in Rome: the text waits for the morning, and the instance (version 1) ends at once.
    world.clock.set(Date.parse('2026-11-27T21:00:00Z'));
    await world.send([
      identify('lu', { first_name: 'Lu', phone: '+393330000006' }),
      track('lu', 'Restock Watched'),
    ]);
    await world.settle();
    const lu = await world.profileOf('lu');
    const held = async () =>
      (await world.storage.messages.list(world.workspaceId, { profileId: lu }, { limit: 10 })).items[0];
    expect(await held()).toMatchObject({ channel: 'sms', status: 'deferred' });
    // Version 2 counts another event as its goal; version 1's instance still has its own.
    await updateDraft(world.storage, world.clock, {
      workspaceId: world.workspaceId,
      id: journeyId,
      definition: { ...definition, goal: { event: 'Restock Reserved', within: '7d' } } as JourneyDraft,
    });
    await publishJourney(world.storage, world.clock, world.workspaceId, journeyId);

    await world.advance(HOUR);
    await world.send([track('lu', 'Restock Ordered')]);
    await world.settle();
    await world.advance(12 * HOUR);
    expect(await held()).toMatchObject({ status: 'skipped', reason: 'goal reached' });
    expect(twilio.sent.filter((sms) => sms.to === '+393330000006')).toEqual([]);
  });

  it('branches after a wait on the score as decay has left it, not as it was at the last event', async () => {
    await world.publish({
      name: 'Brochure follow-up',
      entry: { trigger: { type: 'event', event: 'Brochure Viewed' } },
      start: 'wait',
      steps: [
        { id: 'wait', type: 'wait', duration: '2d', next: 'warm' },
        {
          id: 'warm',
          type: 'branch',
          branches: [
            { conditions: [{ source: 'score', model: 'interest', op: 'gte', value: 10 }], next: 'crm' },
          ],
          otherwise: 'done',
        },
        {
          id: 'crm',
          type: 'webhook',
          destination: 'crm',
          path: '/warm',
          body: '{"name": {{ profile.traits.first_name | json }}}',
          next: 'done',
        },
        { id: 'done', type: 'exit' },
      ],
    });
    // In the afternoon in Rome: no quiet hours hold the calls back.
    world.clock.set(Date.parse('2026-11-27T12:00:00Z'));
    await world.send([
      identify('hal', { first_name: 'Hal' }),
      track('hal', 'Brochure Viewed'),
      identify('ivy', { first_name: 'Ivy' }),
      track('ivy', 'Brochure Viewed'),
    ]);
    await world.settle();
    // Ivy looks again a day and a half later: 20 halved twice and 20 halved once and a half, over 10;
    // Hal's 20 points are down to 5 when the wait ends.
    await world.advance(36 * HOUR);
    await world.send([track('ivy', 'Brochure Viewed')]);
    await world.settle();
    await world.advance(12 * HOUR + 1000);
    expect(
      crm.received.filter((call) => call.url === '/hooks/warm').map((call) => JSON.parse(call.body)),
    ).toEqual([{ name: 'Ivy' }]);
  });
});
