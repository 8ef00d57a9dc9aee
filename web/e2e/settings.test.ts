import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsoleWorld,
  checkboxesWithTextUnder,
  startConsoleWorld,
  stretchedButtons,
  tablesWiderThanTheirBox,
  wideElements,
} from './harness.js';

interface SettingsJson {
  timezone: string;
  smtp?: { host: string; port: number; tls: string; from: string; hasPassword: boolean };
  quietHours: { start: string; end: string } | null;
  topics: Array<{ id: string; name: string; defaultSubscribed: boolean }>;
  webhooks: { destinations: Array<{ id: string; hasSecret: boolean }> };
}

/**
 * The settings screen in a real browser against a real server: SMTP pointed at a real SMTP sink (and a
 * test e-mail through it), a new topic, quiet hours, the server's validation error beside its field,
 * users and roles, the admin's own password, and the screen in Italian. Each section saves without
 * wiping the others.
 */
describe('settings screen (Chromium)', () => {
  let consoleWorld: ConsoleWorld;
  let page: Page;
  const smtpPassword = 'sink-password-1';

  beforeAll(async () => {
    consoleWorld = await startConsoleWorld();
    page = consoleWorld.page;
    // A step that waits in vain fails on its own line, well before the test's timeout.
    page.setDefaultTimeout(10_000);
    // A part of the document this screen does not edit: it must survive every save made here.
    const current = await consoleWorld.api<Record<string, unknown>>('GET', '/settings');
    const seeded = await consoleWorld.api('PUT', '/settings', {
      ...current.body,
      webhooks: {
        destinations: [
          { id: 'crm', url: 'https://crm.example.com/hook', secret: 'a-webhook-secret-of-length' },
        ],
      },
    });
    expect(seeded.status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await consoleWorld?.close();
  });

  const shot = (name: string) => consoleWorld.shot(name);
  const settings = async () => (await consoleWorld.api<SettingsJson>('GET', '/settings')).body;
  const button = (name: string) => page.getByRole('button', { name, exact: true });
  const tab = (name: string) => page.getByRole('tab', { name });
  const label = (name: string) => page.getByLabel(name, { exact: true });
  /** The error shown under a control, found through its aria-describedby as a screen reader would. */
  async function errorOf(control: ReturnType<Page['getByLabel']>): Promise<string> {
    // Some errors come from the server (a wrong password is checked with scrypt): a busy machine is slow.
    await expect.poll(() => control.getAttribute('aria-invalid'), { timeout: 15_000 }).toBe('true');
    const describedBy = await control.getAttribute('aria-describedby');
    return (await page.locator(`[id="${describedBy}"]`).textContent()) ?? '';
  }

  it('sets SMTP to the sink and keeps it over a reload, showing only that a password is set', async () => {
    const { sink } = consoleWorld;
    await consoleWorld.logIn();
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    expect(await tab('E-mail (SMTP)').getAttribute('aria-selected')).toBe('true');

    // Client-side checks first: nothing is sent while a field is wrong.
    await label('Port').fill('99999');
    await button('Save').click();
    expect(await errorOf(label('Port'))).toBe('A port number from 1 to 65535');

    await label('Host').fill('127.0.0.1');
    await label('Port').fill(String(sink.port));
    await label('Security').selectOption('none');
    await label('Password').fill(smtpPassword);
    await label('From address').fill('Mops Shop <news@shop.example>');
    await button('Save').click();
    await page.getByText('Saved', { exact: true }).waitFor();
    await shot('settings-email');

    await page.reload();
    await label('Host').waitFor();
    expect(await label('Host').inputValue()).toBe('127.0.0.1');
    expect(await label('Port').inputValue()).toBe(String(sink.port));
    expect(await label('Security').inputValue()).toBe('none');
    expect(await label('From address').inputValue()).toBe('Mops Shop <news@shop.example>');
    expect(await label('Password').inputValue()).toBe('');
    await page.getByText('A password is set. Leave blank to keep it').waitFor();
    expect(await page.content()).not.toContain(smtpPassword);

    const saved = await settings();
    expect(saved.smtp).toMatchObject({ host: '127.0.0.1', port: sink.port, tls: 'none', hasPassword: true });
    expect(JSON.stringify(saved)).not.toContain(smtpPassword);
    expect(saved.webhooks.destinations).toEqual([expect.objectContaining({ id: 'crm', hasSecret: true })]);

    // The saved server is the one mail goes through.
    const template = await consoleWorld.api<{ id: string }>('POST', '/templates', {
      name: 'Hello',
      subject: 'Hello from the settings test',
      mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section></mj-body></mjml>',
    });
    const sent = await consoleWorld.api('POST', `/templates/${template.body.id}/test-send`, {
      to: 'tester@example.com',
    });
    expect(sent.status).toBe(200);
    const [mail] = await sink.waitFor(1);
    expect(mail?.parsed.from?.text).toContain('news@shop.example');
  });

  it('shows the server’s validation error next to the field it names', async () => {
    // Within every client-side rule, but longer than the server accepts.
    await label('Host').fill(`${'relay.'.repeat(50)}example.com`);
    await button('Save').click();
    expect(await errorOf(label('Host'))).toMatch(/255/);
    await page.getByText('Fix the highlighted fields before saving.').waitFor();
    await shot('settings-validation');
    expect((await settings()).smtp?.host).toBe('127.0.0.1');
  });

  it('moves between sections with the keyboard and adds a topic', async () => {
    await tab('E-mail (SMTP)').focus();
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => tab('SMS provider').getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => tab('Webhooks').getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => tab('Subscription topics').getAttribute('aria-selected')).toBe('true');

    await label('Name of the new topic').fill('Product news');
    expect(await label('Id of the new topic').inputValue()).toBe('product-news');
    await label('Subscribed by default').uncheck();
    await button('Add topic').click();
    await label('Name of topic 3').waitFor();
    await button('Save').click();
    await page.getByText('Saved', { exact: true }).waitFor();
    await shot('settings-topics');

    const saved = await settings();
    expect(saved.topics).toContainEqual({
      id: 'product-news',
      name: 'Product news',
      defaultSubscribed: false,
    });
    expect(saved.smtp).toMatchObject({ host: '127.0.0.1', hasPassword: true });
  });

  it('adds a webhook destination with a write-only secret and header, and puts a refusal on its field', async () => {
    await tab('Webhooks').click();
    // The destination seeded through the API shows, its secret as set, not as text.
    const first = page.getByRole('group', { name: 'Destination 1' });
    expect(await first.getByLabel('Id', { exact: true }).inputValue()).toBe('crm');
    await first.getByText('A secret is set').waitFor();
    await button('Add destination').click();
    const added = page.getByRole('group', { name: 'Destination 2' });
    await added.getByLabel('Id', { exact: true }).fill('billing');
    await added.getByLabel('URL', { exact: true }).fill('https://user:pa55@billing.example.com/hooks');
    await added.getByLabel('Signing secret').fill('whsec-0123456789abcdef');
    await added.getByLabel('Headers (Name: value, one per line)').fill('X-Api-Key: key-1');
    await button('Save').click();
    expect(await errorOf(added.getByLabel('URL', { exact: true }))).toMatch(/user name or password/);
    await added.getByLabel('URL', { exact: true }).fill('https://billing.example.com/hooks');
    await button('Save').click();
    await page.getByText('Saved', { exact: true }).waitFor();
    const saved = (await settings()) as unknown as { webhooks: { destinations: unknown[] } };
    expect(saved.webhooks.destinations).toEqual([
      { id: 'crm', url: 'https://crm.example.com/hook', hasSecret: true, headerNames: [] },
      {
        id: 'billing',
        url: 'https://billing.example.com/hooks',
        hasSecret: true,
        headerNames: ['X-Api-Key'],
      },
    ]);
    // Nothing secret comes back: the boxes are empty, and say what is set.
    expect(await added.getByLabel('Signing secret').inputValue()).toBe('');
    expect(await added.getByLabel('Headers (Name: value, one per line)').inputValue()).toBe('');
    await added.getByText('Set: X-Api-Key.').waitFor();
    // A blank box keeps the stored headers: removing them is said on purpose, and saved as none.
    await added.getByLabel('Remove the headers: calls no longer carry them').check();
    expect(await added.getByLabel('Headers (Name: value, one per line)').count()).toBe(0);
    await button('Save').click();
    await expect
      .poll(async () =>
        (
          (await settings()) as unknown as { webhooks: { destinations: Array<{ headerNames: string[] }> } }
        ).webhooks.destinations.map((destination) => destination.headerNames),
      )
      .toEqual([[], []]);
    expect(await added.getByText('Set: X-Api-Key.').count()).toBe(0);
    expect(await added.getByLabel('Remove the headers: calls no longer carry them').count()).toBe(0);
    await page.getByText('No failed calls.').waitFor();
    // This server calls private networks when a workspace asks, so the switch is offered.
    const allowPrivate = page.getByLabel('Allow destinations on loopback or a private network');
    await allowPrivate.waitFor();
    // A URL on loopback, while they are not allowed, would have every call refused: said as it is typed.
    const url = added.getByLabel('URL', { exact: true });
    await url.fill('http://127.0.0.1:9000/hooks');
    const warning = added.getByText(/^127\.0\.0\.1 is a loopback or private address/);
    await warning.waitFor();
    await allowPrivate.check();
    expect(await warning.count()).toBe(0);
    await allowPrivate.uncheck();
    await url.fill('https://billing.example.com/hooks');
    expect(await warning.count()).toBe(0);
    await shot('settings-webhooks');

    // Removed by mistake, put back as it was (its stored secret and headers kept), where it stood.
    await first.getByLabel('URL', { exact: true }).fill('https://crm.example.com/hook/v2');
    await button('Remove destination 1').click();
    const idOfFirst = () =>
      page.getByRole('group', { name: 'Destination 1' }).getByLabel('Id', { exact: true }).inputValue();
    expect(await idOfFirst()).toBe('billing');
    // Focus goes to what undoes it, not to the page's start.
    await expect.poll(() => page.locator(':focus').textContent()).toBe('Put crm back');
    await page.keyboard.press('Enter');
    expect(await button('Put crm back').count()).toBe(0);
    expect(await idOfFirst()).toBe('crm');
    expect(await first.getByLabel('URL', { exact: true }).inputValue()).toBe(
      'https://crm.example.com/hook/v2',
    );
    await first.getByText('A secret is set').waitFor();
    await expect.poll(() => page.locator(':focus').inputValue()).toBe('crm');
    // Both removed, the second first, and put back in either order: each where it stood.
    await button('Remove destination 2').click();
    await button('Remove destination 1').click();
    await button('Put billing back').click();
    await button('Put crm back').click();
    expect(await idOfFirst()).toBe('crm');
    expect(await added.getByLabel('Id', { exact: true }).inputValue()).toBe('billing');
    // Removed and saved: nothing left to put back.
    await first.getByLabel('URL', { exact: true }).fill('https://crm.example.com/hook');
    await button('Remove destination 2').click();
    await button('Save').click();
    await expect
      .poll(async () =>
        (
          (await settings()) as unknown as { webhooks: { destinations: Array<{ id: string }> } }
        ).webhooks.destinations.map((destination) => destination.id),
      )
      .toEqual(['crm']);
    await expect.poll(() => button('Put billing back').count()).toBe(0);
  });

  it('sets quiet hours and the workspace time zone', async () => {
    await tab('Caps and quiet hours').click();
    await label('Workspace time zone').fill('Europe/Rome');
    await label('Hold marketing messages during quiet hours').check();
    await label('From').fill('22:00');
    await label('Until').fill('07:30');
    await button('Save').click();
    await page.getByText('Saved', { exact: true }).waitFor();
    await shot('settings-limits');

    const saved = await settings();
    expect(saved.quietHours).toEqual({ start: '22:00', end: '07:30' });
    expect(saved.timezone).toBe('Europe/Rome');
    expect(saved.topics.map((topic) => topic.id)).toContain('product-news');
    expect(saved.smtp?.hasPassword).toBe(true);
  });

  it('creates a user with a role, changes the role, keeps the last owner, and removes the user', async () => {
    const { admin } = consoleWorld;
    await tab('Users and roles').click();
    await label(`Role of ${admin.email}`).waitFor();

    await label('E-mail').fill('mara@example.com');
    await label('Name').fill('Mara Rossi');
    await label('Initial password').fill('short');
    await button('Create user').click();
    expect(await errorOf(label('Initial password'))).toBe('At least 12 characters');
    await label('Initial password').fill('a long initial passphrase');
    await label('Role').selectOption('member');
    await button('Create user').click();
    await page.getByText('User mara@example.com created').waitFor();
    const maraRole = label('Role of mara@example.com');
    expect(await maraRole.inputValue()).toBe('member');

    await maraRole.selectOption('admin');
    await page.getByText('mara@example.com is now Admin').waitFor();
    const users = await consoleWorld.api<{ items: Array<{ email: string; role: string }> }>('GET', '/users');
    expect(users.body.items).toContainEqual(
      expect.objectContaining({ email: 'mara@example.com', role: 'admin' }),
    );

    // The only owner cannot step down: the server's refusal sits next to that role.
    await label(`Role of ${admin.email}`).selectOption('member');
    expect(await errorOf(label(`Role of ${admin.email}`))).toBe(
      `${admin.email} is the workspace’s last owner: make another member owner first.`,
    );
    await shot('settings-users');

    await button('Remove mara@example.com from the workspace').click();
    await button('Yes, remove').click();
    await page.getByText('mara@example.com removed from the workspace').waitFor();
    await expect.poll(() => maraRole.count()).toBe(0);
    const after = await consoleWorld.api<{ items: Array<{ email: string; role: string }> }>('GET', '/users');
    expect(after.body.items.map((user) => user.email)).toEqual([admin.email]);
    expect(after.body.items[0]?.role).toBe('owner');
  });

  it('lets the admin replace the generated password and log in with the new one', async () => {
    const { admin, world } = consoleWorld;
    const newPassword = 'my very own passphrase 42';
    await tab('My password').click();
    await label('Current password').fill('not the password at all');
    await label('New password').fill(newPassword);
    await label('New password again').fill(newPassword);
    await button('Change password').click();
    expect(await errorOf(label('Current password'))).toBe('The current password is wrong.');

    await label('Current password').fill(admin.password);
    await button('Change password').click();
    await page.getByText('Password changed.').waitFor();
    await shot('settings-password');

    // A fresh browser: the old password no longer opens the console, the new one does.
    const context = await consoleWorld.browser.newContext({ locale: 'en-US' });
    try {
      const fresh = await context.newPage();
      fresh.setDefaultTimeout(10_000);
      await fresh.goto(world.url);
      await fresh.getByRole('heading', { name: 'Log in to Mops' }).waitFor();
      await fresh.getByLabel('E-mail', { exact: true }).fill(admin.email);
      await fresh.getByLabel('Password', { exact: true }).fill(admin.password);
      await fresh.getByRole('button', { name: 'Log in', exact: true }).click();
      await fresh.getByText(/Log-in failed/).waitFor();
      await fresh.getByLabel('Password', { exact: true }).fill(newPassword);
      await fresh.getByRole('button', { name: 'Log in', exact: true }).click();
      await fresh.getByRole('link', { name: 'Settings', exact: true }).waitFor();
    } finally {
      await context.close();
    }
    // The session that made the change goes on.
    await tab('Users and roles').click();
    await label(`Role of ${admin.email}`).waitFor();
  });

  it('reads in Italian', async () => {
    await page.getByLabel('Language').selectOption('it');
    await page.getByRole('link', { name: 'Impostazioni', exact: true }).click();
    await page.getByRole('heading', { name: 'Impostazioni' }).waitFor();
    await page.getByRole('tab', { name: 'Utenti e ruoli' }).click();
    await page.getByRole('button', { name: 'Crea utente' }).waitFor();
    await page.getByRole('tab', { name: 'Limiti e ore di silenzio' }).click();
    await page.getByLabel('Trattieni i messaggi di marketing nelle ore di silenzio').waitFor();
    expect(await page.getByLabel('Dalle', { exact: true }).inputValue()).toBe('22:00');
    await shot('settings-italian');

    // Refusals only the server makes, which it names by reason: worded in Italian beside their field.
    await page.getByRole('tab', { name: 'Webhook' }).click();
    const first = page.getByRole('group', { name: 'Destinazione 1' });
    const headers = first.getByLabel('Intestazioni (Nome: valore, una per riga)');
    await headers.fill('Content-Type: text/plain');
    await button('Salva').click();
    expect(await errorOf(headers)).toBe('Mops imposta Content-Type da sé in ogni chiamata');
    await headers.fill('');
    const url = first.getByLabel('URL', { exact: true });
    await url.fill('https://crm.example.com/hook/v3');
    await button('Salva').click();
    // A stored secret goes nowhere new unless typed again.
    expect(await errorOf(first.getByLabel('Segreto di firma'))).toMatch(
      /^È cambiato dove o come viene inviato: inseriscilo di nuovo/,
    );
    await url.fill('https://crm.example.com/hook');
    await page.getByRole('navigation').getByRole('link', { name: 'Chiavi API', exact: true }).click();
    await page.getByRole('heading', { name: 'Chiavi API' }).waitFor();
    const keyName = page.getByLabel('Nome', { exact: true });
    await keyName.fill('k'.repeat(101));
    await button('Crea').click();
    // Beside the name, without the server's field path before it.
    expect(await errorOf(keyName)).toBe('Al massimo 100 caratteri');
  });

  it('fits every section and each table in its box, checkbox labels beside their box, from a small laptop down to a phone, in English and Italian', async () => {
    const { world } = consoleWorld;
    // A colleague whose e-mail address is longer than a column: it must wrap, not widen the table.
    const colleague = await consoleWorld.api('POST', '/users', {
      email: 'giulia.bianchi-marketing-operations@example.com',
      name: 'Giulia Bianchi',
      password: 'a long initial passphrase',
      role: 'member',
    });
    expect(colleague.status).toBe(201);
    // What sticks out of the window, tables wider than their box, checkbox labels wrapping under the
    // box and buttons stretched to a grid cell, on each page: none.
    const overflows: Record<string, string[]> = {};
    try {
      for (const language of ['it', 'en']) {
        await page.getByLabel(/^(Language|Lingua)$/).selectOption(language);
        // Between a phone's one column (below 48rem) and the tabs beside their panel (above 1100 px)
        // the sidebar and the tabs above the panel leave tables the least room.
        const sizes = [
          [1024, 768],
          [900, 768],
          [840, 768],
          [780, 768],
          [390, 844],
        ] as const;
        // Italian's longer words are the harder case: English is checked at two of the widths.
        const widths = language === 'it' ? sizes : sizes.filter(([width]) => width === 1024 || width === 840);
        for (const section of ['email', 'sms', 'webhooks', 'topics', 'limits', 'users', 'password', 'keys']) {
          // The layout follows the window by CSS alone: each section is loaded once, then resized.
          await page.setViewportSize({ width: widths[0][0], height: widths[0][1] });
          await page.goto(`${world.url}/settings${section === 'keys' ? '/keys' : `?tab=${section}`}`);
          await page.locator('main h1').waitFor();
          await page.waitForLoadState('networkidle');
          for (const [width, height] of widths) {
            await page.setViewportSize({ width, height });
            overflows[`${language} ${width} ${section}`] = [
              ...(await wideElements(page)),
              ...(await tablesWiderThanTheirBox(page)),
              ...(await checkboxesWithTextUnder(page)).map((label) => `text under its box: ${label}`),
              ...(await stretchedButtons(page)).map((text) => `stretched: ${text}`),
            ];
          }
        }
        await page.setViewportSize({ width: 840, height: 768 });
        await page.goto(`${world.url}/settings?tab=users`);
        await page.locator('main table').waitFor();
        await shot(`settings-users-840-${language}`);
      }
    } finally {
      await page.setViewportSize({ width: 1500, height: 950 });
    }
    expect(Object.entries(overflows).filter(([, wide]) => wide.length > 0)).toEqual([]);
  }, 120_000);
});

