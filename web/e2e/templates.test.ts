import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth } from '../../src/test-support/world.js';
import { type ConsoleWorld, SCREENSHOTS, startConsoleWorld } from './harness.js';

/**
 * The template editor in a real browser against a real server: create a template, write MJML with
 * Liquid, preview it as a real contact at desktop and mobile widths and as plain text, see a Liquid
 * error by the field that has it, save, send a test that arrives at a real SMTP server, and read the
 * editor in Italian.
 */
describe('e-mail template editor (Chromium)', () => {
  let consoleWorld: ConsoleWorld;
  let page: Page;

  beforeAll(async () => {
    consoleWorld = await startConsoleWorld();
    page = consoleWorld.page;
  }, 120_000);

  afterAll(async () => {
    await consoleWorld?.close();
  });

  const previewFrame = () => page.frameLocator('iframe[title="Preview of the e-mail"]');
  /**
   * The preview frame alone. Taken before a full-page shot, it also waits for the sandboxed frame to be
   * painted, which a full-page shot alone does not.
   */
  const previewShot = (name: string) =>
    page.locator('.preview-frame iframe').screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
  const fieldOf = (label: string) => page.locator('.field', { has: page.getByLabel(label, { exact: true }) });

  it('edits, previews as a contact, saves and test-sends a personalised template, in English and Italian', async () => {
    const { world, sink } = consoleWorld;
    // A contact to preview as, identified the way a website would.
    const response = await fetch(`${world.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basicAuth(world.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [
          {
            type: 'identify',
            userId: 'ada',
            traits: { first_name: 'Ada', email: 'ada@example.com' },
            messageId: 'tpl-e2e-1',
          },
        ],
      }),
    });
    expect(response.status).toBe(200);
    await expect
      .poll(
        async () =>
          (await consoleWorld.api<{ items: unknown[] }>('GET', '/profiles?q=ada')).body.items.length,
        { timeout: 15_000 },
      )
      .toBe(1);
    await consoleWorld.logIn();
    await page.getByRole('link', { name: 'Templates' }).click();
    await page.getByRole('heading', { name: 'E-mail templates' }).waitFor();
    await page.getByText('No templates yet').waitFor();

    // A name is required before anything is sent.
    await page.getByRole('button', { name: 'New template' }).click();
    expect(await fieldOf('Name of the new template').getByRole('alert').textContent()).toBe('Required');
    await page.getByLabel('Name of the new template').fill('Welcome');
    await page.getByRole('button', { name: 'New template' }).click();
    await page.getByRole('heading', { name: 'Welcome' }).waitFor();

    // The skeleton renders at once, greeting a contact whose name is unknown.
    await previewFrame().getByText('Hello there,').waitFor();

    await page.getByLabel('Subject', { exact: true }).fill('Welcome aboard, {{ profile.traits.first_name }}');
    const source = page.getByLabel('MJML and Liquid source');
    await source.fill(
      [
        '<mjml>',
        '  <mj-body>',
        '    <mj-section>',
        '      <mj-column>',
        '        <mj-text>Hello {{ profile.traits.first_name }}, glad you joined.</mj-text>',
        '      </mj-column>',
        '    </mj-section>',
        '  </mj-body>',
        '</mjml>',
      ].join('\n'),
    );
    // Tab indents inside the source; Escape then Tab moves on to the next field.
    await source.press('Control+Home');
    await source.press('Tab');
    expect(await source.inputValue()).toMatch(/^ {2}<mjml>/);
    expect(await source.evaluate((element) => element.matches(':focus'))).toBe(true);
    await source.press('Escape');
    await source.press('Tab');
    expect(
      await page.getByLabel('Plain-text part (optional)').evaluate((element) => element.matches(':focus')),
    ).toBe(true);

    // Previewed as Ada, found by searching the contacts.
    await page.getByLabel('Search contacts (name, e-mail, user id)').fill('Ada');
    await page.getByRole('button', { name: 'Ada <ada@example.com>' }).click();
    await previewFrame().getByText('Hello Ada, glad you joined.').waitFor();
    await expect.poll(() => page.getByTestId('preview-subject').textContent()).toBe('Welcome aboard, Ada');
    await previewShot('template-preview');
    await consoleWorld.shot('template-editor');

    const frame = page.locator('iframe[title="Preview of the e-mail"]');
    expect(await frame.getAttribute('sandbox')).toBe('');
    expect((await frame.boundingBox())?.width).toBeGreaterThanOrEqual(600);
    await page.getByRole('button', { name: 'Mobile' }).click();
    expect((await frame.boundingBox())?.width).toBe(375);
    await page.getByRole('button', { name: 'Plain text' }).click();
    await expect
      .poll(() => page.getByTestId('preview-text').textContent())
      .toContain('Hello Ada, glad you joined.');
    await page.getByRole('button', { name: 'HTML' }).click();

    // A Liquid mistake in the subject is shown by the subject, and what was typed stays.
    const broken = 'Welcome aboard, {{ profile.traits.first_name | shout }}';
    await page.getByLabel('Subject', { exact: true }).fill(broken);
    await expect
      .poll(() => fieldOf('Subject').getByRole('alert').textContent(), { timeout: 10_000 })
      .toMatch(/shout/);
    expect(await page.getByLabel('Subject', { exact: true }).inputValue()).toBe(broken);
    expect(await page.getByLabel('Subject', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    // Saving it is refused by the server, with the reason by the same field.
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Fix the highlighted fields.').waitFor();

    await page.getByLabel('Subject', { exact: true }).fill('Welcome aboard, {{ profile.traits.first_name }}');
    await expect.poll(() => fieldOf('Subject').getByRole('alert').count()).toBe(0);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const saved = await consoleWorld.api<{ items: Array<{ subject: string; mjml: string }> }>(
      'GET',
      '/templates',
    );
    expect(saved.body.items[0]?.subject).toBe('Welcome aboard, {{ profile.traits.first_name }}');
    expect(saved.body.items[0]?.mjml).toContain('glad you joined.');

    // A test send personalised for Ada arrives at the SMTP server; the unsaved preheader is saved first.
    await page.getByLabel('Preheader (optional)').fill('Your first steps, {{ profile.traits.first_name }}');
    await page.getByText('Unsaved changes', { exact: true }).waitFor();
    await page.getByLabel('Send to address').fill('qa@example.com');
    await page.getByRole('button', { name: 'Send test e-mail' }).click();
    await page.getByText('Test e-mail sent to qa@example.com.').waitFor();
    const [mail] = await sink.waitFor(1, 30_000);
    expect(mail?.to).toEqual(['qa@example.com']);
    expect(mail?.parsed.subject).toBe('Welcome aboard, Ada');
    expect(mail?.parsed.html || '').toContain('Hello Ada, glad you joined.');
    expect(mail?.parsed.html || '').toContain('Your first steps, Ada');
    const afterTest = await consoleWorld.api<{ items: Array<{ preheader: string | null }> }>(
      'GET',
      '/templates',
    );
    expect(afterTest.body.items[0]?.preheader).toBe('Your first steps, {{ profile.traits.first_name }}');

    // The editor in Italian.
    await page.getByLabel('Language').selectOption('it');
    await page.getByLabel('Oggetto', { exact: true }).waitFor();
    await page.getByRole('heading', { name: 'Anteprima' }).waitFor();
    await page.getByRole('button', { name: 'Invia e-mail di prova' }).waitFor();
    await page.getByRole('button', { name: 'Salva' }).waitFor();
    await page.getByText('E-mail di prova inviata a qa@example.com.').waitFor();
    await previewShot('template-preview-mobile');
    await consoleWorld.shot('template-editor-it');

    await page.getByRole('link', { name: 'Tutti i modelli' }).click();
    await page.getByLabel('Lingua').selectOption('en');
    await page.getByRole('link', { name: 'Welcome' }).waitFor();
    await page.getByRole('cell', { name: 'Welcome aboard, {{ profile.traits.first_name }}' }).waitFor();
    await consoleWorld.shot('templates');
  }, 180_000);

  it('asks before leaving a template with unsaved changes, and leaves a saved one freely', async () => {
    // The list page (the test above ends there), then the template it made.
    await page.getByRole('link', { name: 'Welcome' }).click();
    const subject = page.getByLabel('Subject', { exact: true });
    await subject.fill('Welcome aboard!');
    await page.getByText('Unsaved changes', { exact: true }).waitFor();

    await page.getByRole('link', { name: 'All templates' }).click();
    const dialog = page.getByRole('alertdialog', { name: 'Leave without saving?' });
    await dialog.waitFor();
    await consoleWorld.shot('template-unsaved-leave');
    await dialog.getByRole('button', { name: 'Stay and keep editing' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await subject.inputValue()).toBe('Welcome aboard!');

    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText(/^Saved · /).waitFor();
    await page.getByRole('link', { name: 'All templates' }).click();
    await page.getByRole('cell', { name: 'Welcome aboard!' }).waitFor();
    expect(await dialog.count()).toBe(0);
  }, 120_000);
});
