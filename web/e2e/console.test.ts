import { Analytics } from '@segment/analytics-node';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackingUrls } from '../../src/test-support/api-client.js';
import type { ReceivedMail } from '../../src/test-support/smtp-sink.js';
import { type ConsoleWorld, startConsoleWorld, unlabelledControls } from './harness.js';

/**
 * The abandoned-cart flow in the browser alone, against a real server: log in, set the SMTP server,
 * write the e-mail template, create a write key, draw the journey on the canvas by dragging and
 * connecting, publish it; then the shop's Segment client sends events, the e-mail arrives at a real
 * SMTP server, its reader opens it and clicks, and the canvas counts all of it — in English and
 * Italian. Screenshots of each screen land in artifacts/screenshots (git-ignored).
 */
describe('web console (Chromium)', () => {
  let consoleWorld: ConsoleWorld;
  let page: Page;

  beforeAll(async () => {
    // Nothing is set up through the API: SMTP, the template, the key and the journey come from the browser.
    consoleWorld = await startConsoleWorld({ configureSmtp: false });
    page = consoleWorld.page;
  }, 120_000);

  afterAll(async () => {
    await consoleWorld?.close();
  });

  const shot = (name: string) => consoleWorld.shot(name);
  /** The console's main navigation (pages link to each other too). */
  const nav = () => page.getByRole('navigation', { name: /Main|Principale/ });
  /** Drags from a React Flow handle to another, with the mouse, as a person connects two steps. */
  async function connect(from: Locator, to: Locator) {
    const start = await from.boundingBox();
    const end = await to.boundingBox();
    if (!start || !end) throw new Error('handle not visible');
    await page.mouse.move(start.x + start.width / 2, start.y + start.height / 2);
    await page.mouse.down();
    await page.mouse.move(end.x + end.width / 2, end.y + end.height / 2, { steps: 12 });
    await page.mouse.up();
  }

  const handle = (nodeId: string, port: string) => page.getByTestId(`handle-${nodeId}-${port}`);
  const inputOf = (nodeId: string) =>
    page.getByTestId(`node-${nodeId}`).locator('.react-flow__handle.target');

  it('takes a marketer from log-in to a published journey that delivers a tracked e-mail, in English and Italian', async () => {
    const { world, sink, admin } = consoleWorld;

    await page.goto(world.url);
    await expect.poll(() => page.getByRole('heading', { name: 'Log in to Mops' }).isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Log in' }).click();
    // The form checks before sending: the error sits next to the empty field.
    expect(await page.getByRole('alert').first().textContent()).toBe('Required');
    await page.getByLabel('E-mail').fill(admin.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    // Said as it is: the password is wrong, not a session that has ended.
    await page.getByText('Log-in failed: The e-mail or the password is wrong.').waitFor();
    await page.getByLabel('Password').fill(admin.password);
    await shot('login');
    expect(await unlabelledControls(page)).toEqual([]);
    await page.getByRole('button', { name: 'Log in' }).click();
    await nav().getByRole('link', { name: 'Journeys' }).click();
    await page.getByRole('heading', { name: 'Journeys' }).waitFor();
    await page.getByText('No journeys yet').waitFor();
    // The window is named after the page, and focus starts at the page, not on the link left behind.
    await expect.poll(() => page.title()).toBe('Journeys · Mops');
    expect(await page.evaluate('document.activeElement?.id')).toBe('main');

    // Where e-mail goes out: the shop's SMTP server (a real one on loopback here).
    await nav().getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByLabel('Host', { exact: true }).fill('127.0.0.1');
    await page.getByLabel('Port', { exact: true }).fill(String(sink.port));
    await page.getByLabel('Security', { exact: true }).selectOption({ label: 'None (local relay)' });
    await page.getByLabel('From address', { exact: true }).fill('Shop <shop@example.com>');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved', { exact: true }).waitFor();

    // The reminder e-mail, written in the template editor (it starts from a responsive layout with a link).
    await nav().getByRole('link', { name: 'Templates' }).click();
    await page.getByLabel('Name of the new template').fill('Cart reminder');
    await page.getByRole('button', { name: 'New template' }).click();
    await page.getByRole('heading', { name: 'Cart reminder' }).waitFor();
    await page
      .getByLabel('Subject', { exact: true })
      .fill('You left something behind, {{ profile.traits.first_name }}');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();

    // A write key, shown once, for the shop's Segment client.
    await nav().getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await page.getByLabel('Name').fill('Web shop');
    await page.getByRole('button', { name: 'Create' }).click();
    const writeKey = (await page.getByTestId('new-key').textContent()) ?? '';
    expect(writeKey).toMatch(/^wk_/);
    // Each key says who made it: this one the admin logged in, the test world's the command line.
    const keyRow = (text: string) => page.getByRole('row').filter({ hasText: text }).first();
    await expect.poll(() => keyRow('Web shop').textContent()).toContain(admin.email);
    // The hint ends in one ellipsis, the one the server gives it.
    expect(await keyRow('Web shop').getByRole('code').textContent()).toBe(`${writeKey.slice(0, 10)}…`);
    expect(await keyRow('the command line').isVisible()).toBe(true);
    await shot('api-keys');
    expect(await unlabelledControls(page)).toEqual([]);

    await nav().getByRole('link', { name: 'Journeys' }).click();
    await page.getByLabel('Name of the new journey').fill('Abandoned cart');
    await page.getByRole('button', { name: 'New journey' }).click();
    await page.getByRole('heading', { name: 'Abandoned cart' }).waitFor();

    // The entry: on Product Added; an order is the goal.
    await page.getByTestId('node-entry').click();
    await page.getByLabel('Event name').fill('Product Added');
    await page.getByLabel('Goal event (optional)').fill('Order Completed');
    await page.getByLabel('Counts as converted within (e.g. 7d)').fill('7d');
    await page.getByLabel('Re-entry').selectOption('once_per_period');
    await page.getByLabel('Period (e.g. 30d)').fill('7d');

    // Two steps dragged from the palette onto the canvas, side by side between the entry and the exit.
    const canvas = page.locator('.canvas');
    const box = await canvas.boundingBox();
    if (!box) throw new Error('no canvas');
    await page.getByTestId('palette-wait_for_event').dragTo(canvas, {
      targetPosition: { x: box.width * 0.05, y: box.height * 0.38 },
    });
    await page.getByLabel('Event name').fill('Order Completed');
    await page.getByLabel('Timeout (e.g. 1d)').fill('2s');
    await page.getByTestId('palette-send_email').dragTo(canvas, {
      targetPosition: { x: box.width * 0.62, y: box.height * 0.38 },
    });
    await page.getByLabel('E-mail template').selectOption({ label: 'Cart reminder' });

    // Publishing before the steps are connected shows what is missing, on the steps themselves.
    await page.getByRole('button', { name: 'Publish' }).click();
    await page
      .getByTestId('node-wait_for_event_1')
      .getByText(/timeout connects to nothing/)
      .waitFor();

    await connect(
      page.getByTestId('node-entry').locator('.react-flow__handle.source'),
      inputOf('wait_for_event_1'),
    );
    await connect(handle('wait_for_event_1', 'next'), inputOf('exit_1'));
    await connect(handle('wait_for_event_1', 'timeoutNext'), inputOf('send_email_1'));
    // The keyboard's way: the step's side panel says what each of its ports leads to.
    await page.getByTestId('node-send_email_1').click();
    await page.getByRole('combobox', { name: 'next', exact: true }).selectOption('exit_1');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.getByText('Draft saved').waitFor();
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.getByText('Published as version 1').waitFor();

    // What the browser drew is what the server runs.
    const saved = (await (
      await fetch(`${world.url}/api/workspaces/${world.workspaceId}/journeys`, {
        headers: { authorization: `Bearer ${world.secretKey}` },
      })
    ).json()) as { items: Array<{ status: string; draft: { start: string; steps: unknown[] } }> };
    expect(saved.items[0]?.status).toBe('published');
    expect(saved.items[0]?.draft.start).toBe('wait_for_event_1');
    expect(saved.items[0]?.draft).toMatchObject({
      goal: { event: 'Order Completed', within: '7d' },
      entry: { reentry: { policy: 'once_per_period', period: '7d' } },
    });
    expect(saved.items[0]?.draft.steps).toContainEqual(
      expect.objectContaining({ id: 'wait_for_event_1', next: 'exit_1', timeoutNext: 'send_email_1' }),
    );
    const templates = await consoleWorld.api<{ items: Array<{ id: string; name: string }> }>(
      'GET',
      '/templates',
    );
    const templateId = templates.body.items.find((template) => template.name === 'Cart reminder')?.id;
    expect(saved.items[0]?.draft.steps).toContainEqual(
      expect.objectContaining({ id: 'send_email_1', template: templateId, next: 'exit_1' }),
    );
    await shot('journey-builder');
    expect(await unlabelledControls(page)).toEqual([]);

    // The shop's Segment client, with the key made in the browser.
    const analytics = new Analytics({ writeKey, host: world.url, flushAt: 1 });
    analytics.identify({ userId: 'ada', traits: { email: 'ada@example.com', first_name: 'Ada' } });
    analytics.track({ userId: 'ada', event: 'Product Added', properties: { sku: 'SKU-1' } });
    // A visitor known by no e-mail address: the reminder is not sent, and the canvas says so.
    analytics.track({ userId: 'bo', event: 'Product Added', properties: { sku: 'SKU-2' } });
    await analytics.closeAndFlush();
    const [mail] = await sink.waitFor(1, 30_000);
    expect(mail?.to).toEqual(['ada@example.com']);
    expect(mail?.parsed.subject).toBe('You left something behind, Ada');

    // The canvas polls the report: the e-mail step now counts Ada.
    await expect
      .poll(() => page.getByTestId('counts-send_email_1').textContent(), { timeout: 15_000 })
      .toBe('2 entered · 0 waiting');
    await expect
      .poll(() => page.getByTestId('not-sent-send_email_1').textContent(), { timeout: 15_000 })
      .toBe('1 skipped');
    // Its reader opens it and follows its link: the canvas counts both.
    const { pixel, click } = trackingUrls(mail as ReceivedMail);
    expect((await fetch(pixel)).status).toBe(200);
    expect((await fetch(click, { redirect: 'manual' })).status).toBe(302);
    await expect
      .poll(() => page.getByTestId('messages-send_email_1').textContent(), { timeout: 15_000 })
      .toBe('1 sent · 1 opened · 1 clicked');
    await shot('journey-counts');

    await page.getByLabel('Language').selectOption('it');
    await page.getByRole('button', { name: 'Pubblica' }).waitFor();
    expect(await page.getByTestId('counts-send_email_1').textContent()).toBe('entrati: 2 · in attesa: 0');
    expect(await page.getByTestId('not-sent-send_email_1').textContent()).toBe('saltati: 1');
    expect(await page.getByTestId('messages-send_email_1').textContent()).toBe(
      'inviati: 1 · aperti: 1 · cliccati: 1',
    );
    expect(await page.locator('html').getAttribute('lang')).toBe('it');
    await nav().getByRole('link', { name: 'Percorsi' }).click();
    await page.getByRole('columnheader', { name: 'Convertiti' }).waitFor();
    await shot('journeys-it');
    // The choice is remembered on the next visit.
    await page.reload();
    await page.getByRole('heading', { name: 'Percorsi' }).waitFor();
    // Logging out lands on the log-in page, and the API no longer answers this browser.
    await page.getByRole('button', { name: 'Esci' }).click();
    await page.getByRole('heading', { name: 'Accedi a Mops' }).waitFor();
    expect((await page.request.get(`${world.url}/api/auth/me`)).status()).toBe(401);
  }, 180_000);
});