/** A server whose operator keeps private networks closed: the console offers no switch that cannot save. */
describe('settings on a server without private networks (Chromium)', () => {
  let consoleWorld: ConsoleWorld;

  beforeAll(async () => {
    consoleWorld = await startConsoleWorld({ env: { MOPS_ALLOW_PRIVATE_NETWORKS: 'false' } });
    consoleWorld.page.setDefaultTimeout(10_000);
  }, 120_000);

  afterAll(async () => {
    await consoleWorld?.close();
  });

  it('says so instead of offering the private-network switches', async () => {
    const { page } = consoleWorld;
    await consoleWorld.logIn();
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    const forbidden = /its operator allows it with MOPS_ALLOW_PRIVATE_NETWORKS=true/;
    await page.getByRole('tab', { name: 'Webhooks' }).click();
    await page.getByText(forbidden).waitFor();
    expect(await page.getByLabel('Allow destinations on loopback or a private network').count()).toBe(0);
    await page.getByRole('tab', { name: 'SMS provider' }).click();
    await page.getByText(forbidden).waitFor();
    expect(
      await page
        .getByLabel('Allow a provider on loopback or a private network (a gateway of your own)')
        .count(),
    ).toBe(0);
    await consoleWorld.shot('settings-private-networks-closed');
  });

  it('shows the address to give the SMS provider for incoming texts once one is set up', async () => {
    const { page, world } = consoleWorld;
    const saved = await consoleWorld.api('PATCH', '/settings', {
      sms: { accountSid: 'AC1', authToken: 'token', from: 'Negozio' },
    });
    expect(saved.status).toBe(200);
    await page.reload();
    await page.getByRole('tab', { name: 'SMS provider' }).click();
    const inbound = page.getByLabel('Incoming texts webhook');
    expect(await inbound.inputValue()).toBe(`${world.url}/v1/sms/inbound/${world.workspaceId}`);
    // A test server's address is this machine's: said to be out of a provider's reach.
    const described = await inbound.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${described}"]`).textContent()).toContain(
      'This address is on this machine or a private network, where no provider on the internet can reach it',
    );
    // Each checkbox and its explanation on a row of their own, not a narrow cell each.
    const encoding = await page.getByText('Smart encoding:', { exact: false }).boundingBox();
    const form = await page.locator('.settings-grid').first().boundingBox();
    expect(encoding && form && encoding.width > form.width / 2).toBe(true);
    await consoleWorld.shot('settings-sms');
    expect(await page.getByLabel('Sender: number, sender ID or messaging service SID').inputValue()).toBe(
      'Negozio',
    );
  });

  it('shows smart encoding on by default, and turns it off', async () => {
    const { page } = consoleWorld;
    await page.reload();
    await page.getByRole('tab', { name: 'SMS provider' }).click();
    const smartEncoding = page.getByLabel(/^Smart encoding/);
    expect(await smartEncoding.isChecked()).toBe(true);
    await smartEncoding.uncheck();
    const form = page.getByRole('form', { name: 'SMS provider' });
    await form.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(
        async () =>
          ((await consoleWorld.api('GET', '/settings')).body as { sms?: { smartEncoding?: boolean } }).sms,
      )
      .toMatchObject({ smartEncoding: false });
    await page.reload();
    await page.getByRole('tab', { name: 'SMS provider' }).click();
    expect(await page.getByLabel(/^Smart encoding/).isChecked()).toBe(false);
  });
});
