import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { type Message, newMessage } from '../core/journey.js';
import { memberSessionCookie } from '../test-support/member-session.js';
import { BACKENDS, basicAuth, startTestWorld, type TestWorld } from '../test-support/world.js';

const T0 = Date.UTC(2026, 2, 2, 10, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

interface Series<T> {
  from: string;
  to: string;
  bucket: string;
  bucketMs: number;
  totals: T;
  buckets: Array<T & { start: string }>;
}
type EventCounts = { received: number; generated: number; rejected: number };
type MessageCounts = { sent: number; opened: number; clicked: number; bounced: number };
interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** The dashboard's figures over HTTP, from events, messages and journey runs written at known times. */
describe.each(BACKENDS)('dashboard API on %s', (backend) => {
  let world: TestWorld;
  const clock = new ManualClock(T0);
  let journeyId = '';

  async function get<T>(rest: string, authorization = `Bearer ${world.secretKey}`) {
    const response = await fetch(`${world.url}/api/workspaces/${world.workspaceId}${rest}`, {
      headers: { authorization },
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  async function createJourney(definition: Record<string, unknown>): Promise<string> {
    const created = await fetch(`${world.url}/api/workspaces/${world.workspaceId}/journeys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${world.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ definition }),
    });
    expect(created.status).toBe(201);
    return ((await created.json()) as { id: string }).id;
  }

  async function sendBatch(at: number, batch: unknown[]) {
    clock.set(at);
    const response = await fetch(`${world.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basicAuth(world.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
    expect(response.status).toBe(200);
  }

  let tracked = 0;
  const track = (user: number) => ({
    type: 'track',
    event: 'Viewed',
    userId: `u${user}`,
    messageId: `m-${++tracked}`,
  });

  function message(id: string, workspaceId: string, times: Partial<Message>): Message {
    const sent = newMessage(
      {
        workspaceId,
        profileId: 'prf_someone',
        channel: 'email',
        idempotencyKey: `key-${id}`,
        context: {},
        status: 'sent',
        attempts: 1,
        nextAttemptAt: null,
      },
      T0 - DAY,
    );
    return { ...sent, id, toAddress: 'someone@example.com', subject: 'Hi', updatedAt: T0, ...times };
  }

  beforeAll(async () => {
    world = await startTestWorld(backend, { clock });
    const { storage } = world.mops;
    const workspaceId = world.workspaceId;
    await storage.workspaces.create({ id: 'ws_other', name: 'Other', createdAt: T0 });

    // Before the range, then three (and one invalid call) in its first minute, two in its sixth.
    await sendBatch(T0 - HOUR, [track(1)]);
    await sendBatch(T0 + 30_000, [track(1), track(2), track(3), { type: 'track', userId: 'u9' }]);
    await sendBatch(T0 + 5 * MINUTE + 10_000, [track(4), track(5)]);
    // One Mops wrote itself, and one of another workspace, both in range.
    await storage.transaction((tx) =>
      tx.generatedEvents.append([
        {
          identityId: 1,
          event: {
            workspaceId,
            messageId: 'mops-generated-1',
            type: 'track',
            name: 'Segment Entered',
            userId: 'u1',
            anonymousId: null,
            timestamp: T0 + 2 * MINUTE,
            originalTimestamp: null,
            sentAt: null,
            receivedAt: T0 + 2 * MINUTE,
            payload: '{}',
          },
        },
      ]),
    );
    await storage.events.append({
      events: [
        {
          workspaceId: 'ws_other',
          messageId: 'elsewhere-1',
          type: 'track',
          name: 'Viewed',
          userId: 'u1',
          anonymousId: null,
          timestamp: T0 + MINUTE,
          originalTimestamp: null,
          sentAt: null,
          receivedAt: T0 + MINUTE,
          payload: '{}',
        },
      ],
      rejected: [],
    });

    await storage.messages.insertMany([
      message('msg_a', workspaceId, {
        sentAt: T0 + MINUTE,
        openedAt: T0 + 3 * MINUTE,
        clickedAt: T0 + 4 * MINUTE,
      }),
      message('msg_b', workspaceId, { sentAt: T0 + MINUTE + 5_000 }),
      // Sent before the range, opened in it.
      message('msg_c', workspaceId, { sentAt: T0 - 2 * HOUR, openedAt: T0 + 3 * MINUTE + 1 }),
      // Refused by the recipient's server: bounced, never sent.
      message('msg_d', workspaceId, { status: 'failed', bouncedAt: T0 + 10 * MINUTE }),
      message('msg_e', 'ws_other', { sentAt: T0 + MINUTE }),
      // Given up on without being sent (no SMTP server set up, say): failed when it was.
      message('msg_h', workspaceId, {
        status: 'failed',
        reason: 'no SMTP server is configured for this workspace',
        updatedAt: T0 + 7 * MINUTE,
      }),
      message('msg_i', 'ws_other', { status: 'failed', updatedAt: T0 + 7 * MINUTE }),
      // Dead letters of a CRM that was down, before the range and in it.
      ...['msg_j', 'msg_k', 'msg_l'].map((id, index) =>
        message(id, workspaceId, {
          channel: 'webhook',
          topic: null,
          toAddress: 'crm.example.com',
          status: 'failed',
          reason: 'HTTP 503 from crm.example.com',
          updatedAt: index === 0 ? T0 - MINUTE : T0 + 20 * MINUTE,
        }),
      ),
      // A text and a webhook call: messages too, counted apart when a channel is asked for.
      message('msg_f', workspaceId, {
        channel: 'sms',
        topic: null,
        toAddress: '+393471234567',
        sentAt: T0 + MINUTE,
      }),
      message('msg_g', workspaceId, {
        channel: 'webhook',
        topic: null,
        toAddress: 'crm.example.com',
        sentAt: T0 + 2 * MINUTE,
      }),
      // Waiting to go out, whenever queued: a call being retried, in this workspace and another.
      ...[workspaceId, 'ws_other'].map((inWorkspace, index) =>
        message(`msg_w${index}`, inWorkspace, {
          channel: 'webhook',
          topic: null,
          status: 'deferred',
          sentAt: null,
          reason: 'retrying: HTTP 503 from crm.example.com: token=abc',
          updatedAt: T0 - 30 * DAY,
        }),
      ),
    ]);

    journeyId = await createJourney({
      name: 'Welcome',
      entry: { trigger: { type: 'manual' } },
      goal: { event: 'Order Completed', conditions: [] },
      start: 'pause',
      steps: [
        { id: 'done', type: 'exit' },
        { id: 'tag', type: 'update_traits', set: { welcomed: true }, next: 'done' },
        { id: 'pause', type: 'wait', duration: '1d', next: 'tag' },
      ],
    });
    const instance = (id: string, status: 'active' | 'converted') => ({
      id,
      workspaceId,
      journeyId,
      version: 1,
      profileId: `prf_${id}`,
      status,
      stepId: status === 'active' ? 'tag' : null,
      entryEvent: { name: null, messageId: null, timestamp: T0, properties: {} },
      state: {},
      enteredAt: T0,
      updatedAt: T0,
      endedAt: status === 'active' ? null : T0,
      endReason: status === 'active' ? null : 'converted',
    });
    await storage.transaction(async (tx) => {
      await tx.journeys.insertInstance(instance('one', 'converted'));
      await tx.journeys.insertInstance(instance('two', 'active'));
      const transition = (instanceId: string, stepId: string, kind: 'entered' | 'completed') => ({
        workspaceId,
        journeyId,
        version: 1,
        instanceId,
        stepId,
        kind,
        at: T0,
      });
      await tx.journeys.addTransitions([
        transition('one', 'pause', 'entered'),
        transition('two', 'pause', 'entered'),
        transition('one', 'pause', 'completed'),
        transition('two', 'pause', 'completed'),
        transition('one', 'tag', 'entered'),
        transition('two', 'tag', 'entered'),
        transition('one', 'tag', 'completed'),
      ]);
    });
  });

  afterAll(async () => {
    await world?.close();
  });

  it('counts events per minute over an hour: clients’, Mops’s own and rejected apart, this workspace only', async () => {
    const { status, body } = await get<Series<EventCounts>>(
      `/dashboard/events?from=${iso(T0)}&to=${iso(T0 + HOUR)}`,
    );

    expect(status).toBe(200);
    expect(body).toMatchObject({ from: iso(T0), to: iso(T0 + HOUR), bucket: 'minute', bucketMs: MINUTE });
    expect(body.totals).toEqual({ received: 5, generated: 1, rejected: 1 });
    expect(body.buckets).toHaveLength(60);
    expect(body.buckets[0]).toEqual({ start: iso(T0), received: 3, generated: 0, rejected: 1 });
    expect(body.buckets[2]).toMatchObject({ start: iso(T0 + 2 * MINUTE), generated: 1 });
    expect(body.buckets[5]).toMatchObject({ received: 2 });
    expect(body.buckets[1]).toEqual({ start: iso(T0 + MINUTE), received: 0, generated: 0, rejected: 0 });
  });

  it('counts per hour up to a week and per day beyond, including what came before the hour', async () => {
    const hourly = await get<Series<EventCounts>>(
      `/dashboard/events?from=${iso(T0 - 2 * HOUR)}&to=${iso(T0 + 2 * DAY)}`,
    );
    expect(hourly.body).toMatchObject({ bucket: 'hour', bucketMs: HOUR });
    expect(hourly.body.buckets).toHaveLength(50);
    expect(hourly.body.buckets[1]).toMatchObject({ start: iso(T0 - HOUR), received: 1 });
    expect(hourly.body.buckets[2]).toMatchObject({ start: iso(T0), received: 5, generated: 1, rejected: 1 });

    const daily = await get<Series<EventCounts>>(
      `/dashboard/events?from=${iso(T0 - 29 * DAY)}&to=${iso(T0 + DAY)}`,
    );
    expect(daily.body).toMatchObject({ bucket: 'day', bucketMs: DAY });
    expect(daily.body.buckets).toHaveLength(30);
    expect(daily.body.totals).toEqual({ received: 6, generated: 1, rejected: 1 });
    expect(daily.body.buckets[28]).toMatchObject({ start: iso(T0 - DAY), received: 1 });
    expect(daily.body.buckets[29]).toMatchObject({ start: iso(T0), received: 5, generated: 1, rejected: 1 });
  });

  it('answers zeros for a range with no events', async () => {
    const { body } = await get<Series<EventCounts>>(
      `/dashboard/events?from=${iso(T0 + DAY)}&to=${iso(T0 + DAY + HOUR)}`,
    );
    expect(body.totals).toEqual({ received: 0, generated: 0, rejected: 0 });
    expect(body.buckets.every((bucket) => bucket.received === 0)).toBe(true);
  });

  it('counts messages sent, opened, clicked, bounced and failed when each happened', async () => {
    const { status, body } = await get<Series<MessageCounts>>(
      `/dashboard/messages?from=${iso(T0)}&to=${iso(T0 + HOUR)}`,
    );

    expect(status).toBe(200);
    expect(body.totals).toEqual({ sent: 4, opened: 2, clicked: 1, bounced: 1, failed: 3 });
    const ofChannel = async (channel: string) =>
      (
        await get<Series<MessageCounts>>(
          `/dashboard/messages?from=${iso(T0)}&to=${iso(T0 + HOUR)}&channel=${channel}`,
        )
      ).body;
    const email = await ofChannel('email');
    expect(email.totals).toEqual({ sent: 2, opened: 2, clicked: 1, bounced: 1, failed: 1 });
    expect(email.buckets[1]).toMatchObject({ sent: 2, opened: 0 });
    expect((await ofChannel('sms')).totals).toEqual({
      sent: 1,
      opened: 0,
      clicked: 0,
      bounced: 0,
      failed: 0,
    });
    expect((await ofChannel('webhook')).buckets[2]).toMatchObject({ sent: 1 });
    expect((await ofChannel('webhook')).totals).toMatchObject({ failed: 2 });
    expect(
      (await get<ErrorBody>(`/dashboard/messages?from=${iso(T0)}&to=${iso(T0 + HOUR)}&channel=fax`)).status,
    ).toBe(400);
    expect(body.buckets[1]).toMatchObject({ sent: 3, opened: 0 });
    expect(body.buckets[3]).toMatchObject({ opened: 2 });
    expect(body.buckets[4]).toMatchObject({ clicked: 1 });
    expect(body.buckets[10]).toMatchObject({ bounced: 1, sent: 0, failed: 0 });
    expect(body.buckets[7]).toMatchObject({ failed: 1, sent: 0 });
    expect(body.buckets[20]).toMatchObject({ failed: 2 });
  });

  it('says why messages failed, the commonest reason first, bounces apart', async () => {
    const failures = (query: string) =>
      get<{ items: Array<{ channel: string; reason: string | null; count: number }> }>(
        `/dashboard/message-failures?from=${iso(T0)}&to=${iso(T0 + HOUR)}${query}`,
      );
    const all = await failures('');
    expect(all.status).toBe(200);
    expect(all.body.items).toEqual([
      { channel: 'webhook', reason: 'HTTP 503 from crm.example.com', count: 2 },
      { channel: 'email', reason: 'no SMTP server is configured for this workspace', count: 1 },
    ]);
    expect((await failures('&channel=email')).body.items).toEqual([
      { channel: 'email', reason: 'no SMTP server is configured for this workspace', count: 1 },
    ]);
    expect((await failures('&channel=sms')).body.items).toEqual([]);
    expect((await failures('&channel=fax')).status).toBe(400);
  });

  it('tells a member why webhook calls failed without the receiver’s host or its answer, as the dead letters do', async () => {
    const cookie = await memberSessionCookie(world);
    const response = await fetch(
      `${world.url}/api/workspaces/${world.workspaceId}/dashboard/message-failures?from=${iso(T0)}&to=${iso(T0 + HOUR)}`,
      { headers: { cookie } },
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as { items: unknown[] }).items).toEqual([
      { channel: 'webhook', reason: 'HTTP 503 from the receiver', count: 2 },
      { channel: 'email', reason: 'no SMTP server is configured for this workspace', count: 1 },
    ]);
    // What waits to go out, likewise: the admin reads the receiver's host and answer, the member not.
    const waiting = async (headers: Record<string, string>) =>
      (await (
        await fetch(`${world.url}/api/workspaces/${world.workspaceId}/dashboard/waiting-messages`, {
          headers,
        })
      ).json()) as { items: unknown[] };
    expect((await waiting({ cookie })).items).toEqual([
      { channel: 'webhook', reason: 'retrying: HTTP 503 from the receiver', count: 1 },
    ]);
    expect((await waiting({ authorization: `Bearer ${world.secretKey}` })).items).toEqual([
      { channel: 'webhook', reason: 'retrying: HTTP 503 from crm.example.com: token=abc', count: 1 },
    ]);
  });

  it('answers each journey’s conversion and its funnel in step order', async () => {
    const { status, body } = await get<{ items: Array<Record<string, unknown>> }>('/dashboard/journeys');

    expect(status).toBe(200);
    expect(body.items).toEqual([
      {
        id: journeyId,
        name: 'Welcome',
        status: 'draft',
        entered: 2,
        active: 1,
        converted: 1,
        heldOut: 0,
        hasGoal: true,
        conversionRate: 0.5,
        steps: [
          { id: 'pause', type: 'wait', entered: 2, completed: 2 },
          { id: 'tag', type: 'update_traits', entered: 2, completed: 1 },
          { id: 'done', type: 'exit', entered: 0, completed: 0 },
        ],
      },
    ]);
  });

  it('gives a journey without a goal no conversion rate, rather than 0 %, and says it has none', async () => {
    // Runs after the test above, which lists the workspace's journeys.
    const { workspaceId } = world;
    const alertId = await createJourney({
      name: 'Alert',
      entry: { trigger: { type: 'manual' } },
      start: 'done',
      steps: [{ id: 'done', type: 'exit' }],
    });
    await world.mops.storage.transaction((tx) =>
      tx.journeys.insertInstance({
        id: 'alerted',
        workspaceId,
        journeyId: alertId,
        version: 1,
        profileId: 'prf_alerted',
        status: 'completed',
        stepId: null,
        entryEvent: { name: null, messageId: null, timestamp: T0, properties: {} },
        state: {},
        enteredAt: T0,
        updatedAt: T0,
        endedAt: T0,
        endReason: 'completed',
      }),
    );
    const dashboard = await get<{ items: Array<Record<string, unknown>> }>('/dashboard/journeys');
    expect(dashboard.body.items.find((item) => item.id === alertId)).toMatchObject({
      entered: 1,
      converted: 0,
      hasGoal: false,
      conversionRate: null,
    });
    const list = await get<{ items: Array<{ id: string; hasGoal: boolean }> }>('/journeys');
    expect(list.body.items.map((item) => [item.id, item.hasGoal]).sort()).toEqual(
      [
        [alertId, false],
        [journeyId, true],
      ].sort(),
    );
  });

  it('answers 400 naming the field for a missing, malformed, reversed or too long range', async () => {
    const missing = await get<ErrorBody>(`/dashboard/events?to=${iso(T0)}`);
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'invalid_input', field: 'from' });

    const malformed = await get<ErrorBody>(`/dashboard/messages?from=yesterday&to=${iso(T0)}`);
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.field).toBe('from');

    const reversed = await get<ErrorBody>(`/dashboard/events?from=${iso(T0)}&to=${iso(T0 - HOUR)}`);
    expect(reversed.status).toBe(400);
    expect(reversed.body.error).toMatchObject({ field: 'to' });
    expect(reversed.body.error.message).toMatch(/after from/);

    const tooLong = await get<ErrorBody>(`/dashboard/events?from=${iso(T0 - 100 * DAY)}&to=${iso(T0)}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error).toMatchObject({ field: 'to' });
    expect(tooLong.body.error.message).toMatch(/92 days/);
  });

  it('refuses write keys and strangers', async () => {
    const range = `?from=${iso(T0)}&to=${iso(T0 + HOUR)}`;
    expect((await get(`/dashboard/events${range}`, basicAuth(world.writeKey))).status).toBe(401);
    expect((await get(`/dashboard/events${range}`, `Bearer ${world.writeKey}`)).status).toBe(403);
    expect((await get('/dashboard/journeys', 'Bearer sk_nothing')).status).toBe(401);
  });
});
