import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonReceiver } from '../../src/test-support/json-receiver.js';
import { basicAuth } from '../../src/test-support/world.js';
import { type ConsoleWorld, startConsoleWorld } from './harness.js';

/**
 * An anonymous visitor reaching MQL in a real browser against a real server: its hand-off shows as
 * owed (awaiting identity, no owner) in the hand-offs list and on its contact page, in English and
 * Italian, and becomes an ordinary one once the visitor signs in.
 */
describe('owed hand-off (Chromium)', () => {
  let consoleWorld: ConsoleWorld;
  let page: Page;
  let crm: JsonReceiver<{ type?: string; profile?: { userId?: string | null } }>;

  beforeAll(async () => {
    consoleWorld = await startConsoleWorld();
    page = consoleWorld.page;
    crm = await new JsonReceiver<{ type?: string; profile?: { userId?: string | null } }>().start();
    const current = await consoleWorld.api<Record<string, unknown>>('GET', '/settings');
    const saved = await consoleWorld.api('PUT', '/settings', {
      ...current.body,
      webhooks: {
        destinations: [{ id: 'crm', url: crm.baseUrl }],
        allowPrivateNetworks: true,
        maxAttempts: 3,
      },
      scoring: {
        models: [
          {
            id: 'engagement',
            name: 'Engagement',
            rules: [{ id: 'pricing', kind: 'event', event: 'Pricing Viewed', points: 25 }],
          },
        ],
      },
      lifecycle: {
        stages: ['lead', 'mql', 'sql'],
        rules: [{ kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 }],
        recycleTo: 'lead',
      },
      handOff: {
        stage: 'mql',
        owners: [{ id: 'marco', name: 'Marco', email: 'marco@example.com' }],
        destination: 'crm',
        acceptWithin: '2d',
      },
    });
    expect(saved.status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await crm?.stop();
    await consoleWorld?.close();
  });

  let sequence = 0;
  async function send(calls: Array<Record<string, unknown>>) {
    const { world } = consoleWorld;
    const timestamp = new Date().toISOString();
    const batch = calls.map((call) => ({ timestamp, messageId: `owed-e2e-${++sequence}`, ...call }));
    const response = await fetch(`${world.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basicAuth(world.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
    expect(response.status).toBe(200);
  }

  it('shows the owed hand-off of an anonymous visitor, then the one made when it signs in', async () => {
    await consoleWorld.logIn();
    const visit = { type: 'track', anonymousId: 'anon-e2e', event: 'Pricing Viewed', properties: {} };
    await send([visit, visit]);
    await page.goto(`${consoleWorld.world.url}/scoring?tab=hand-offs`);
    const table = page.getByTestId('hand-offs');
    const firstRow = () =>
      table
        .locator('tbody tr')
        .first()
        .textContent()
        .catch(() => null);
    await expect
      .poll(firstRow, { timeout: 30_000 })
      .toMatch(/None until the contact is known.*Awaiting identity/);
    await page.getByLabel('Status').selectOption('awaiting_identity');
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 30_000 }).toBe(1);
    await consoleWorld.shot('hand-offs-awaiting-identity');
    expect(crm.received).toEqual([]);

    await page.getByLabel('Language').selectOption('it');
    await expect.poll(firstRow).toMatch(/Nessuno finché il contatto non è noto.*In attesa di identità/);
    await table.getByRole('link').click();
    await page.getByRole('tab', { name: 'Storico delle fasi' }).click();
    const own = page.getByTestId('contact-hand-offs');
    await expect
      .poll(() => own.locator('tbody tr').first().textContent(), { timeout: 30_000 })
      .toMatch(/In attesa di identità.*dovuto dal/);
    await consoleWorld.shot('contact-hand-off-awaiting-identity-it');

    // Signing in makes it known: the hand-off is made, with an owner, and the CRM hears of it.
    await send([{ type: 'identify', userId: 'e2e-user', anonymousId: 'anon-e2e', traits: {} }]);
    await expect
      .poll(() => crm.received.map((body) => [body.type, body.profile?.userId]), { timeout: 30_000 })
      .toEqual([['mops.hand_off.created', 'e2e-user']]);
    await page.reload();
    await expect
      .poll(() => own.locator('tbody tr').first().textContent(), { timeout: 30_000 })
      .toMatch(/Marco.*In attesa.*dovuto dal/);
    await page.getByLabel('Lingua').selectOption('en');
    await expect
      .poll(() => own.locator('tbody tr').first().textContent())
      .toMatch(/Marco.*Pending.*owed since/);
  }, 180_000);
});
