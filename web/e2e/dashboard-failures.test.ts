import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth } from '../../src/test-support/world.js';
import { type ConsoleWorld, startConsoleWorld } from './harness.js';

/**
 * A newcomer publishes a welcome journey before setting up e-mail: its messages fail, and the
 * dashboard says so and why — it once said "No messages in this range" while every one had failed.
 */
describe('dashboard: failed messages (Chromium)', () => {
  let consoleWorld: ConsoleWorld;
  let page: Page;

  beforeAll(async () => {
    consoleWorld = await startConsoleWorld({ configureSmtp: false });
    page = consoleWorld.page;
  }, 120_000);

  afterAll(async () => {
    await consoleWorld?.close();
  });

  it('counts messages that failed and names the reason, for the channel chosen', async () => {
    const { api, world } = consoleWorld;
    const template = await api<{ id: string }>('POST', '/templates', {
      name: 'Welcome',
      subject: 'Welcome aboard',
      mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hello.</mj-text></mj-column></mj-section></mj-body></mjml>',
    });
    expect(template.status).toBe(201);
    const journey = await api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'Welcome',
        entry: { trigger: { type: 'event', event: 'Signed Up', conditions: [] } },
        start: 'welcome',
        steps: [
          { id: 'welcome', type: 'send_email', template: template.body.id, next: 'done' },
          { id: 'done', type: 'exit' },
        ],
      },
    });
    expect(journey.status).toBe(201);
    expect((await api('POST', `/journeys/${journey.body.id}/publish`)).status).toBe(200);
    const sent = await fetch(`${world.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basicAuth(world.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: ['ada', 'bo'].flatMap((userId) => [
          { type: 'identify', userId, traits: { email: `${userId}@example.com` } },
          { type: 'track', userId, event: 'Signed Up' },
        ]),
      }),
    });
    expect(sent.status).toBe(200);
    await expect
      .poll(
        async () =>
          (await api<{ items: Array<{ status: string }> }>('GET', '/messages')).body.items.map(
            (message) => message.status,
          ),
        { timeout: 30_000 },
      )
      .toEqual(['failed', 'failed']);

    await consoleWorld.logIn();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    const summary = page.getByTestId('messages-chart-summary');
    await expect
      .poll(() => summary.textContent().catch(() => null))
      .toBe('Sent: 0 · opened: 0 · clicked: 0 · bounced: 0 · failed: 2');
    const failures = page.getByTestId('message-failures');
    await expect
      .poll(() => failures.locator('li').allTextContents())
      .toEqual(['2 E-mail: no SMTP server is set up for this workspace']);
    await failures.getByRole('link', { name: 'Check the channels in Settings' }).waitFor();
    await consoleWorld.shot('dashboard-failed-messages');

    // Another channel's messages: none failed, so no reasons either.
    await page.getByLabel('Channel').selectOption({ label: 'SMS' });
    await page.getByText(/No messages in this range/).waitFor();
    expect(await failures.count()).toBe(0);
  });

  it('says which messages wait to go out now, and why, though none was sent or given up on', async () => {
    const { api, world } = consoleWorld;
    // A CRM that answers every call with an error: the call is retried, neither sent nor failed yet.
    const receiver = createServer((_request, response) => response.writeHead(503).end());
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = receiver.address() as AddressInfo;
      const settings = await api('PUT', '/settings', {
        webhooks: {
          destinations: [{ id: 'crm', url: `http://127.0.0.1:${port}/hooks` }],
          allowPrivateNetworks: true,
        },
      });
      expect(settings.status).toBe(200);
      const journey = await api<{ id: string }>('POST', '/journeys', {
        definition: {
          name: 'CRM sync',
          entry: { trigger: { type: 'event', event: 'Trial Started', conditions: [] } },
          start: 'tell_crm',
          steps: [
            { id: 'tell_crm', type: 'webhook', destination: 'crm', next: 'done' },
            { id: 'done', type: 'exit' },
          ],
        },
      });
      expect((await api('POST', `/journeys/${journey.body.id}/publish`)).status).toBe(200);
      const sent = await fetch(`${world.url}/v1/track`, {
        method: 'POST',
        headers: { authorization: basicAuth(world.writeKey), 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'cy', event: 'Trial Started' }),
      });
      expect(sent.status).toBe(200);

      await page.goto(`${world.url}/dashboard`);
      await page.getByLabel('Channel').selectOption({ label: 'Webhooks' });
      await page.getByText(/No messages in this range/).waitFor();
      const waiting = page.getByTestId('messages-waiting');
      await expect
        .poll(() => waiting.locator('li').allTextContents(), { timeout: 30_000 })
        .toEqual([expect.stringMatching(/^1 Webhooks: trying again: .*503/)]);
      await consoleWorld.shot('dashboard-waiting-messages');
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  }, 120_000);
});
