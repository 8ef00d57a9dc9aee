import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, eventually } from '../../src/test-support/world.js';
import { type ConsoleWorld, startConsoleWorld } from './harness.js';

interface DeadLetterJson {
  id: string;
  profileId: string;
  journeyId: string | null;
  stepId: string | null;
  toAddress: string | null;
  webhookDestination: string | null;
  status: string;
  reason: string | null;
  attempts: number;
  createdAt: string;
}

interface ReceivedCall {
  path: string;
  body: string;
  headers: IncomingHttpHeaders;
}

/**
 * The dead-letter list of the Webhooks settings in a real browser, fed by a real failure: a journey's
 * webhook step, entered by an event sent through /v1/batch, calls a real HTTP server on 127.0.0.1 that
 * refuses it with 422; the console shows the failed call with its address and last error, and its
 * re-drive button makes the server receive the same call again, now accepted.
 */
describe('webhook dead letters (Chromium)', () => {
  let consoleWorld: ConsoleWorld;
  let page: Page;
  let receiver: Server;
  let port = 0;
  const calls: ReceivedCall[] = [];
  /** What the receiver answers; a refusal until the test says otherwise. */
  let answer = 422;
  const refusal = '{"error":"owner is required"}';

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        calls.push({ path: request.url ?? '', body, headers: request.headers });
        if (answer === 204) response.writeHead(204).end();
        else response.writeHead(answer, { 'content-type': 'application/json' }).end(refusal);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as { port: number }).port;

    consoleWorld = await startConsoleWorld();
    page = consoleWorld.page;
    // A step that waits in vain fails on its own line, well before the test's timeout.
    page.setDefaultTimeout(10_000);
    const current = await consoleWorld.api<Record<string, unknown>>('GET', '/settings');
    const seeded = await consoleWorld.api('PUT', '/settings', {
      ...current.body,
      webhooks: {
        destinations: [{ id: 'crm', url: `http://127.0.0.1:${port}/hooks` }],
        allowPrivateNetworks: true,
      },
    });
    expect(seeded.status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    receiver?.closeAllConnections();
    receiver?.close();
    await consoleWorld?.close();
  });

  /** Segment calls go in with the write key, as a site would send them. */
  async function send(batch: unknown[]) {
    const { world } = consoleWorld;
    const response = await fetch(`${world.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basicAuth(world.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
    expect(response.status).toBe(200);
  }

  const deadLetters = async () =>
    (await consoleWorld.api<{ items: DeadLetterJson[] }>('GET', '/webhooks/dead-letters')).body.items;

  it('shows a call the receiver refused with its address and last error, and re-drives it to the receiver', async () => {
    const { api } = consoleWorld;
    const created = await api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'Hand qualified leads to the CRM',
        entry: { trigger: { type: 'event', event: 'Lead Qualified' } },
        start: 'hand-off',
        steps: [
          {
            id: 'hand-off',
            type: 'webhook',
            destination: 'crm',
            path: '/leads',
            body: '{"user": {{ profile.userId | json }}, "plan": {{ event.properties.plan | json }}}',
            next: 'done',
          },
          { id: 'done', type: 'exit' },
        ],
      },
    });
    expect(created.status).toBe(201);
    const journeyId = created.body.id;
    expect((await api('POST', `/journeys/${journeyId}/publish`)).status).toBe(200);

    await send([
      { type: 'identify', userId: 'lea', traits: { email: 'lea@example.com' } },
      { type: 'track', userId: 'lea', event: 'Lead Qualified', properties: { plan: 'team' } },
    ]);
    const reason = `HTTP 422 from 127.0.0.1:${port}: ${refusal}`;
    const address = `http://127.0.0.1:${port}/hooks/leads`;
    const deadLetter = await eventually(async () =>
      (await deadLetters()).find((item) => item.journeyId === journeyId),
    );
    expect(deadLetter).toMatchObject({
      stepId: 'hand-off',
      attempts: 1,
      toAddress: address,
      status: 'failed',
      reason,
    });
    // A 422 is final: one call, not retried, and it carried the rendered body to the step's path.
    expect(calls).toHaveLength(1);
    expect(calls[0]?.path).toBe('/hooks/leads');
    expect(JSON.parse(calls[0]?.body ?? '')).toEqual({ user: 'lea', plan: 'team' });

    await consoleWorld.logIn();
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    await page.getByRole('tab', { name: 'Webhooks' }).click();
    const table = page.getByTestId('dead-letters');
    const rows = table.locator('tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    const cells = rows.first().getByRole('cell');
    // Who the call was about, by who they are.
    await cells.nth(2).getByRole('link', { name: 'lea@example.com' }).waitFor();
    expect((await cells.allTextContents()).slice(1)).toEqual([
      'Hand qualified leads to the CRM (step hand-off)',
      'lea@example.com',
      'crm',
      address,
      '1',
      reason,
      'Call again',
    ]);
    // The contact the call was about, a click away.
    expect(await cells.nth(2).getByRole('link').getAttribute('href')).toBe(
      `/contacts/${deadLetter.profileId}?tab=messages`,
    );
    expect(await cells.first().locator('time').getAttribute('datetime')).toBe(deadLetter.createdAt);
    expect(await page.getByText('No failed calls.').count()).toBe(0);
    await consoleWorld.shot('settings-webhook-dead-letters');

    answer = 204;
    await page.getByRole('button', { name: 'Call them all again', exact: true }).click();
    expect(await page.getByRole('status').filter({ hasText: 'queued again' }).textContent()).toBe(
      '1 call queued again: the dashboard lists it under Waiting to go out now until it goes.',
    );
    await page.getByText('No failed calls.').waitFor();
    expect(await table.count()).toBe(0);

    // The receiver really got the call again: the same message, with the same body and idempotency key.
    await expect.poll(() => calls.length).toBe(2);
    const [first, second] = calls;
    expect(second?.path).toBe('/hooks/leads');
    expect(second?.body).toBe(first?.body);
    expect(second?.headers['mops-webhook-id']).toBe(deadLetter.id);
    expect(second?.headers['idempotency-key']).toBe(first?.headers['idempotency-key']);
    const sent = await eventually(async () => {
      const listed = await api<{ items: DeadLetterJson[] }>('GET', `/messages?journeyId=${journeyId}`);
      const message = listed.body.items.find((item) => item.id === deadLetter.id);
      return message?.status === 'sent' ? message : undefined;
    });
    expect(sent.reason).toBeNull();
    expect(await deadLetters()).toEqual([]);

    // A call failing while the list is open shows up in it, without a reload.
    answer = 422;
    await send([
      { type: 'identify', userId: 'max', traits: { email: 'max@example.com' } },
      { type: 'track', userId: 'max', event: 'Lead Qualified', properties: { plan: 'pro' } },
    ]);
    await rows.first().waitFor({ timeout: 30_000 });
    expect(await rows.count()).toBe(1);

    // Mended at the receiver, that one call is called again on its own.
    answer = 204;
    await rows
      .first()
      .getByRole('button', { name: /^Call again: Hand qualified leads to the CRM/ })
      .click();
    await page.getByText('No failed calls.').waitFor();
    await expect.poll(() => calls.length).toBe(4);
  });

  it('sends a test to a saved destination and says what the receiver answered', async () => {
    const before = calls.length;
    answer = 204;
    await page.getByRole('button', { name: 'Send a test to crm' }).click();
    const outcome = page.getByRole('status').filter({ hasText: /delivered/i });
    await expect
      .poll(() => outcome.textContent())
      .toMatch(new RegExp(`^Delivered to http://127\\.0\\.0\\.1:${port}/hooks: HTTP 204 in \\d+ ms\\.$`));
    expect(calls).toHaveLength(before + 1);
    expect(JSON.parse(calls[before]?.body ?? '')).toMatchObject({ type: 'mops.test', destination: 'crm' });

    answer = 422;
    await page.getByRole('button', { name: 'Send a test to crm' }).click();
    await expect
      .poll(() => outcome.textContent())
      .toBe(`Not delivered to http://127.0.0.1:${port}/hooks: HTTP 422 from 127.0.0.1:${port}: ${refusal}`);
    await consoleWorld.shot('settings-webhook-test');
    // A test leaves no dead letter behind.
    expect(await deadLetters()).toEqual([]);
  });

  it('lists the dead letters of one destination and calls only those again, its receiver mended', async () => {
    const { api } = consoleWorld;
    const current = await api<{ webhooks: Record<string, unknown> }>('GET', '/settings');
    const saved = await api('PUT', '/settings', {
      ...current.body,
      webhooks: {
        ...current.body.webhooks,
        destinations: [
          { id: 'crm', url: `http://127.0.0.1:${port}/hooks` },
          { id: 'billing', url: `http://127.0.0.1:${port}/billing` },
        ],
      },
    });
    expect(saved.status).toBe(200);
    for (const destination of ['crm', 'billing']) {
      const created = await api<{ id: string }>('POST', '/journeys', {
        definition: {
          name: `Tell ${destination} about upgrades`,
          entry: { trigger: { type: 'event', event: 'Plan Upgraded' } },
          start: 'call',
          steps: [
            { id: 'call', type: 'webhook', destination, path: '/upgrades', next: 'done' },
            { id: 'done', type: 'exit' },
          ],
        },
      });
      expect((await api('POST', `/journeys/${created.body.id}/publish`)).status).toBe(200);
    }
    answer = 422;
    await send([
      { type: 'identify', userId: 'uma', traits: { email: 'uma@example.com' } },
      { type: 'track', userId: 'uma', event: 'Plan Upgraded' },
    ]);
    await eventually(async () => ((await deadLetters()).length === 2 ? true : undefined));

    await page.reload();
    const table = page.getByTestId('dead-letters');
    const rows = table.locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const filter = page.getByLabel('Destination', { exact: true });
    await filter.selectOption('billing');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getByRole('cell').nth(1).textContent()).toBe(
      'Tell billing about upgrades (step call)',
    );
    expect(await rows.first().getByRole('cell').nth(3).textContent()).toBe('billing');
    await consoleWorld.shot('settings-webhook-dead-letters-by-destination');

    // Billing's receiver is mended: its call alone goes again, and the CRM's stays listed.
    const before = calls.length;
    answer = 204;
    await page.getByRole('button', { name: 'Call all to billing again', exact: true }).click();
    await page.getByText('No failed calls to billing.').waitFor();
    await filter.selectOption('');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getByRole('cell').nth(3).textContent()).toBe('crm');
    await expect.poll(() => calls.slice(before).map((call) => call.path)).toEqual(['/billing/upgrades']);
  });
});
