import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiError,
  apiClient,
  type MailWorld,
  type MessageJson,
  startMailWorld,
  trackingUrls,
  unique,
} from '../test-support/api-client.js';
import { BACKENDS, eventually } from '../test-support/world.js';

/** Template previews and test sends, bounces and complaints, opens and the message log, over HTTP. */
describe.each(BACKENDS)('messaging API on %s', (backend) => {
  let mailWorld: MailWorld;
  const {
    api,
    caughtUp,
    newProfile,
    newTemplate,
    emailJourney,
    publish,
    enrol,
    report,
    listMessages,
    settledMessages,
    mailTo,
  } = apiClient(() => mailWorld);

  const eventNames = async (profileId: string) => {
    const timeline = await api<{ items: Array<{ name: string | null }> }>(
      'GET',
      `/profiles/${profileId}/events?limit=100`,
    );
    return timeline.body.items.map((event) => event.name);
  };

  beforeAll(async () => {
    mailWorld = await startMailWorld(backend);
  });

  afterAll(async () => {
    await mailWorld?.close();
  });

  describe('template preview and test send', () => {
    it('previews the template as the chosen profile would receive it, with traits HTML-escaped, sending nothing', async () => {
      const templateId = await newTemplate();
      const mallory = await newProfile({ first_name: '<script>alert(1)</script>Mallory' });
      const sentBefore = mailWorld.sink.received.length;

      const preview = await api<{ subject: string; preheader: string; html: string; text: string }>(
        'POST',
        `/templates/${templateId}/preview`,
        { profileId: mallory.id },
      );

      expect(preview.status).toBe(200);
      expect(preview.body.subject).toBe('Hello <script>alert(1)</script>Mallory');
      expect(preview.body.html).toContain('Hi &lt;script&gt;alert(1)&lt;/script&gt;Mallory');
      expect(preview.body.html).not.toContain('<script>');
      expect(preview.body.text).toContain('Mallory, your code is none.');
      expect(mailWorld.sink.received.length).toBe(sentBefore);
      expect((await listMessages({ profileId: mallory.id })).items).toEqual([]);
    });

    it('previews a template being edited, unsaved, and names the field whose MJML or Liquid does not compile', async () => {
      const ada = await newProfile({ first_name: 'Ada' });
      const template = {
        name: 'Draft',
        subject: 'Psst {{ profile.traits.first_name }}',
        mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Draft for {{ profile.traits.first_name }}</mj-text></mj-column></mj-section></mj-body></mjml>',
      };
      const before = await api<{ items: unknown[] }>('GET', '/templates');

      const preview = await api<{ subject: string; html: string; text: string }>(
        'POST',
        '/templates/preview',
        {
          profileId: ada.id,
          template,
        },
      );

      expect(preview.status).toBe(200);
      expect(preview.body.subject).toBe('Psst Ada');
      expect(preview.body.text).toContain('Draft for Ada');
      // A preview's links lead nowhere: signed for no message that was sent, they redirect no one.
      const phishing = await api<{ html: string }>('POST', '/templates/preview', {
        template: {
          ...template,
          mjml: '<mjml><mj-body><mj-section><mj-column><mj-button href="https://evil.example/phish">Log in</mj-button></mj-column></mj-section></mj-body></mjml>',
        },
      });
      const clickUrl = /href="([^"]*\/t\/c\/[^"]+)"/.exec(phishing.body.html)?.[1]?.replaceAll('&amp;', '&');
      expect(clickUrl).toBeDefined();
      const followed = await fetch(clickUrl as string, { redirect: 'manual' });
      expect(followed.status).toBe(404);
      expect(followed.headers.get('location')).toBeNull();
      expect((await api<{ items: unknown[] }>('GET', '/templates')).body.items).toHaveLength(
        before.body.items.length,
      );
      const broken = await api<ApiError>('POST', '/templates/preview', {
        template: { ...template, subject: 'Hi {{ profile.traits.first_name ' },
      });
      expect(broken.status).toBe(400);
      expect(broken.body.error.field).toBe('subject');
      const missing = await api<ApiError>('POST', '/templates/preview', {
        template: { name: 'x', subject: 's' },
      });
      expect(missing.status).toBe(400);
      expect(missing.body.error.field).toBe('template.mjml');
    });

    it('previews for no profile with empty traits', async () => {
      const templateId = await newTemplate();

      const preview = await api<{ subject: string }>('POST', `/templates/${templateId}/preview`, {});

      expect(preview.status).toBe(200);
      expect(preview.body.subject).toBe('Hello there');
      // The entry event's properties stand in for a journey's, as the template's Liquid reads them.
      const withEvent = await api<{ text: string }>('POST', `/templates/${templateId}/preview`, {
        properties: { coupon: 'SPRING24' },
      });
      expect(withEvent.body.text).toContain('your code is SPRING24.');
    });

    it('sends a test e-mail to the test address, personalised for the chosen profile, and logs it on the test topic', async () => {
      const templateId = await newTemplate();
      const mallory = await newProfile({ first_name: '<script>alert(1)</script>Mallory' });
      const tester = `${unique('qa')}@example.com`;

      const sent = await api<MessageJson>('POST', `/templates/${templateId}/test-send`, {
        profileId: mallory.id,
        to: tester,
      });

      expect(sent.status).toBe(200);
      expect(sent.body).toMatchObject({
        profileId: mallory.id,
        templateId,
        topic: 'test',
        status: 'sent',
        toAddress: tester,
      });
      const mail = await mailTo(tester);
      expect(mail.parsed.to).toMatchObject({ value: [{ address: tester }] });
      expect(mail.parsed.subject).toBe('Hello <script>alert(1)</script>Mallory');
      const html = String(mail.parsed.html);
      expect(html).toContain('Hi &lt;script&gt;alert(1)&lt;/script&gt;Mallory');
      expect(html).not.toContain('<script>');
      expect(mail.parsed.text).toContain('Mallory, your code is none.');
      expect(mailWorld.sink.to(mallory.email)).toEqual([]);
      const [logged] = await settledMessages({ profileId: mallory.id }, 1);
      expect(logged).toMatchObject({ id: sent.body.id, topic: 'test', status: 'sent' });

      // The tester opens it and clicks: kept on the message, nothing written on Mallory.
      const clickUrl = /href="([^"]*\/t\/c\/[^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
      if (!clickUrl) throw new Error('the test e-mail has no tracked link');
      const followed = await fetch(clickUrl, { redirect: 'manual' });
      expect(followed.headers.get('location')).toBe('https://shop.example.com/offers');
      const [clicked] = (await listMessages({ profileId: mallory.id })).items;
      expect(clicked).toMatchObject({ openedAt: expect.any(String), clickedAt: expect.any(String) });
      // The tester's mailbox bounces it: the message says so, and Mallory's timeline does not.
      const bounced = await api('POST', '/bounces', {
        address: tester,
        type: 'soft',
        messageId: sent.body.id,
      });
      expect(bounced.status).toBe(204);
      expect((await listMessages({ profileId: mallory.id })).items[0]?.bouncedAt).toEqual(expect.any(String));
      await caughtUp();
      const names = await eventNames(mallory.id);
      expect(names).not.toContain('Email Link Clicked');
      expect(names).not.toContain('Email Opened');
      expect(names).not.toContain('Email Bounced');
    });

    it('answers 503 and logs the test e-mail failed when the SMTP server cannot be reached', async () => {
      const templateId = await newTemplate();
      const gus = await newProfile();
      const stored = (await api<Record<string, unknown>>('GET', '/settings')).body;
      const smtp = stored.smtp as Record<string, unknown>;
      // Port 9 (discard) is closed on loopback: the connection is refused.
      expect((await api('PUT', '/settings', { ...stored, smtp: { ...smtp, port: 9 } })).status).toBe(200);
      try {
        const refused = await api<ApiError>('POST', `/templates/${templateId}/test-send`, {
          profileId: gus.id,
          to: 'qa@example.com',
        });
        expect(refused.status).toBe(503);
        expect(refused.body.error.message).toMatch(/SMTP server did not take the test e-mail/);
        const [logged] = await settledMessages({ profileId: gus.id }, 1);
        expect(logged).toMatchObject({ topic: 'test', status: 'failed', toAddress: 'qa@example.com' });
      } finally {
        await api('PUT', '/settings', stored);
      }
    });

    it('answers 4xx naming the field for a bad test address, an unknown profile or a malformed profileId', async () => {
      const templateId = await newTemplate();
      const fay = await newProfile();

      const badAddress = await api<ApiError>('POST', `/templates/${templateId}/test-send`, {
        profileId: fay.id,
        to: 'not an address',
      });
      expect(badAddress.status).toBe(400);
      expect(badAddress.body.error).toMatchObject({ code: 'invalid_input', field: 'to' });

      const noAddress = await api<ApiError>('POST', `/templates/${templateId}/test-send`, {
        profileId: fay.id,
      });
      expect(noAddress.status).toBe(400);
      expect(noAddress.body.error.field).toBe('to');

      const unknownProfile = await api<ApiError>('POST', `/templates/${templateId}/test-send`, {
        profileId: 'prf_nobody',
        to: 'qa@example.com',
      });
      expect(unknownProfile.status).toBe(404);
      expect(unknownProfile.body.error).toMatchObject({ code: 'not_found', field: 'profileId' });

      const badPreview = await api<ApiError>('POST', `/templates/${templateId}/preview`, { profileId: 42 });
      expect(badPreview.status).toBe(400);
      expect(badPreview.body.error).toMatchObject({ code: 'invalid_input', field: 'profileId' });

      const unknownTemplate = await api<ApiError>('POST', '/templates/tpl_nothing/preview', {});
      expect(unknownTemplate.status).toBe(404);
      expect(unknownTemplate.body.error.message).toMatch(/tpl_nothing/);
    });
  });

  describe('settings', () => {
    it('changes only the sections a PATCH names, checks them as a whole and keeps everything on a refusal', async () => {
      type Settings = {
        scoring: { models: Array<{ id: string }> };
        timezone: string;
        smtp?: { hasPassword: boolean };
      };
      const before = (await api<Settings & Record<string, unknown>>('GET', '/settings')).body;
      const model = {
        id: unique('patched'),
        name: 'Patched',
        rules: [{ id: 'demo', kind: 'event', event: 'Demo Requested', points: 10 }],
      };
      const scored = await api<Settings>('PATCH', '/settings', { scoring: { models: [model] } });
      expect(scored.status).toBe(200);
      expect(scored.body.scoring.models.map((kept) => kept.id)).toEqual([model.id]);

      // Another section alone: the model stays (a PUT of it alone would have dropped the model).
      const zoned = await api<Settings>('PATCH', '/settings', { timezone: 'Europe/Rome' });
      expect(zoned.status).toBe(200);
      expect(zoned.body).toMatchObject({ timezone: 'Europe/Rome', scoring: { models: [{ id: model.id }] } });
      expect(zoned.body.smtp).toEqual(before.smtp);

      // Checked as the whole settings are: a lifecycle rule naming a model that does not exist.
      const refused = await api<ApiError>('PATCH', '/settings', {
        timezone: 'UTC',
        lifecycle: {
          stages: ['lead', 'mql'],
          rules: [{ kind: 'score', to: 'mql', model: 'nope', atLeast: 10 }],
        },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error.field).toBe('lifecycle.rules.0.model');
      expect((await api<Settings>('GET', '/settings')).body).toMatchObject({
        timezone: 'Europe/Rome',
        scoring: { models: [{ id: model.id }] },
      });
      expect(
        (await api('PATCH', '/settings', { scoring: before.scoring, timezone: before.timezone })).status,
      ).toBe(200);
    });
  });

  describe('profile traits', () => {
    it('keeps traits named as what every object inherits, and goes on with the events after them', async () => {
      const inherited = { constructor: 'Bob', toString: 'x', valueOf: 1, hasOwnProperty: true };
      const named = await newProfile(inherited);
      const profile = await api<{ traits: Record<string, unknown> }>('GET', `/profiles/${named.id}`);
      expect(profile.status).toBe(200);
      expect(profile.body.traits).toMatchObject(inherited);
      // The pipeline did not stop on them: a profile identified after is made too.
      expect((await newProfile()).id).toMatch(/^prf_/);
    });
  });

  describe('topic choices', () => {
    it('refuses a change naming an unknown topic whole, changing none of the others', async () => {
      const profile = await newProfile();
      const path = `/profiles/${profile.id}/subscriptions`;
      const before = (await api<{ topics: Record<string, boolean> }>('GET', path)).body.topics;
      const [topic] = Object.keys(before);
      if (topic === undefined) throw new Error('the workspace has no topics');
      const refused = await api<ApiError>('PUT', path, { topics: { [topic]: !before[topic], nope: true } });
      expect(refused.status).toBe(400);
      expect(refused.body.error.field).toBe('topics.nope');
      expect((await api<{ topics: Record<string, boolean> }>('GET', path)).body.topics).toEqual(before);

      expect((await api('PUT', path, { topics: { [topic]: !before[topic] } })).status).toBe(204);
      expect((await api<{ topics: Record<string, boolean> }>('GET', path)).body.topics[topic]).toBe(
        !before[topic],
      );
    });

    it('keeps a choice made on one channel to that channel, until one for every channel overrides it', async () => {
      const profile = await newProfile();
      const path = `/profiles/${profile.id}/subscriptions`;
      type Choices = {
        topics: Record<string, boolean>;
        channels: Record<'email' | 'sms', Record<string, boolean>>;
      };
      const choices = async () => (await api<Choices>('GET', path)).body;
      expect((await api('PUT', path, { channels: { sms: { marketing: false } } })).status).toBe(204);
      expect(await choices()).toMatchObject({
        // Subscribed on every channel no longer: one of them was left.
        topics: { marketing: false },
        channels: { email: { marketing: true }, sms: { marketing: false } },
      });
      expect((await api('PUT', path, { topics: { marketing: true } })).status).toBe(204);
      expect(await choices()).toMatchObject({
        topics: { marketing: true },
        channels: { email: { marketing: true }, sms: { marketing: true } },
      });

      for (const [body, field] of [
        [{}, 'topics'],
        [{ channels: { sms: { nope: false } } }, 'channels.sms.nope'],
        [{ topics: { marketing: false }, channels: { email: { nope: false } } }, 'channels.email.nope'],
      ] as const) {
        const refused = await api<ApiError>('PUT', path, body);
        expect(refused.status, JSON.stringify(body)).toBe(400);
        expect(refused.body.error.field).toBe(field);
      }
      // Refused whole: the topic named beside the unknown one was not written either.
      expect((await choices()).topics.marketing).toBe(true);
    });
  });

  describe('bounces and complaints', () => {
    it.each([
      ['a hard bounce', 'hard', 'hard_bounce'],
      ['a complaint', 'complaint', 'complaint'],
    ])(
      'suppresses the address after %s, so a later journey e-mail to it is suppressed, not sent',
      async (_, type, reason) => {
        const journeyId = await publish(emailJourney(await newTemplate()));
        const gus = await newProfile();

        // Providers report addresses as they saw them; the case must not matter.
        const reported = await api('POST', '/bounces', { address: gus.email.toUpperCase(), type });
        expect(reported.status).toBe(204);

        const suppressions = await api<{ items: Array<{ address: string; reason: string }> }>(
          'GET',
          '/suppressions?limit=500',
        );
        expect(suppressions.body.items).toContainEqual(
          expect.objectContaining({ address: gus.email, reason }),
        );
        const byAddress = await api<{ items: Array<{ address: string }> }>(
          'GET',
          `/suppressions?address=${encodeURIComponent(gus.email.toUpperCase())}`,
        );
        expect(byAddress.body.items.map((item) => item.address)).toEqual([gus.email]);
        expect((await enrol(journeyId, { profileId: gus.id })).status).toBe(201);
        const [message] = await settledMessages({ profileId: gus.id }, 1);
        expect(message).toMatchObject({ status: 'suppressed', reason: `address suppressed: ${reason}` });
        expect(mailWorld.sink.to(gus.email)).toEqual([]);
        expect((await report(journeyId)).messages.send).toMatchObject({ sent: 0, suppressed: 1 });
      },
    );

    it('takes an address off the suppression list for an admin, so the next e-mail to it is sent', async () => {
      const journeyId = await publish(emailJourney(await newTemplate()));
      const ida = await newProfile();
      expect((await api('POST', '/bounces', { address: ida.email, type: 'hard' })).status).toBe(204);
      const lift = (address: string) =>
        api<ApiError>('DELETE', `/suppressions/email/${encodeURIComponent(address)}`);

      // Written in any case, as the list keeps it lower-cased.
      expect((await lift(ida.email.toUpperCase())).status).toBe(204);

      const suppressions = await api<{ items: unknown[] }>(
        'GET',
        `/suppressions?address=${encodeURIComponent(ida.email)}`,
      );
      expect(suppressions.body.items).toEqual([]);
      const notThere = await lift(ida.email);
      expect(notThere.status).toBe(404);
      expect(notThere.body.error.field).toBe('address');
      expect((await enrol(journeyId, { profileId: ida.id })).status).toBe(201);
      const [message] = await settledMessages({ profileId: ida.id }, 1);
      expect(message).toMatchObject({ status: 'sent' });
    });

    it('puts an address on the suppression list by hand for an admin, receipts held too, until it is taken off', async () => {
      const receipt = emailJourney(await newTemplate());
      const receiptJourney = await publish({
        ...receipt,
        steps: [
          {
            id: 'send',
            type: 'send_email',
            template: (receipt.steps as Array<{ template: string }>)[0]?.template,
            topic: 'transactional',
            next: 'done',
          },
          { id: 'done', type: 'exit' },
        ],
      });
      const joy = await newProfile();
      const listed = async (channel: string, address: string) =>
        (
          await api<{ items: Array<{ reason: string }> }>(
            'GET',
            `/suppressions?channel=${channel}&address=${encodeURIComponent(address)}`,
          )
        ).body.items.map((item) => item.reason);
      // Unsubscribed from every e-mail first: receipts still went. By hand holds them too, replacing it.
      await mailWorld.world.mops.storage.consent.suppress({
        workspaceId: mailWorld.world.workspaceId,
        channel: 'email',
        address: joy.email.toLowerCase(),
        reason: 'unsubscribed',
        at: Date.now(),
      });

      const added = await api<{ channel: string; address: string; reason: string }>('POST', '/suppressions', {
        channel: 'email',
        address: ` ${joy.email.toUpperCase()} `,
      });
      expect(added.status).toBe(200);
      expect(added.body).toMatchObject({
        channel: 'email',
        address: joy.email.toLowerCase(),
        reason: 'added_by_hand',
      });
      expect(await listed('email', joy.email)).toEqual(['added_by_hand']);
      expect((await enrol(receiptJourney, { profileId: joy.id })).status).toBe(201);
      const [held] = await settledMessages({ profileId: joy.id }, 1);
      expect(held).toMatchObject({ status: 'suppressed', reason: 'address suppressed: added_by_hand' });
      const subscriptions = await api<{ suppressed: { email: string | null } }>(
        'GET',
        `/profiles/${joy.id}/subscriptions`,
      );
      expect(subscriptions.body.suppressed.email).toBe('added_by_hand');

      // A hard bounce already there keeps its reason: it says more.
      const kim = await newProfile();
      await api('POST', '/bounces', { address: kim.email, type: 'hard' });
      expect(
        (await api('POST', '/suppressions', { channel: 'email', address: kim.email })).body,
      ).toMatchObject({
        reason: 'hard_bounce',
      });

      // An international address is one too, as e-mails go to it.
      const international = await api<{ address: string }>('POST', '/suppressions', {
        channel: 'email',
        address: 'José@Exämple.it',
      });
      expect(international.status).toBe(200);
      expect(international.body.address).toBe('josé@exämple.it');

      // A number, written as people do, is kept in E.164 form.
      const number = await api<{ address: string }>('POST', '/suppressions', {
        channel: 'sms',
        address: '+39 347 000 0099',
      });
      expect(number.status).toBe(200);
      expect(number.body.address).toBe('+393470000099');
      expect(await listed('sms', '+393470000099')).toEqual(['added_by_hand']);
      // A number that texted STOP keeps it: only the contact's START may lift that.
      await mailWorld.world.mops.storage.consent.suppress({
        workspaceId: mailWorld.world.workspaceId,
        channel: 'sms',
        address: '+393470000097',
        reason: 'unsubscribed',
        at: Date.now(),
      });
      expect(
        (await api('POST', '/suppressions', { channel: 'sms', address: '+393470000097' })).body,
      ).toMatchObject({ reason: 'unsubscribed' });

      // What could never match is refused naming the address, and nothing is kept.
      for (const [channel, address] of [
        ['email', 'not-an-address'],
        ['email', '+393470000098'],
        ['sms', '347 000 0098'],
        ['sms', 'joy@example.com'],
      ] as const) {
        const refused = await api<ApiError>('POST', '/suppressions', { channel, address });
        expect(refused.status, address).toBe(400);
        expect(refused.body.error.field, address).toBe('address');
        expect(refused.body.error.message, address).toContain(address);
      }
      expect(await listed('sms', '+393470000098')).toEqual([]);
      const unknownChannel = await api<ApiError>('POST', '/suppressions', {
        channel: 'fax',
        address: joy.email,
      });
      expect(unknownChannel.status).toBe(400);
      expect(unknownChannel.body.error.field).toBe('channel');

      // Taken off by an admin like any other; a number added by hand too (only a STOP waits for START).
      // Her unsubscribe from everything, which it replaced, comes back: hers, not the admin's, to undo.
      expect((await api('DELETE', `/suppressions/email/${encodeURIComponent(joy.email)}`)).status).toBe(204);
      expect((await api('DELETE', `/suppressions/sms/${encodeURIComponent('+393470000099')}`)).status).toBe(
        204,
      );
      expect(await listed('email', joy.email)).toEqual(['unsubscribed']);
      expect(await listed('sms', '+393470000099')).toEqual([]);
    });

    it("shows the profile's address suppressed in its subscriptions, whatever the reason, its e-mail choices as they were", async () => {
      const { world } = mailWorld;
      const subscriptions = async (profileId: string) =>
        (
          await api<{
            channels: { email: Record<string, boolean> };
            suppressed: { email: string | null; sms: string | null };
          }>('GET', `/profiles/${profileId}/subscriptions`)
        ).body;
      const bounced = await newProfile();
      const complained = await newProfile();
      const unsubscribedAddress = `${unique('Una')}@Example.com`;
      const unsubscribed = await newProfile({ email: unsubscribedAddress });
      const softBounced = await newProfile();
      expect(await subscriptions(bounced.id)).toEqual({
        topics: { marketing: true, transactional: true },
        channels: {
          email: { marketing: true, transactional: true },
          sms: { marketing: true, transactional: true },
        },
        suppressed: { email: null, sms: null },
        addresses: { email: bounced.email.toLowerCase(), sms: null },
      });

      // Reported by the provider or an admin (in any case), or unsubscribed from every e-mail; a
      // soft bounce holds nothing. Traits keep addresses as written: case does not matter either.
      await api('POST', '/bounces', { address: bounced.email.toUpperCase(), type: 'hard' });
      await api('POST', '/bounces', { address: complained.email, type: 'complaint' });
      await api('POST', '/bounces', { address: softBounced.email, type: 'soft' });
      await world.mops.storage.consent.suppress({
        workspaceId: world.workspaceId,
        channel: 'email',
        address: unsubscribedAddress.toLowerCase(),
        reason: 'unsubscribed',
        at: Date.now(),
      });

      for (const [profile, reason, address] of [
        [bounced, 'hard_bounce', bounced.email],
        [complained, 'complaint', complained.email],
        [unsubscribed, 'unsubscribed', unsubscribedAddress],
        [softBounced, null, softBounced.email],
      ] as const)
        expect(await subscriptions(profile.id), reason ?? 'soft').toMatchObject({
          // The choices are kept as made: the address is what is held.
          channels: { email: { marketing: true, transactional: true } },
          suppressed: { email: reason, sms: null },
          // As the list knows it, to take it off.
          addresses: { email: address.toLowerCase(), sms: null },
        });
    });

    it('records a soft bounce without suppressing the address: a later journey e-mail is sent', async () => {
      const journeyId = await publish(emailJourney(await newTemplate()));
      const hal = await newProfile();

      expect((await api('POST', '/bounces', { address: hal.email, type: 'soft' })).status).toBe(204);

      const suppressions = await api<{ items: Array<{ address: string }> }>('GET', '/suppressions?limit=500');
      expect(suppressions.body.items.map((item) => item.address)).not.toContain(hal.email);
      expect((await enrol(journeyId, { profileId: hal.id })).status).toBe(201);
      expect((await settledMessages({ profileId: hal.id }, 1))[0]?.status).toBe('sent');
      expect(await mailTo(hal.email)).toBeDefined();
    });

    it('marks the reported message as bounced on the message log, the report and the profile timeline', async () => {
      const journeyId = await publish(emailJourney(await newTemplate()));
      const ida = await newProfile();
      await enrol(journeyId, { profileId: ida.id });
      const [sent] = await settledMessages({ profileId: ida.id }, 1);

      const reported = await api('POST', '/bounces', {
        address: ida.email,
        type: 'hard',
        messageId: sent?.id,
      });

      expect(reported.status).toBe(204);
      const [bounced] = (await listMessages({ profileId: ida.id })).items;
      expect(bounced?.bouncedAt).not.toBeNull();
      expect((await report(journeyId)).messages.send).toMatchObject({ sent: 1, bounced: 1 });
      await eventually(async () => ((await eventNames(ida.id)).includes('Email Bounced') ? true : undefined));
    });

    it('takes a receipt’s one-click unsubscribe as leaving every e-mail but receipts', async () => {
      const template = await newTemplate();
      const journey = (topic: string) => {
        const definition = emailJourney(template);
        const steps = definition.steps as Array<Record<string, unknown>>;
        return { ...definition, steps: [{ ...steps[0], topic }, ...steps.slice(1)] };
      };
      const receipts = [await publish(journey('transactional')), await publish(journey('transactional'))];
      const news = await publish(journey('marketing'));
      const una = await newProfile();
      await enrol(receipts[0] as string, { profileId: una.id });
      const receipt = await mailTo(una.email);
      const unfolded = receipt.raw.replace(/\r?\n[ \t]+/g, ' ');
      const unsubscribeUrl = /List-Unsubscribe: <([^>]+)>/.exec(unfolded)?.[1] as string;
      const page = await (await fetch(unsubscribeUrl)).text();
      expect(page).not.toContain('Unsubscribe from transactional');
      const oneClick = await fetch(unsubscribeUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(await oneClick.text()).toContain('except about what you buy');

      await enrol(receipts[1] as string, { profileId: una.id });
      await enrol(news, { profileId: una.id });
      const outcomes = (await settledMessages({ profileId: una.id }, 3)).map((message) => [
        message.topic,
        message.status,
        message.reason,
      ]);
      expect(outcomes).toEqual(
        expect.arrayContaining([
          ['transactional', 'sent', null],
          ['transactional', 'sent', null],
          ['marketing', 'suppressed', 'address suppressed: unsubscribed'],
        ]),
      );
    });

    it('sends nothing to an e-mail trait that is more than a bare address, as a suppressed one hides inside it', async () => {
      const journeyId = await publish(emailJourney(await newTemplate()));
      const vi = await newProfile();
      await api('POST', '/bounces', { address: vi.email, type: 'complaint' });
      for (const written of [`<${vi.email}>`, `Vi <${vi.email}>`, `${vi.email}, other@example.com`]) {
        const again = await newProfile({ email: written });
        await enrol(journeyId, { profileId: again.id });
        const [message] = await settledMessages({ profileId: again.id }, 1);
        expect({ written, status: message?.status, reason: message?.reason }).toEqual({
          written,
          status: 'skipped',
          reason: 'the profile has no e-mail address (trait email)',
        });
      }
      expect(mailWorld.sink.to(vi.email)).toEqual([]);
    });

    it('refuses a message id that is no e-mail to the address reported, suppressing nothing', async () => {
      const journeyId = await publish(emailJourney(await newTemplate()));
      const ivo = await newProfile();
      await enrol(journeyId, { profileId: ivo.id });
      const [sent] = await settledMessages({ profileId: ivo.id }, 1);
      for (const [address, messageId] of [
        [ivo.email, 'msg_mistyped'],
        ['someone.else@example.com', sent?.id],
      ]) {
        const refused = await api<ApiError>('POST', '/bounces', { address, type: 'hard', messageId });
        expect(refused.status).toBe(400);
        expect(refused.body.error).toMatchObject({ code: 'invalid_input', field: 'messageId' });
      }
      expect((await listMessages({ profileId: ivo.id })).items[0]?.bouncedAt).toBeNull();
      const suppressions = await api<{ items: Array<{ address: string }> }>('GET', '/suppressions?limit=500');
      expect(suppressions.body.items.map((item) => item.address)).not.toContain(ivo.email.toLowerCase());
      expect(suppressions.body.items.map((item) => item.address)).not.toContain('someone.else@example.com');
    });

    it('answers 400 naming the field for a bad address, an unknown type or an empty body', async () => {
      const badAddress = await api<ApiError>('POST', '/bounces', { address: 'nobody', type: 'hard' });
      expect(badAddress.status).toBe(400);
      expect(badAddress.body.error).toMatchObject({ code: 'invalid_input', field: 'address' });

      const badType = await api<ApiError>('POST', '/bounces', { address: 'x@example.com', type: 'blocked' });
      expect(badType.status).toBe(400);
      expect(badType.body.error).toMatchObject({ code: 'invalid_input', field: 'type' });

      const empty = await api<ApiError>('POST', '/bounces', {});
      expect(empty.status).toBe(400);
      expect(empty.body.error.field).toMatch(/^(address|type)$/);

      const suppressions = await api<{ items: Array<{ address: string }> }>('GET', '/suppressions?limit=500');
      expect(suppressions.body.items.map((item) => item.address)).not.toContain('x@example.com');
    });
  });

  describe('open pixel', () => {
    it('answers the signed pixel of a received e-mail with a GIF, and records one Email Opened however often it loads', async () => {
      const journeyId = await publish(emailJourney(await newTemplate()));
      const jo = await newProfile();
      await enrol(journeyId, { profileId: jo.id });
      const { pixel } = trackingUrls(await mailTo(jo.email));

      const first = await fetch(pixel);
      const second = await fetch(pixel);

      for (const response of [first, second]) {
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('image/gif');
        expect(
          Buffer.from(await response.arrayBuffer())
            .subarray(0, 6)
            .toString('latin1'),
        ).toBe('GIF89a');
      }
      const [message] = await settledMessages({ profileId: jo.id }, 1);
      expect(message?.openedAt).not.toBeNull();
      expect((await report(journeyId)).messages.send).toMatchObject({ sent: 1, opened: 1 });
      await eventually(async () => ((await eventNames(jo.id)).includes('Email Opened') ? true : undefined));
      await caughtUp();
      expect((await eventNames(jo.id)).filter((name) => name === 'Email Opened')).toHaveLength(1);
    });

    it('refuses a tampered, unsigned or click token with 400 and records no open', async () => {
      const journeyId = await publish(emailJourney(await newTemplate()));
      const kim = await newProfile();
      await enrol(journeyId, { profileId: kim.id });
      const [message] = await settledMessages({ profileId: kim.id }, 1);
      const { pixel, click } = trackingUrls(await mailTo(kim.email));
      const [body, signature] = (pixel.split('/t/o/')[1] as string).replace(/\.gif$/, '').split('.');
      const forged = Buffer.from(JSON.stringify({ m: message?.id, x: 1 })).toString('base64url');
      const clickToken = click.split('/t/c/')[1] as string;

      for (const token of [`${forged}.${signature}`, `${body}`, `${body}.`, clickToken]) {
        const response = await fetch(`${mailWorld.world.url}/t/o/${token}.gif`);
        expect(response.status, token).toBe(400);
        expect(((await response.json()) as ApiError).error.code).toBe('invalid_input');
      }
      expect((await listMessages({ profileId: kim.id })).items[0]?.openedAt).toBeNull();
      expect((await report(journeyId)).messages.send).toMatchObject({ opened: 0 });
    });
  });

  describe('click link', () => {
    /** The first tracked link of the e-mail a one-button template sends `traits`' new profile. */
    const clickLinkTo = async (href: string, traits: Record<string, unknown>) => {
      const templateId = await newTemplate({
        mjml: `<mjml><mj-body><mj-section><mj-column>
          <mj-button href="${href}">Shop</mj-button>
        </mj-column></mj-section></mj-body></mjml>`,
      });
      const journeyId = await publish(emailJourney(templateId));
      const profile = await newProfile(traits);
      await enrol(journeyId, { profileId: profile.id });
      return { profile, click: trackingUrls(await mailTo(profile.email)).click };
    };

    it('redirects to a target past ASCII percent-encoded, as the Location header takes it', async () => {
      // Past Latin-1 (Ł), Node refuses the header outright; within it (ã), the bytes would go out as Latin-1.
      for (const [city, query] of [
        ['São Paulo', 'S%C3%A3o%20Paulo'],
        ['Łódź', '%C5%81%C3%B3d%C5%BA'],
      ]) {
        const { click } = await clickLinkTo('https://shop.example.com/caffè/ñ?q={{ profile.traits.city }}', {
          city,
        });

        const followed = await fetch(click, { redirect: 'manual' });

        expect(followed.status, city).toBe(302);
        expect(followed.headers.get('location'), city).toBe(
          `https://shop.example.com/caff%C3%A8/%C3%B1?q=${query}`,
        );
      }
    });

    it('answers a HEAD (a link scanner’s) with the redirect, recording neither a click nor an open; a GET does', async () => {
      const { profile, click } = await clickLinkTo('https://shop.example.com/offers', {});
      const [sent] = await settledMessages({ profileId: profile.id }, 1);

      const scanned = await fetch(click, { method: 'HEAD', redirect: 'manual' });

      expect(scanned.status).toBe(302);
      expect(scanned.headers.get('location')).toBe('https://shop.example.com/offers');
      // Checked as a click is: no redirect for a token we did not sign.
      expect((await fetch(`${click}x`, { method: 'HEAD', redirect: 'manual' })).status).toBe(400);
      await caughtUp();
      expect((await listMessages({ profileId: profile.id })).items[0]).toMatchObject({
        id: sent?.id,
        clickedAt: null,
        openedAt: null,
      });
      expect(await eventNames(profile.id)).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/^Email (Link Clicked|Opened)$/)]),
      );

      const followed = await fetch(click, { redirect: 'manual' });

      expect(followed.headers.get('location')).toBe('https://shop.example.com/offers');
      expect((await listMessages({ profileId: profile.id })).items[0]).toMatchObject({
        clickedAt: expect.any(String),
        openedAt: expect.any(String),
      });
      await eventually(async () => {
        const names = await eventNames(profile.id);
        return names.includes('Email Link Clicked') && names.includes('Email Opened') ? true : undefined;
      });
    });

    it('redirects where the link without tracking would have taken a browser, whatever Liquid escaped in it', async () => {
      const { click } = await clickLinkTo('https://shop.example.com/p?name={{ profile.traits.n }}&amp;x=1', {
        n: 'Tom & "Jerry"',
      });

      const followed = await fetch(click, { redirect: 'manual' });

      // The href reads `?name=Tom &amp; &#34;Jerry&#34;&amp;x=1`: a browser follows `?name=Tom & "Jerry"&x=1`.
      expect(followed.status).toBe(302);
      expect(followed.headers.get('location')).toBe(
        'https://shop.example.com/p?name=Tom%20&%20%22Jerry%22&x=1',
      );
    });
  });

  describe('unsubscribe link', () => {
    const emailChoice = async (profileId: string) =>
      (
        await api<{ channels: { email: Record<string, boolean> } }>(
          'GET',
          `/profiles/${profileId}/subscriptions`,
        )
      ).body.channels.email.marketing;

    it('unsubscribes from the topic on the one-click POST, sent as multipart/form-data (as RFC 8058 has it), urlencoded or as any other type', async () => {
      const journeyId = await publish(emailJourney(await newTemplate()));
      const lea = await newProfile();
      const max = await newProfile();
      const oda = await newProfile();
      for (const profile of [lea, max, oda]) await enrol(journeyId, { profileId: profile.id });
      const multipart = new FormData();
      multipart.set('List-Unsubscribe', 'One-Click');
      const urlencoded = new URLSearchParams({ 'List-Unsubscribe': 'One-Click' });
      const text = new Blob(['List-Unsubscribe=One-Click'], { type: 'text/plain' });

      for (const [profile, body] of [
        [lea, multipart],
        [max, urlencoded],
        [oda, text],
      ] as const) {
        const { unsubscribe } = trackingUrls(await mailTo(profile.email));
        const response = await fetch(unsubscribe, { method: 'POST', body });
        expect(response.status, profile.email).toBe(200);
        expect(await emailChoice(profile.id)).toBe(false);
      }
    });

    it('is in the plain-text part too, once', async () => {
      const footed = await publish(emailJourney(await newTemplate()));
      const ownLink = await publish(
        emailJourney(await newTemplate({ text: 'Hi. To hear no more: {{ unsubscribe_url }}' })),
      );
      const pia = await newProfile();
      const quin = await newProfile();
      await enrol(footed, { profileId: pia.id });
      await enrol(ownLink, { profileId: quin.id });

      const footedMail = await mailTo(pia.email);
      const ownLinkMail = await mailTo(quin.email);

      const { unsubscribe } = trackingUrls(footedMail);
      expect(String(footedMail.parsed.html)).toContain('Unsubscribe</a>');
      expect(footedMail.parsed.text).toContain(`Unsubscribe: ${unsubscribe}`);
      const own = trackingUrls(ownLinkMail).unsubscribe;
      expect(ownLinkMail.parsed.text?.trim()).toBe(`Hi. To hear no more: ${own}`);
    });

    it('unsubscribes from every e-mail when the page’s own form asks so', async () => {
      const journeyId = await publish(emailJourney(await newTemplate()));
      const ned = await newProfile();
      await enrol(journeyId, { profileId: ned.id });
      const { unsubscribe } = trackingUrls(await mailTo(ned.email));
      expect(await (await fetch(unsubscribe)).text()).toContain('name="scope" value="everything"');

      const response = await fetch(unsubscribe, {
        method: 'POST',
        body: new URLSearchParams({ scope: 'everything' }),
      });

      expect(response.status).toBe(200);
      const suppressions = await api<{ items: Array<{ address: string; reason: string }> }>(
        'GET',
        `/suppressions?address=${encodeURIComponent(ned.email)}`,
      );
      expect(suppressions.body.items).toEqual([
        expect.objectContaining({ address: ned.email.toLowerCase(), reason: 'unsubscribed' }),
      ]);
    });
    it('puts the address on the suppression list when asked before the mail server has answered the send', async () => {
      const journeyId = await publish(emailJourney(await newTemplate()));
      const ola = await newProfile();
      // The dispatcher records where an e-mail went once the server has answered; the recipient may
      // click first.
      mailWorld.sink.replyDelayAfterKeepingMs = 3_000;
      try {
        await enrol(journeyId, { profileId: ola.id });
        const { unsubscribe } = trackingUrls(await mailTo(ola.email));

        const response = await fetch(unsubscribe, {
          method: 'POST',
          body: new URLSearchParams({ scope: 'everything' }),
        });

        expect(response.status).toBe(200);
        expect((await listMessages({ profileId: ola.id })).items[0]).toMatchObject({ status: 'sending' });
        const suppressions = await api<{ items: Array<{ address: string; reason: string }> }>(
          'GET',
          `/suppressions?address=${encodeURIComponent(ola.email)}`,
        );
        expect(suppressions.body.items).toEqual([
          expect.objectContaining({ address: ola.email.toLowerCase(), reason: 'unsubscribed' }),
        ]);
      } finally {
        mailWorld.sink.replyDelayAfterKeepingMs = 0;
      }
    });
  });

  describe('message log', () => {
    it('lists messages newest first, a page at a time, with a cursor to the next page', async () => {
      const journeyId = await publish(emailJourney(await newTemplate()));
      const profiles = [await newProfile(), await newProfile(), await newProfile()];
      for (const profile of profiles) await enrol(journeyId, { profileId: profile.id });
      const all = await settledMessages({ journeyId }, 3);

      const first = await listMessages({ journeyId, limit: '2' });
      expect(first.items).toHaveLength(2);
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = await listMessages({ journeyId, limit: '2', cursor: first.nextCursor as string });
      expect(second.items).toHaveLength(1);
      expect(second.nextCursor).toBeNull();

      const paged = [...first.items, ...second.items];
      expect(paged.map((m) => m.id)).toEqual(all.map((m) => m.id));
      expect(new Set(paged.map((m) => m.profileId))).toEqual(new Set(profiles.map((p) => p.id)));
      const created = paged.map((m) => Date.parse(m.createdAt));
      expect(created).toEqual([...created].sort((a, b) => b - a));
    });

    it('filters by profile, journey and status, alone or together', async () => {
      const welcome = await publish(emailJourney(await newTemplate()));
      const winback = await publish(emailJourney(await newTemplate()));
      const nia = await newProfile();
      const oli = await newProfile();
      const pat = await newProfile();
      await api('POST', '/bounces', { address: pat.email, type: 'complaint' });
      for (const [journeyId, profile] of [
        [welcome, nia],
        [welcome, oli],
        [welcome, pat],
        [winback, nia],
      ] as const) {
        expect((await enrol(journeyId, { profileId: profile.id })).status).toBe(201);
      }
      await settledMessages({ journeyId: welcome }, 3);
      await settledMessages({ journeyId: winback }, 1);

      const profilesOf = async (query: Record<string, string>) =>
        (await listMessages(query)).items.map((m) => m.profileId).sort();
      expect(await profilesOf({ journeyId: welcome, status: 'sent' })).toEqual([nia.id, oli.id].sort());
      expect(await profilesOf({ journeyId: welcome, status: 'suppressed' })).toEqual([pat.id]);
      expect((await listMessages({ profileId: nia.id })).items.map((m) => m.journeyId).sort()).toEqual(
        [welcome, winback].sort(),
      );
      expect(await profilesOf({ profileId: nia.id, journeyId: winback })).toEqual([nia.id]);
      expect(await profilesOf({ profileId: oli.id, journeyId: winback })).toEqual([]);
      const suppressed = (await listMessages({ status: 'suppressed', limit: '500' })).items;
      expect(suppressed.every((m) => m.status === 'suppressed')).toBe(true);
      expect(suppressed.map((m) => m.profileId)).toContain(pat.id);
      // By channel: these are all e-mails.
      expect(await profilesOf({ journeyId: winback, channel: 'email' })).toEqual([nia.id]);
      expect(await profilesOf({ journeyId: winback, channel: 'sms' })).toEqual([]);
    });

    it('answers 400 naming the field for an unknown status or filter, a limit out of range or a cursor it never issued', async () => {
      for (const [query, field] of [
        ['status=lost', 'status'],
        ['limit=0', 'limit'],
        ['limit=501', 'limit'],
        ['cursor=not-a-cursor', 'cursor'],
        ['channel=fax', 'channel'],
        // A misspelt filter would otherwise list every message, as if it had matched.
        ['chanel=sms', 'chanel'],
      ]) {
        const response = await api<ApiError>('GET', `/messages?${query}`);
        expect(response.status, query).toBe(400);
        expect(response.body.error, query).toMatchObject({ code: 'invalid_input', field });
      }
    });
  });
});
