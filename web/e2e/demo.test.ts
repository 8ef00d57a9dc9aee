import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveMomentCounts } from '../../src/demo/demo-shop.js';
import { type ConsoleWorld, startConsoleWorld } from './harness.js';

/** A newcomer fills the empty workspace with the demo shop from the console and finds it alive. */
describe('demo shop from the console (Chromium)', () => {
  let consoleWorld: ConsoleWorld;
  let page: Page;

  beforeAll(async () => {
    consoleWorld = await startConsoleWorld();
    page = consoleWorld.page;
  }, 120_000);

  afterAll(async () => {
    await consoleWorld?.close();
  });

  it('loads ten thousand contacts with their month, segments, scores and two published journeys from the first screen', async () => {
    await consoleWorld.logIn();
    const nav = page.getByRole('navigation', { name: 'Main' });
    await page.getByRole('button', { name: 'Load the demo shop' }).click();
    await page.getByText(/Loading the demo shop/).waitFor();
    // Once loaded, the dashboard's empty journey charts give way to the demo's journeys.
    await page
      .locator('option', { hasText: 'Abandoned cart' })
      .waitFor({ state: 'attached', timeout: 120_000 });
    await consoleWorld.shot('demo-dashboard');

    await nav.getByRole('link', { name: 'Journeys' }).click();
    await page.getByRole('link', { name: 'Abandoned cart' }).waitFor();
    await page.getByRole('link', { name: 'Welcome new customers' }).waitFor();
    expect(await page.getByText('Published').count()).toBe(2);

    await nav.getByRole('link', { name: 'Contacts' }).click();
    await page.getByRole('heading', { name: 'Contacts' }).waitFor();
    await page.getByLabel('Search contacts', { exact: true }).fill('demo-42');
    await page.keyboard.press('Enter');
    await page
      .getByText(/\.42@example\.com/)
      .first()
      .waitFor();

    // Segments and scores were kept as the month came in: the newcomer finds them filled.
    await nav.getByRole('link', { name: 'Segments' }).click();
    await page.getByRole('link', { name: 'Cart abandoners' }).waitFor();
    await page.getByRole('link', { name: 'Hot leads' }).waitFor();
    await consoleWorld.shot('demo-segments');
    await nav.getByRole('link', { name: 'Scoring' }).click();
    await expect
      .poll(() =>
        page
          .getByTestId('distribution-summary-engagement')
          .textContent()
          .catch(() => ''),
      )
      .toMatch(/^[\d,]+ contacts scored/);
    await page.getByTestId('distribution-summary-fit').waitFor();
    await consoleWorld.shot('demo-scoring');

    // The month of history went in before the journeys did; today's few sign-ups and carts entered them.
    const live = liveMomentCounts(10_000);
    await expect
      .poll(async () => {
        const journeys = await consoleWorld.api<{
          items: Array<{ name: string; counts: { entered: number } }>;
        }>('GET', '/journeys');
        return Object.fromEntries(
          journeys.body.items.map((journey) => [journey.name, journey.counts.entered]),
        );
      })
      .toEqual({ 'Welcome new customers': live.signUps, 'Abandoned cart': live.carts });
    const [welcome] = await consoleWorld.sink.waitFor(1, 30_000);
    expect(welcome?.parsed.subject).toMatch(/^Welcome to the shop, \w+!$/);
  }, 180_000);
});
