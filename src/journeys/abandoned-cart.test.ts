import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpSink } from '../test-support/smtp-sink.js';
import { BACKENDS, eventually, startTestWorld, type TestWorld } from '../test-support/world.js';

const CART_TEMPLATE = {
  name: 'Cart reminder',
  subject: 'You left something behind, {{ profile.traits.first_name | default: "friend" }}',
  preheader: 'Your cart {{ event.properties.cart_id }} is waiting',
  mjml: `<mjml><mj-body><mj-section><mj-column>
    <mj-text>Hi {{ profile.traits.first_name }}, your cart {{ event.properties.cart_id }} holds {{ event.properties.items }} items.</mj-text>
    <mj-text>Spedizione gratuita a {{ profile.traits.city | default: "casa" }} — più di 30 €.</mj-text>
    <mj-button href="https://shop.example.com/cart/{{ event.properties.cart_id }}?utm=reminder&amp;x=1">Back to your cart</mj-button>
  </mj-column></mj-section></mj-body></mjml>`,
};

function abandonedCart(templateId: string) {
  return {
    name: 'Abandoned cart',
    entry: {
      trigger: { type: 'event', event: 'Cart Updated' },
      reentry: { policy: 'every_time' },
      allowConcurrent: true,
    },
    goal: { event: 'Order Completed', matchEntryProperty: 'properties.cart_id', within: '7d' },
    start: 'wait-for-order',
    steps: [
      {
        id: 'wait-for-order',
        type: 'wait_for_event',
        event: 'Order Completed',
        matchEntryProperty: 'properties.cart_id',
        timeout: '1s',
        next: 'done',
        timeoutNext: 'reminder',
      },
      { id: 'reminder', type: 'send_email', template: templateId, next: 'done' },
      { id: 'done', type: 'exit' },
    ],
  };
}

/** Mail headers as one line each (long ones are folded onto continuation lines). */
const unfolded = (raw: string) => raw.replace(/\r?\n[ \t]+/g, ' ');

