import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth } from '../../src/test-support/world.js';
import { type ConsoleWorld, startConsoleWorld, tablesScrollingSideways, wideElements } from './harness.js';

interface Intent {
  stage: string | null;
  stageHistory: Array<{ from: string | null; to: string }>;
  scores: Array<{ model: string; awards: Array<{ rule: string; current: number }> }>;
}

const HOUR = 3_600_000;
const ARTICLES = 25;

/**
 * The contact screens in a real browser against a real server: a contact made by identify, track and
 * group calls through /v1/batch, scored, staged, segmented, enrolled in a journey and e-mailed by the
 * real pipeline, then searched for, opened and read section by section, in English and Italian.
 */
describe('contacts (Chromium)', () => {
  let consoleWorld: ConsoleWorld;
  let page: Page;
  let segmentId = '';
  let journeyId = '';

  beforeAll(async () => {
    consoleWorld = await startConsoleWorld();
    page = consoleWorld.page;
    const { api, sink } = consoleWorld;
    // Settings replace the harness's whole: the same SMTP sink, plus a score model and a lifecycle.
    const settings = await api('PUT', '/settings', {
      smtp: { host: '127.0.0.1', port: sink.port, from: 'Shop <shop@example.com>' },
      frequencyCaps: { email: [] },
      scoring: {
        models: [
          {
            id: 'engagement',
            name: 'Engagement',
            rules: [
              { id: 'pricing', kind: 'event', event: 'Pricing Viewed', points: 10, halfLife: '7d', cap: 30 },
              { id: 'demo', kind: 'event', event: 'Demo Requested', points: 40, repeat: 'once' },
              // A point for the plan: the ledger's fit points have a line too.
              {
                id: 'plan_pro',
                kind: 'fit',
                when: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
                points: 1,
              },
            ],
          },
        ],
      },
      lifecycle: {
        stages: ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer'],
        rules: [
          { kind: 'event', to: 'lead', event: 'Signed Up' },
          { kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 },
        ],
        recycleTo: 'lead',
      },
      handOff: {
        stage: 'mql',
        owners: [{ id: 'giulia', name: 'Giulia Bianchi', email: 'giulia@example.com' }],
        acceptWithin: '30d',
      },
    });
    expect(settings.status).toBe(200);
    const segment = await api<{ id: string }>('POST', '/segments', {
      name: 'Pro plan',
      rule: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
    });
    expect(segment.status).toBe(201);
    segmentId = segment.body.id;
    const template = await api<{ id: string }>('POST', '/templates', {
      name: 'Welcome',
      subject: 'Welcome aboard',
      mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hello.</mj-text></mj-column></mj-section></mj-body></mjml>',
    });
    expect(template.status).toBe(201);
    const journey = await api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'Onboarding',
        entry: {
          trigger: { type: 'event', event: 'Signed Up', conditions: [] },
          reentry: { policy: 'once' },
        },
        start: 'welcome',
        steps: [
          { id: 'welcome', type: 'send_email', template: template.body.id, next: 'pause' },
          { id: 'pause', type: 'wait', duration: '30d', next: 'done' },
          { id: 'done', type: 'exit' },
        ],
      },
    });
    expect(journey.status).toBe(201);
    journeyId = journey.body.id;
    expect((await api('POST', `/journeys/${journeyId}/publish`)).status).toBe(200);
    // A journey that ends at once, so the contact has one that is over.
    const hello = await api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'Quick hello',
        entry: { trigger: { type: 'event', event: 'Signed Up', conditions: [] } },
        start: 'done',
        steps: [{ id: 'done', type: 'exit' }],
      },
    });
    expect(hello.status).toBe(201);
    expect((await api('POST', `/journeys/${hello.body.id}/publish`)).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await consoleWorld?.close();
  });

  /** Sends Segment calls through /v1/batch with the world's write key, as a client would. */
  async function sendBatch(batch: Array<Record<string, unknown>>) {
    const { world } = consoleWorld;
    const sent = await fetch(`${world.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basicAuth(world.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
    expect(sent.status).toBe(200);
  }

  /** Ada's history as her shop's client would send it: oldest first, a minute apart, ending an hour ago. */
  function adaEvents() {
    const calls: Array<Record<string, unknown>> = [
      { type: 'track', anonymousId: 'anon-ada', event: 'Landing Viewed', properties: { path: '/' } },
      {
        type: 'identify',
        userId: 'ada',
        anonymousId: 'anon-ada',
        // Computed, so `__proto__` is a key sent like any other rather than the literal's prototype.
        traits: {
          email: 'ada@example.com',
          first_name: 'Ada',
          last_name: 'Lovelace',
          plan: 'pro',
          ['__proto__']: 'a trait like any other',
        },
      },
      { type: 'group', userId: 'ada', groupId: 'acme', traits: { name: 'Acme Inc', seats: 12 } },
      { type: 'track', userId: 'ada', event: 'Signed Up' },
      { type: 'track', userId: 'ada', event: 'Pricing Viewed', properties: { tier: 'team' } },
      { type: 'track', userId: 'ada', event: 'Pricing Viewed', properties: { tier: 'business' } },
      { type: 'track', userId: 'ada', event: 'Demo Requested' },
      ...Array.from({ length: ARTICLES }, (_, index) => ({
        type: 'track',
        userId: 'ada',
        event: 'Article Read',
        properties: { slug: `article-${index + 1}` },
      })),
    ];
    const start = Date.now() - HOUR - calls.length * 60_000;
    return calls.map((call, index) => ({
      ...call,
      messageId: `ada-${index}`,
      timestamp: new Date(start + index * 60_000).toISOString(),
    }));
  }

  it('finds a contact and shows who they are, what they did, where they are and why they scored, in English and Italian', async () => {
    const { api } = consoleWorld;

    await consoleWorld.logIn();
    await page.getByRole('link', { name: 'Contacts' }).click();
    await page.getByRole('heading', { name: 'Contacts' }).waitFor();
    // No contact yet: the page says how they arrive.
    await page.getByText(/No contacts yet\. Contacts arrive with the events/).waitFor();
    await consoleWorld.shot('contacts-empty');

    await sendBatch(adaEvents());

    // The pipeline: a profile, then its stage, segment and journey (polled through the API).
    let profileId = '';
    await expect
      .poll(
        async () => {
          const found = await api<{ items: Array<{ id: string }> }>('GET', '/profiles?q=ada%40example.com');
          profileId = found.body.items[0]?.id ?? '';
          return profileId;
        },
        { timeout: 20_000 },
      )
      .not.toBe('');
    const intentPath = `/profiles/${profileId}/intent`;
    await expect
      .poll(async () => (await api<Intent>('GET', intentPath)).body.stage, { timeout: 20_000 })
      .toBe('mql');
    await expect
      .poll(
        async () =>
          (await api<{ items: Array<{ segmentId: string }> }>('GET', `/profiles/${profileId}/segments`)).body
            .items[0]?.segmentId,
        { timeout: 20_000 },
      )
      .toBe(segmentId);
    await expect
      .poll(
        async () =>
          (await api<{ items: Array<{ status: string }> }>('GET', `/messages?profileId=${profileId}`)).body
            .items[0]?.status,
        { timeout: 20_000 },
      )
      .toBe('sent');
    // The mail provider reports the welcome e-mail bounced (soft: the address stays usable).
    const [welcome] = (
      await api<{ items: Array<{ id: string; toAddress: string }> }>(
        'GET',
        `/messages?profileId=${profileId}`,
      )
    ).body.items;
    expect(
      (await api('POST', '/bounces', { address: welcome?.toAddress, type: 'soft', messageId: welcome?.id }))
        .status,
    ).toBe(204);
    await expect
      .poll(
        async () =>
          (await api<{ items: Array<{ stepId: string | null }> }>('GET', `/profiles/${profileId}/journeys`))
            .body.items[0]?.stepId,
        { timeout: 20_000 },
      )
      .toBe('pause');

    // Search by e-mail.
    await page.getByLabel('Search contacts').fill('ada@example.com');
    await page.getByRole('button', { name: 'Search' }).click();
    const row = page.getByRole('row').filter({ hasText: 'Ada Lovelace' });
    await row.waitFor();
    expect(await row.textContent()).toContain('ada@example.com');
    expect(await row.getByRole('cell').nth(1).textContent()).toBe('ada');
    await consoleWorld.shot('contacts-list');
    // A search nothing matches says so.
    await page.getByLabel('Search contacts').fill('nobody-at-all');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No contact matches “nobody-at-all”').waitFor();
    await page.goBack();
    await row.getByRole('link', { name: 'Ada Lovelace' }).click();

    // Header and the profile: traits, identities, account.
    await page.getByRole('heading', { level: 1, name: 'Ada Lovelace' }).waitFor();
    await expect.poll(() => page.getByTestId('contact-stage').textContent()).toBe('mql');
    const traits = page.getByRole('table', { name: 'Traits' });
    expect(await traits.getByRole('row', { name: /plan/ }).textContent()).toBe('planpro');
    expect(await traits.getByRole('row', { name: /__proto__/ }).textContent()).toBe(
      '__proto__a trait like any other',
    );
    await page.getByRole('cell', { name: 'anon-ada' }).waitFor();
    expect(await page.getByRole('row', { name: /anon-ada/ }).textContent()).toContain('Anonymous id');
    expect(await page.getByRole('row', { name: /^User id ada/ }).count()).toBe(1);
    const account = page.getByRole('table', { name: 'Group id acme' });
    expect(await account.getByRole('row', { name: /seats/ }).textContent()).toBe('seats12');
    // The account's score: its one contact's, recomputed now.
    const accountScores = page.getByRole('table', { name: 'Scores of the account’s contacts, as of now' });
    await expect
      .poll(() => accountScores.getByRole('row', { name: /engagement/ }).textContent())
      .toMatch(/^engagement\d+(\.\d+)?\d+(\.\d+)?\d+(\.\d+)?1$/);
    await consoleWorld.shot('contact-profile');

    // The timeline, newest first, a page at a time; each event opens to its properties.
    await page.getByRole('tab', { name: 'Timeline' }).click();
    const newestArticle = page.getByRole('row').filter({ hasText: 'Article Read' }).first();
    await newestArticle.getByText('Article Read').click();
    await newestArticle.getByRole('row', { name: /slug/ }).waitFor();
    expect(await newestArticle.getByRole('row', { name: /slug/ }).textContent()).toBe(
      `slug${`article-${ARTICLES}`}`,
    );
    expect(await page.getByText('Identified').count()).toBe(0);
    await consoleWorld.shot('contact-timeline');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Page 2').waitFor();
    await page.getByText('Identified').waitFor();
    await page.getByText('Joined account acme').waitFor();
    await page.getByText('Landing Viewed').waitFor();
    await page.getByRole('button', { name: 'Previous' }).click();
    await page.getByText('Page 1').waitFor();
    await expect.poll(() => page.getByText('Identified').count()).toBe(0);
    await newestArticle.waitFor();

    // Keyboard: the arrow key moves to the next tab.
    await page.getByRole('tab', { name: 'Timeline' }).focus();
    await page.keyboard.press('ArrowRight');
    await expect
      .poll(() => page.getByRole('tab', { name: 'Segments' }).getAttribute('aria-selected'))
      .toBe('true');
    // The focus moved with the selection, so the keyboard user stays on the tabs.
    expect(await page.locator(':focus').textContent()).toBe('Segments');
    const segmentLink = page.getByRole('link', { name: 'Pro plan' });
    await segmentLink.waitFor();
    expect(await segmentLink.getAttribute('href')).toBe(`/segments/${segmentId}`);

    await page.getByRole('tab', { name: 'Journeys' }).click();
    const instance = page.getByRole('row').filter({ hasText: 'Onboarding' });
    await instance.waitFor();
    expect(await instance.textContent()).toContain('at step pause');
    expect(await instance.getByRole('link', { name: 'Onboarding' }).getAttribute('href')).toBe(
      `/journeys/${journeyId}`,
    );

    // How a journey that is over ended, in words.
    const over = page.getByRole('row').filter({ hasText: 'Quick hello' });
    expect(await over.textContent()).toContain('reached an exit step');

    await page.getByRole('tab', { name: 'Messages' }).click();
    const message = page.getByRole('row').filter({ hasText: 'Welcome aboard' });
    await message.waitFor();
    const status = message.getByRole('cell').nth(2);
    expect(await status.locator('.badge').textContent()).toBe('Sent');
    // What the provider reported after, with when.
    expect(await status.locator('.hint').textContent()).toMatch(/^Bounced \S/);
    // Which journey sent it, by name, and the channel in words.
    expect(await message.getByRole('link', { name: 'Onboarding' }).getAttribute('href')).toBe(
      `/journeys/${journeyId}`,
    );
    expect(await message.getByRole('cell').nth(1).textContent()).toBe('E-mail');

    // Her choices per channel: she left marketing texts, not its e-mails.
    const chosen = await api('PUT', `/profiles/${profileId}/subscriptions`, {
      channels: { sms: { marketing: false } },
    });
    expect(chosen.status).toBe(204);
    await page.getByRole('tab', { name: 'Subscriptions' }).click();
    const marketing = page.getByRole('row').filter({ hasText: 'Marketing' });
    await marketing.waitFor();
    expect(await page.getByRole('columnheader').allTextContents()).toEqual(['Topic', 'E-mails', 'Texts']);
    expect(await marketing.getByRole('cell').allTextContents()).toEqual(['Marketing', 'Yes', 'No']);

    // A hard bounce reported in error: her e-mails are held until an admin takes the address off the list.
    const address = welcome?.toAddress as string;
    expect((await api('POST', '/bounces', { address, type: 'hard' })).status).toBe(204);
    await page.reload();
    await page.getByRole('tab', { name: 'Subscriptions' }).click();
    await expect
      .poll(() => marketing.getByRole('cell').allTextContents())
      .toEqual(['Marketing', 'Suppressed', 'No']);
    await page
      .getByRole('button', { name: `Take ${address.toLowerCase()} off the suppression list` })
      .click();
    await expect
      .poll(() => marketing.getByRole('cell').allTextContents())
      .toEqual(['Marketing', 'Yes', 'No']);
    const suppressions = await api<{ items: unknown[] }>(
      'GET',
      `/suppressions?address=${encodeURIComponent(address)}`,
    );
    expect(suppressions.body.items).toEqual([]);

    // She asked by phone for no more e-mails at all: an admin puts the address on the list by hand.
    await page.getByRole('button', { name: `Put ${address.toLowerCase()} on the suppression list` }).click();
    await expect
      .poll(() => marketing.getByRole('cell').allTextContents())
      .toEqual(['Marketing', 'Suppressed', 'No']);
    await expect
      .poll(() => page.locator('.contact-section .hint').allTextContents())
      .toContain(
        'E-mails are suppressed: an admin put the contact’s address on the suppression list, so no e-mail goes to it whatever the topics say, receipts included, until the address is removed from the list.',
      );
    const byHand = await api<{ items: Array<{ reason: string }> }>(
      'GET',
      `/suppressions?address=${encodeURIComponent(address)}`,
    );
    expect(byHand.body.items.map((item) => item.reason)).toEqual(['added_by_hand']);

    // Every point explained: rule, why, points then and now.
    await page.getByRole('tab', { name: 'Scores' }).click();
    const ledger = page.getByTestId('ledger-engagement');
    await ledger.waitFor();
    const lines = ledger.getByRole('table', { name: 'Ledger of Engagement' }).getByRole('row');
    expect(await lines.count()).toBe(4);
    expect(await lines.filter({ hasText: 'demo' }).textContent()).toContain(
      'performed “Demo Requested” · once only',
    );
    const pricing = lines.filter({ hasText: 'pricing' });
    expect(await pricing.count()).toBe(2);
    // Two views of ten, under the rule's cap of 30: nothing cut, so the cap is not named.
    expect(await pricing.first().textContent()).toContain('performed “Pricing Viewed” · half-life 7d');
    // An hour and more after the views, decay has taken a little of their ten points.
    const worthNow = (await pricing.first().getByRole('cell').nth(4).textContent()) ?? '';
    expect(worthNow).toMatch(/^9\.\d+ \(decayed\)$/);
    await consoleWorld.shot('contact-scores');

    await page.getByRole('tab', { name: 'Stage history' }).click();
    const stages = page.locator('.stage-history tbody tr');
    await stages.first().waitFor();
    expect(await stages.count()).toBe(2);
    expect(await stages.nth(0).textContent()).toContain('no stagelead');
    expect(await stages.nth(1).textContent()).toContain('leadmql');
    // The score that moved her, by the name its ledger shows.
    expect(await stages.nth(1).textContent()).toMatch(/Engagement score reached \d+/);

    // In Italian: labels, dates and numbers.
    const profile = (await api<{ firstSeenAt: string }>('GET', `/profiles/${profileId}`)).body;
    const decayedPricing = Number.parseFloat(worthNow);
    await page.getByLabel('Language').selectOption('it');
    await page.getByRole('tab', { name: 'Punteggi' }).click();
    await page.getByRole('table', { name: 'Registro di Engagement' }).waitFor();
    const italianPoints = await page.evaluate(
      (points) => new Intl.NumberFormat('it').format(points),
      decayedPricing,
    );
    expect(italianPoints).toContain(',');
    expect(await page.getByTestId('ledger-engagement').textContent()).toContain(
      `${italianPoints} (decaduto)`,
    );
    await page.getByRole('tab', { name: 'Percorsi' }).click();
    await page
      .getByRole('row')
      .filter({ hasText: 'Quick hello' })
      .getByText('ha raggiunto un passo di uscita')
      .waitFor();
    await page.getByRole('tab', { name: 'Messaggi' }).click();
    await page.getByRole('columnheader', { name: 'Canale' }).waitFor();
    expect(
      await page
        .getByRole('row')
        .filter({ hasText: 'Welcome aboard' })
        .getByRole('cell')
        .nth(1)
        .textContent(),
    ).toBe('E-mail');
    await page.getByRole('tab', { name: 'Storico delle fasi' }).click();
    await page.getByRole('columnheader', { name: 'Motivo' }).waitFor();
    const [englishDate, italianDate] = await page.evaluate(
      (iso) =>
        ['en', 'it'].map((locale) =>
          new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso)),
        ),
      profile.firstSeenAt,
    );
    expect(italianDate).not.toBe(englishDate);
    const facts = await page.locator('.contact-facts').textContent();
    expect(facts).toContain(`Prima attività${italianDate}`);
    expect(facts).toContain('Fase del ciclo di vita');
    await page.getByRole('link', { name: 'Tutti i contatti' }).click();
    await page.getByRole('columnheader', { name: 'Ultima attività' }).waitFor();
    await consoleWorld.shot('contacts-list-it');
  }, 180_000);

  /** The tables of the account's card whose rows are not as wide as the card's content box, by caption or heading. */
  const tablesNarrowerThanCard = (): Promise<string[]> =>
    // A string, as the harness's checks: it runs in the browser.
    page.evaluate(`(() => [...document.querySelectorAll('.card.account table')].flatMap((table) => {
      const card = table.closest('.card');
      const style = getComputedStyle(card);
      const room = card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      // Its rows, not its box: a table displayed as a block keeps rows as narrow as their content.
      const width = Math.max(...[...table.tBodies[0].rows].map((row) => row.getBoundingClientRect().width));
      if (Math.abs(width - room) <= 2) return [];
      const name = table.querySelector('caption, th')?.textContent?.trim();
      return [name + ': ' + Math.round(width) + ' px in ' + Math.round(room)];
    }))()`);
  /** The times of a table (the stage history, the identities) that take more than one line. */
  const wrappedTimes = async (table: string) => {
    const times = page.locator(`${table} tbody time`);
    await times.first().waitFor();
    return times.evaluateAll((elements) =>
      elements.flatMap((time) => (time.getClientRects().length > 1 ? [time.textContent ?? ''] : [])),
    );
  };

  it('reads every table of a contact on a phone (390 px), in English and Italian, with nothing to scroll sideways: the wide ones a row to a card, each value beside its heading', async () => {
    const { world, api } = consoleWorld;
    const found = await api<{ items: Array<{ id: string }> }>('GET', '/profiles?q=ada%40example.com');
    const adaId = found.body.items[0]?.id;
    // The hand-off's event (the timeline's widest properties) reaches her timeline after the hand-off.
    await expect
      .poll(async () =>
        (
          await api<{ items: Array<{ name: string | null }> }>('GET', `/profiles/${adaId}/events?limit=50`)
        ).body.items.map((event) => event.name),
      )
      .toContain('Hand-off Created');
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${world.url}/contacts/${adaId}`);
      // Each tab, with what shows its tables have their rows: Ada has some in every one.
      const tabs: Array<{ name: { en: string; it: string }; loaded: () => Promise<void> }> = [
        {
          name: { en: 'Profile', it: 'Profilo' },
          loaded: () =>
            page.getByTestId('account-scores-acme').getByRole('cell', { name: 'engagement' }).waitFor(),
        },
        {
          name: { en: 'Timeline', it: 'Cronologia' },
          // The event with the longest properties open: a table inside the table.
          loaded: async () => {
            const handOff = page.getByRole('row').filter({ hasText: 'Hand-off Created' }).first();
            await handOff.getByText('Hand-off Created').click();
            await handOff.getByRole('row', { name: /owner_email/ }).waitFor();
          },
        },
        {
          name: { en: 'Segments', it: 'Segmenti' },
          loaded: () => page.getByRole('link', { name: 'Pro plan' }).waitFor(),
        },
        {
          name: { en: 'Journeys', it: 'Percorsi' },
          loaded: () => page.getByRole('row').filter({ hasText: 'Quick hello' }).waitFor(),
        },
        {
          name: { en: 'Messages', it: 'Messaggi' },
          loaded: () => page.getByRole('row').filter({ hasText: 'Welcome aboard' }).waitFor(),
        },
        {
          name: { en: 'Scores', it: 'Punteggi' },
          loaded: async () => {
            await page.getByTestId('ledger-engagement').getByText('Demo Requested').first().waitFor();
            await page.getByRole('cell', { name: 'plan_pro' }).waitFor();
          },
        },
        {
          name: { en: 'Stage history', it: 'Storico delle fasi' },
          loaded: () => page.getByTestId('contact-hand-offs').getByText('Giulia Bianchi').waitFor(),
        },
        {
          name: { en: 'Subscriptions', it: 'Iscrizioni' },
          loaded: () => page.getByRole('row').filter({ hasText: 'Marketing' }).waitFor(),
        },
      ];
      const overflows: Record<string, string[]> = {};
      // The account's tables as wide as its card, and each time of the stage history on one line.
      const misfits: Record<string, string[]> = {};
      for (const language of ['en', 'it'] as const) {
        await page.getByLabel(/^(Language|Lingua)$/).selectOption(language);
        for (const { name, loaded } of tabs) {
          await page.getByRole('tab', { name: name[language] }).click();
          await loaded();
          overflows[name[language]] = [
            ...(await tablesScrollingSideways(page)),
            ...(await wideElements(page)),
          ];
          if (name.en === 'Profile') {
            misfits[`${language} account`] = await tablesNarrowerThanCard();
            misfits[`${language} identity times`] = await wrappedTimes('table.identities');
          }
          if (name.en === 'Stage history')
            misfits[`${language} stage times`] = await wrappedTimes('table.stage-history');
          if (language === 'en')
            await consoleWorld.shot(`phone-contact-${name.en.toLowerCase().replace(' ', '-')}`);
        }
      }
      expect(overflows).toEqual(
        Object.fromEntries(tabs.flatMap(({ name }) => [name.en, name.it]).map((name) => [name, []])),
      );
      expect(misfits).toEqual({
        'en account': [],
        'en identity times': [],
        'en stage times': [],
        'it account': [],
        'it identity times': [],
        'it stage times': [],
      });

      // With the column headings out of sight, each value carries its own.
      await page.getByLabel('Lingua').selectOption('en');
      await page.getByRole('tab', { name: 'Scores' }).click();
      const ledger = page.getByRole('table', { name: 'Ledger of Engagement' });
      await ledger.getByText('Demo Requested', { exact: false }).waitFor();
      const headings = await ledger
        .locator('tbody tr')
        .first()
        .locator('td')
        .evaluateAll((cells) =>
          cells.map((cell) => cell.ownerDocument.defaultView?.getComputedStyle(cell, '::before').content),
        );
      expect(headings).toEqual(['"Time"', '"Rule"', '"Why"', '"Points awarded"', '"Worth now"']);
    } finally {
      await page.setViewportSize({ width: 1500, height: 950 });
    }
  }, 90_000);

  it('shows a member the stage history and the journey without asking for the admin-only settings, and an admin the way back', async () => {
    const { world, api, browser } = consoleWorld;
    const found = await api<{ items: Array<{ id: string }> }>('GET', '/profiles?q=ada%40example.com');
    const stagesOfAda = `${world.url}/contacts/${found.body.items[0]?.id}?tab=stages`;

    // The admin may send Ada (an MQL, past the recycle stage) back to lead.
    await page.goto(stagesOfAda);
    await page.getByRole('button', { name: /^(Send back to|Riporta a) lead$/ }).waitFor();

    const member = { email: 'mia@example.com', password: 'a long member passphrase' };
    expect((await api('POST', '/users', { ...member, role: 'member' })).status).toBe(201);
    const context = await browser.newContext({ locale: 'en-US' });
    try {
      const memberPage = await context.newPage();
      await memberPage.goto(world.url);
      await memberPage.getByLabel(/E-mail/).fill(member.email);
      await memberPage.getByLabel(/Password/).fill(member.password);
      await memberPage.getByRole('button', { name: 'Log in' }).click();
      await memberPage.getByRole('navigation').first().waitFor();
      // Logged in (who is logged in was asked before, and answered 401): from here nothing is refused.
      const refused: string[] = [];
      memberPage.on('response', (response) => {
        if (response.status() >= 400)
          refused.push(`${response.status()} ${new URL(response.url()).pathname}`);
      });
      await memberPage.goto(stagesOfAda);
      await memberPage.getByRole('heading', { name: 'Hand-offs to sales' }).waitFor();
      await memberPage.locator('table.stage-history').waitFor();
      await memberPage.waitForLoadState('networkidle');
      // Sending back is for admins (the server refuses members): not offered, and nothing refused on the way.
      expect(await memberPage.getByRole('button', { name: 'Send back to lead' }).count()).toBe(0);
      expect(refused).toEqual([]);

      // The journey she is in reads as well, step by step.
      await memberPage.goto(`${world.url}/journeys/${journeyId}`);
      await memberPage.getByTestId('node-welcome').click();
      await memberPage.getByLabel('E-mail template').waitFor();
      await memberPage.getByTestId('node-pause').click();
      await memberPage.getByLabel('Duration (e.g. 30m, 4h, 2d)').waitFor();
      await memberPage.waitForLoadState('networkidle');
      expect(refused).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
  it('lets an admin take a contact out of an account, once confirmed', async () => {
    const { world, api } = consoleWorld;
    await sendBatch([
      { type: 'group', userId: 'cy', groupId: 'globex', traits: { name: 'Globex' }, messageId: 'cy-1' },
    ]);
    let profileId = '';
    await expect
      .poll(async () => {
        const found = await api<{ items: Array<{ id: string }> }>('GET', '/profiles?q=cy');
        profileId = found.body.items[0]?.id ?? '';
        return profileId;
      })
      .not.toBe('');
    await page.goto(`${world.url}/contacts/${profileId}`);
    await page.getByLabel(/^(Language|Lingua)$/).selectOption('en');
    await page.getByRole('button', { name: 'Take out of globex' }).click();
    const confirm = page.getByRole('alertdialog', { name: /^Take this contact out of globex\?/ });
    // The button that asked is gone: the focus is on the safe answer.
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Cancel');
    await confirm.getByRole('button', { name: 'Yes, take out' }).click();
    await page.getByText('Not in any account: accounts come from group calls.').waitFor();
    await consoleWorld.shot('contact-account-left');
    const details = await api<{ accounts: unknown[] }>('GET', `/profiles/${profileId}`);
    expect(details.body.accounts).toEqual([]);
  });

  it('lists each contact with its stage, sales owner and scores, and keeps the list to one stage', async () => {
    const { world, api } = consoleWorld;
    await sendBatch([
      { type: 'identify', userId: 'bo', traits: { first_name: 'Bo', email: 'bo@example.com' } },
      { type: 'track', userId: 'bo', event: 'Signed Up' },
      { type: 'track', userId: 'bo', event: 'Pricing Viewed' },
    ]);
    await expect
      .poll(async () => (await api<{ items: unknown[] }>('GET', '/profiles?stage=lead')).body.items.length)
      .toBe(1);
    const unknown = await api<{ error: { field: string; message: string } }>(
      'GET',
      '/profiles?stage=customers',
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({
      field: 'stage',
      message: expect.stringContaining('customer'),
    });

    await page.goto(`${world.url}/contacts`);
    await page.getByLabel(/^(Language|Lingua)$/).selectOption('en');
    const table = page.getByRole('table');
    await table.waitFor();
    const headings = await table.getByRole('columnheader').allTextContents();
    expect(headings).toEqual(['Contact', 'User id', 'Stage', 'Owner', 'Engagement', 'Last seen']);
    const cellsOf = async (name: string) =>
      (await table.getByRole('row').filter({ hasText: name }).getByRole('cell').allTextContents()).slice(
        1,
        5,
      );
    // Ada reached MQL and was handed to Giulia; Bo is a lead of marketing's, with one pricing view.
    expect(await cellsOf('Ada Lovelace')).toEqual([
      'ada',
      'mql',
      'Giulia Bianchi',
      expect.stringMatching(/^\d+(\.\d+)?$/),
    ]);
    expect(await cellsOf('Bo')).toEqual(['bo', 'lead', '—', '10']);
    await consoleWorld.shot('contacts-list-stages');

    await page.getByLabel('Lifecycle stage').selectOption('mql');
    await expect.poll(() => table.getByRole('row').count()).toBe(2);
    expect(await table.getByRole('row').nth(1).textContent()).toContain('Ada Lovelace');
    expect(new URL(page.url()).searchParams.get('stage')).toBe('mql');
    await page.getByLabel('Lifecycle stage').selectOption('customer');
    await page.getByText('No contact is at customer.').waitFor();
    // The stage stays with a search, and Back returns to the stage chosen before.
    await page.goBack();
    await expect.poll(() => table.getByRole('row').count()).toBe(2);
    expect(await page.getByLabel('Lifecycle stage').inputValue()).toBe('mql');
    await page.getByLabel('Search contacts').fill('bo@example.com');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No contact at mql matches “bo@example.com”.').waitFor();
    await page.getByLabel('Lifecycle stage').selectOption('');
    await expect.poll(() => cellsOf('Bo')).toEqual(['bo', 'lead', '—', '10']);

    // The hottest leads first: the list in the order of a score, its column marked.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('Order').selectOption({ label: 'Engagement score, highest first' });
    await expect
      .poll(() => table.getByRole('columnheader', { name: /Engagement/ }).getAttribute('aria-sort'))
      .toBe('descending');
    expect(new URL(page.url()).searchParams.get('byScore')).toBe('engagement');
    await expect
      .poll(async () => (await table.getByRole('row').nth(1).textContent()) ?? '')
      .toContain('Ada Lovelace');
    const scores = (await table.locator('tbody tr td:nth-child(5)').allTextContents()).map((text) =>
      Number(text.replace(/[^\d.-]/g, '')),
    );
    expect(scores.length).toBeGreaterThan(1);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    await consoleWorld.shot('contacts-by-score');
  });

  it('imports contacts from a spreadsheet’s CSV, its columns mapped to traits, into a list, and lists the rows it could not', async () => {
    const { world, api } = consoleWorld;
    const list = await api<{ id: string }>('POST', '/segments', { name: 'Fiera di Milano', kind: 'static' });
    expect(list.status).toBe(201);
    await page.goto(`${world.url}/contacts`);
    await page.getByLabel(/^(Language|Lingua)$/).selectOption('en');
    await page.getByRole('link', { name: 'Import contacts' }).click();
    await page.getByRole('heading', { name: 'Import contacts' }).waitFor();
    await page.getByRole('button', { name: 'Read the file' }).click();
    await page.getByText('Choose a CSV file first').waitFor();
    // As an Italian Excel saves it: semicolons.
    await page.getByLabel('CSV file').setInputFiles({
      name: 'fiera.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(
        'E-mail;Nome;Cellulare;Note\nrita@example.com;Rita;+39 347 555 0101;stand B\n;Anonimo;;\nugo@example.com;Ugo;;\n',
      ),
    });
    await page.getByRole('button', { name: 'Read the file' }).click();
    await page.getByRole('heading', { name: 'Columns' }).waitFor();
    await page.getByText('3 contacts in the file.', { exact: false }).waitFor();
    // The column naming each contact and the traits SMS and the console read are suggested, from
    // Italian headers too; the notes are left out.
    expect(await page.getByLabel('Contacts are named by').inputValue()).toBe('E-mail');
    expect(await page.getByLabel('Trait for E-mail').inputValue()).toBe('email');
    expect(await page.getByLabel('Trait for Nome').inputValue()).toBe('first_name');
    expect(await page.getByLabel('Trait for Cellulare').inputValue()).toBe('phone');
    await page.getByLabel('Import Note').uncheck();
    await page.getByLabel('Trait for Cellulare').fill('email');
    await page.getByRole('button', { name: 'Import 3 contacts' }).click();
    const cellulare = page.getByLabel('Trait for Cellulare');
    await expect
      .poll(async () => {
        const described = await cellulare.getAttribute('aria-describedby');
        return described ? page.locator(`[id="${described}"]`).textContent() : null;
      })
      .toBe('Another column is imported under this name');
    await cellulare.fill('phone');
    // Only static segments take a list.
    const lists = page.getByLabel('Add them to a list (optional)');
    expect(await lists.locator('option').allTextContents()).toEqual(['No list', 'Fiera di Milano']);
    await lists.selectOption({ label: 'Fiera di Milano' });
    await page.getByRole('button', { name: 'Import 3 contacts' }).click();
    await page.getByText('Rows: 3 · imported: 2 · imported before, not again: 0 · rejected: 1').waitFor();
    expect(await page.getByTestId('rejected-rows').locator('tbody td').allTextContents()).toEqual([
      '3',
      'names no contact: E-mail is empty',
    ]);
    await expect
      .poll(() => page.getByTestId('list-addition').textContent(), { timeout: 20_000 })
      .toBe('Added to Fiera di Milano: 2 · in it already: 0 · not found: 0');
    expect((await api<{ members: number }>('GET', `/segments/${list.body.id}`)).body.members).toBe(2);
    await consoleWorld.shot('contacts-import');

    // What the browser mapped is what the contact has.
    await expect
      .poll(
        async () =>
          (
            await api<{ items: Array<{ traits: Record<string, unknown> }> }>(
              'GET',
              '/profiles?q=rita%40example.com',
            )
          ).body.items[0]?.traits,
        { timeout: 20_000 },
      )
      .toEqual({ email: 'rita@example.com', first_name: 'Rita', phone: '+39 347 555 0101' });
    await page.getByRole('link', { name: 'All contacts' }).click();
    await page.getByLabel('Search contacts').fill('rita@example.com');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: 'Rita' }).waitFor();
  });

  it('sends a lead back with the reason sales gave, kept in its stage history', async () => {
    const { world, api } = consoleWorld;
    const found = await api<{ items: Array<{ id: string }> }>('GET', '/profiles?q=ada%40example.com');
    const adaId = found.body.items[0]?.id;
    await page.goto(`${world.url}/contacts/${adaId}?tab=stages`);
    await page.getByLabel('Language').selectOption('en');
    await page.getByRole('button', { name: 'Send back to lead' }).click();
    const confirm = page.getByRole('alertdialog');
    await confirm.getByLabel('Why (optional)').fill('no budget this year');
    await confirm.getByRole('button', { name: 'Yes, send back to lead' }).click();
    await page.getByRole('status').filter({ hasText: 'lead' }).waitFor();
    const intent = await api<Intent & { stageHistory: Array<{ reason: string }> }>(
      'GET',
      `/profiles/${adaId}/intent`,
    );
    expect(intent.body.stage).toBe('lead');
    expect(intent.body.stageHistory.at(-1)).toMatchObject({
      from: 'mql',
      to: 'lead',
      reason: 'no budget this year',
    });
  });
});