/** The abandoned-cart pattern end to end: Segment client in, real SMTP out, tracking and unsubscribe back. */
describe.each(BACKENDS)('abandoned cart journey on %s', (backend) => {
  let world: TestWorld;
  let sink: SmtpSink;
  let journeyId: string;
  let templateId: string;

  const api = async <T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${world.url}/api/workspaces/${world.workspaceId}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${world.secretKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  };

  beforeAll(async () => {
    sink = await new SmtpSink().start();
    world = await startTestWorld(backend);
    const settings = await api('PUT', '/settings', {
      timezone: 'Europe/Rome',
      smtp: { host: '127.0.0.1', port: sink.port, from: 'Shop <shop@example.com>' },
      frequencyCaps: { email: [{ max: 5, period: '1d' }] },
    });
    expect(settings.status).toBe(200);
    const template = await api<{ id: string }>('POST', '/templates', CART_TEMPLATE);
    expect(template.status).toBe(201);
    templateId = template.body.id;
    const created = await api<{ id: string }>('POST', '/journeys', { definition: abandonedCart(templateId) });
    expect(created.status).toBe(201);
    journeyId = created.body.id;
    expect((await api('POST', `/journeys/${journeyId}/publish`)).status).toBe(200);
  });

  afterAll(async () => {
    await world?.close();
    await sink?.stop();
  });

  it('reminds only the shoppers whose cart did not turn into an order', async () => {
    // One flush; the client may reorder the calls in it, so each call says when it happened.
    const analytics = new Analytics({ writeKey: world.writeKey, host: world.url, flushAt: 50 });
    let second = 0;
    const at = () => new Date(Date.now() - 60_000 + 1000 * second++);
    analytics.identify({
      userId: 'ada',
      traits: { email: 'ada@example.com', first_name: '<script>alert(1)</script>Ada', city: 'Forlì' },
      timestamp: at(),
    });
    analytics.identify({
      userId: 'bob',
      traits: { email: 'bob@example.com', first_name: 'Bob' },
      timestamp: at(),
    });
    analytics.identify({
      userId: 'cy',
      traits: { email: 'cy@example.com', first_name: 'Cy' },
      timestamp: at(),
    });
    analytics.track({
      userId: 'ada',
      event: 'Cart Updated',
      properties: { cart_id: 'c-ada', items: 2 },
      timestamp: at(),
    });
    analytics.track({
      userId: 'bob',
      event: 'Cart Updated',
      properties: { cart_id: 'c-bob', items: 1 },
      timestamp: at(),
    });
    analytics.track({
      userId: 'cy',
      event: 'Cart Updated',
      properties: { cart_id: 'c-cy', items: 3 },
      timestamp: at(),
    });
    // Bob orders his cart in time; Cy orders a different cart, which does not count for this one.
    analytics.track({
      userId: 'bob',
      event: 'Order Completed',
      properties: { cart_id: 'c-bob' },
      timestamp: at(),
    });
    analytics.track({
      userId: 'cy',
      event: 'Order Completed',
      properties: { cart_id: 'c-other' },
      timestamp: at(),
    });
    await analytics.closeAndFlush();

    await sink.waitFor(2);
    // A little longer, to be sure Bob's e-mail does not come late.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(sink.received.map((mail) => mail.to[0]).sort()).toEqual(['ada@example.com', 'cy@example.com']);
  });

  it('personalises subject, preheader and body, escapes traits, and signs its links', async () => {
    const [mail] = sink.to('ada@example.com');
    if (!mail) throw new Error('no mail for ada');
    const { parsed } = mail;
    expect(parsed.subject).toBe('You left something behind, <script>alert(1)</script>Ada');
    expect(parsed.from?.value[0]).toMatchObject({ name: 'Shop', address: 'shop@example.com' });
    const html = String(parsed.html);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;Ada');
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('your cart c-ada holds 2 items');
    expect(html).toContain('Your cart c-ada is waiting');
    expect(parsed.text).toContain('your cart c-ada holds 2 items');
    // Non-ASCII text, from the template and from traits, arrives intact (quoted-printable UTF-8).
    expect(html).toContain('Spedizione gratuita a Forlì — più di 30 €.');
    expect(parsed.text).toContain('Spedizione gratuita a Forlì — più di 30 €.');
    expect(mail.raw).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(unfolded(mail.raw)).toMatch(/List-Unsubscribe: <http:\/\/127\.0\.0\.1:\d+\/u\/[\w.-]+>/);
    expect(html).not.toContain('href="https://shop.example.com');
    expect(html).toMatch(/href="http:\/\/127\.0\.0\.1:\d+\/t\/c\/[\w.-]+"/);
    expect(html).toMatch(/src="http:\/\/127\.0\.0\.1:\d+\/t\/o\/[\w.-]+\.gif"/);
  });

  it('redirects a signed click to its target, refuses a tampered one, and records opens and clicks as events', async () => {
    const [mail] = sink.to('ada@example.com');
    const html = String(mail?.parsed.html);
    const click = (/href="(http:\/\/127\.0\.0\.1:\d+\/t\/c\/[\w.-]+)"/.exec(html) ?? [])[1] as string;
    const pixel = (/src="(http:\/\/127\.0\.0\.1:\d+\/t\/o\/[\w.-]+\.gif)"/.exec(html) ?? [])[1] as string;
    const redirected = await fetch(click, { redirect: 'manual' });
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get('location')).toBe('https://shop.example.com/cart/c-ada?utm=reminder&x=1');
    const [body, signature] = (click.split('/t/c/')[1] as string).split('.');
    const forged = Buffer.from(JSON.stringify({ m: 'x', u: 'https://evil.example' })).toString('base64url');
    expect((await fetch(`${world.url}/t/c/${forged}.${signature}`, { redirect: 'manual' })).status).toBe(400);
    expect((await fetch(`${world.url}/t/c/${body}`, { redirect: 'manual' })).status).toBe(400);
    const opened = await fetch(pixel);
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toBe('image/gif');

    const profiles = await api<{ items: Array<{ id: string }> }>('GET', '/profiles?q=ada');
    const adaId = profiles.body.items[0]?.id as string;
    const names = await eventually(async () => {
      const timeline = await api<{ items: Array<{ name: string }> }>(
        'GET',
        `/profiles/${adaId}/events?limit=50`,
      );
      const found = timeline.body.items.map((event) => event.name);
      return found.includes('Email Opened') && found.includes('Email Link Clicked') ? found : undefined;
    });
    expect(names).toContain('Cart Updated');
  });

  it('unsubscribes with one click (RFC 8058), and never sends on that topic again', async () => {
    const [mail] = sink.to('cy@example.com');
    const unsubscribeUrl = (/List-Unsubscribe: <([^>]+)>/.exec(unfolded(mail?.raw ?? '')) ?? [])[1] as string;
    const page = await fetch(unsubscribeUrl);
    expect(await page.text()).toMatch(/<form method="post"/);
    const oneClick = await fetch(unsubscribeUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.status).toBe(200);
    expect((await fetch(`${unsubscribeUrl.slice(0, -3)}xyz`, { method: 'POST' })).status).toBe(400);

    const cy = (await api<{ items: Array<{ id: string }> }>('GET', '/profiles?q=cy@example.com')).body
      .items[0]?.id as string;
    const subscriptions = await api<{
      topics: Record<string, boolean>;
      channels: Record<'email' | 'sms', Record<string, boolean>>;
    }>('GET', `/profiles/${cy}/subscriptions`);
    // The link was an e-mail's: the contact left marketing e-mails, not texts.
    expect(subscriptions.body).toMatchObject({
      topics: { marketing: false },
      channels: { email: { marketing: false }, sms: { marketing: true } },
    });

    const before = sink.received.length;
    const analytics = new Analytics({ writeKey: world.writeKey, host: world.url, flushAt: 1 });
    analytics.track({ userId: 'cy', event: 'Cart Updated', properties: { cart_id: 'c-cy-2', items: 1 } });
    await analytics.closeAndFlush();
    const suppressed = await eventually(async () => {
      const log = await api<{ items: Array<{ status: string; reason: string; profileId: string }> }>(
        'GET',
        `/messages?profileId=${cy}`,
      );
      return log.body.items.find((message) => message.status === 'suppressed');
    }, 15_000);
    expect(suppressed.reason).toBe('unsubscribed from marketing');
    expect(sink.received.length).toBe(before);
  });

  it('reports per step and per message', async () => {
    const report = await api<{
      entered: number;
      converted: number;
      steps: Record<string, { entered: number; completed: number; converted: number }>;
      messages: Record<
        string,
        { sent: number; opened: number; clicked: number; unsubscribed: number; suppressed: number }
      >;
    }>('GET', `/journeys/${journeyId}/report`);
    expect(report.body.entered).toBe(4);
    expect(report.body.converted).toBe(1);
    expect(report.body.steps['wait-for-order']).toMatchObject({ entered: 4, converted: 1 });
    expect(report.body.messages.reminder).toMatchObject({
      sent: 2,
      opened: 1,
      clicked: 1,
      unsubscribed: 1,
      suppressed: 1,
    });
  });
});
