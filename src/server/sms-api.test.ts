import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, saveSettings } from '../channels/settings.js';
import { twilioSignature } from '../channels/sms/inbound-sms.js';
import {
  type ApiError,
  apiClient,
  type InstanceJson,
  type MailWorld,
  type MessageJson,
  startMailWorld,
} from '../test-support/api-client.js';
import { memberSessionCookie } from '../test-support/member-session.js';
import { TwilioStandIn } from '../test-support/twilio-stand-in.js';
import { BACKENDS, eventually, testConfig } from '../test-support/world.js';
import { resolveSecret } from './secret.js';

const TOKEN = 'inbound-auth-token';
const PHONE = '+393471234567';

/** The provider's inbound webhook (STOP, START, HELP, signed) and the SMS preview, over HTTP. */
describe.each(BACKENDS)('SMS API on %s', (backend) => {
  let mailWorld: MailWorld;
  let twilio: TwilioStandIn;
  const { api, newProfile, publish, enrol, caughtUp } = apiClient(() => mailWorld);

  beforeAll(async () => {
    mailWorld = await startMailWorld(backend);
    twilio = await new TwilioStandIn().start();
    const saved = await api('PUT', '/settings', {
      smtp: { host: '127.0.0.1', port: mailWorld.sink.port, from: 'Shop <shop@example.com>' },
      sms: {
        baseUrl: twilio.baseUrl,
        accountSid: 'AC1',
        authToken: TOKEN,
        from: '+15005550006',
        helpText: 'Shop alerts. Reply STOP to stop.',
        allowPrivateNetworks: true,
      },
      frequencyCaps: { email: [], sms: [] },
    });
    expect(saved.status).toBe(200);
  });

  afterAll(async () => {
    await twilio?.stop();
    await mailWorld?.close();
  });

  /** Posts a text as the provider would: form-encoded, signed with the auth token over URL and parameters. */
  let texts = 0;
  const inbound = async (
    body: string,
    options: { token?: string; from?: string; optOutType?: string; sid?: string } = {},
  ) => {
    const { world } = mailWorld;
    const url = `${world.url}/v1/sms/inbound/${world.workspaceId}`;
    const params = new URLSearchParams({
      MessageSid: options.sid ?? `SM${String(++texts).padStart(32, '0')}`,
      AccountSid: 'AC1',
      From: options.from ?? PHONE,
      To: '+15005550006',
      Body: body,
    });
    if (options.optOutType) params.set('OptOutType', options.optOutType);
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(options.token ?? TOKEN, url, params),
      },
      body: params.toString(),
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      text: await response.text(),
    };
  };

  const smsSuppression = async (address = PHONE) => {
    const page = await api<{ items: Array<{ channel: string; address: string; reason: string }> }>(
      'GET',
      '/suppressions?limit=100',
    );
    return page.body.items.find((entry) => entry.channel === 'sms' && entry.address === address);
  };

  it('refuses a provider base URL holding credentials or a query, naming the field, and keeps the stored provider', async () => {
    // Credentials there would be kept and shown in the clear, and never sent (the token is); a query
    // would be left off when the provider is asked whether an earlier attempt sent a text.
    for (const baseUrl of ['https://AC1:s3cret@gateway.example.com', 'https://gateway.example.com/?key=k1']) {
      const refused = await api<ApiError>('PATCH', '/settings', {
        sms: { baseUrl, accountSid: 'AC1', authToken: TOKEN, from: '+15005550006' },
      });
      expect(refused.status, baseUrl).toBe(400);
      expect(refused.body.error).toMatchObject({
        field: 'sms.baseUrl',
        message: expect.stringContaining('no user name, password or query'),
      });
    }
    const stored = await api<{ sms: { baseUrl: string } }>('GET', '/settings');
    expect(stored.body.sms.baseUrl).toBe(twilio.baseUrl);
  });

  it('shows the address to give the provider for incoming texts, and takes the settings back with it', async () => {
    const { world } = mailWorld;
    const shown = await api<{ sms: Record<string, unknown> }>('GET', '/settings');
    // The address the provider signs, under the server's public URL.
    expect(shown.body.sms.inboundUrl).toBe(`${world.url}/v1/sms/inbound/${world.workspaceId}`);
    // Settings read and sent back whole, as the console saves another section, carry it: not stored.
    const saved = await api<{ sms: Record<string, unknown> }>('PUT', '/settings', shown.body);
    expect(saved.status).toBe(200);
    expect(saved.body.sms).toEqual(shown.body.sms);
    expect(await world.mops.storage.settings.get(world.workspaceId)).not.toHaveProperty('sms.inboundUrl');
  });

  it('refuses an unsigned or wrongly signed inbound text, changing nothing', async () => {
    const forged = await inbound('STOP', { token: 'not-the-token' });
    expect(forged.status).toBe(403);
    expect(forged.text).toContain('X-Twilio-Signature');
    expect(await smsSuppression()).toBeUndefined();
  });

  it('refuses a webhook URL whose ids hold a NUL with 400 naming the id, before looking the workspace up', async () => {
    // PostgreSQL refuses the NUL in a query (a 500 before the signature is checked); SQLite finds nothing.
    const { world } = mailWorld;
    for (const [path, field] of [
      [`/v1/sms/inbound/${world.workspaceId}%00`, 'workspaceId'],
      [`/v1/sms/status/${world.workspaceId}%00/msg_1`, 'workspaceId'],
      [`/v1/sms/status/${world.workspaceId}/msg%001`, 'messageId'],
    ] as const) {
      const response = await fetch(`${world.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `MessageSid=SM${'0'.repeat(32)}&MessageStatus=delivered`,
      });
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expect(await response.json()).toMatchObject({ error: { code: 'invalid_input', field } });
    }
  });

  it('opts a number out on STOP and back in on START, and a journey text follows that', async () => {
    const stop = await inbound('  stop ');
    expect(stop.status).toBe(200);
    expect(stop.type).toContain('text/xml');
    expect(stop.text).toMatch(
      /<Response><Message>You are unsubscribed.*Reply START to subscribe again\.<\/Message><\/Response>/,
    );
    expect(await smsSuppression()).toMatchObject({ reason: 'unsubscribed' });
    // Only the contact's START lifts a STOP, as carriers require; not an admin.
    const lifted = await api<ApiError>('DELETE', `/suppressions/sms/${encodeURIComponent(PHONE)}`);
    expect(lifted.status).toBe(409);
    expect(lifted.body.error.field).toBe('address');
    expect(await smsSuppression()).toMatchObject({ reason: 'unsubscribed' });

    const journeyId = await publish({
      name: `Texts ${Math.random()}`,
      entry: { trigger: { type: 'manual' }, reentry: { policy: 'every_time' }, allowConcurrent: true },
      start: 'text',
      steps: [
        { id: 'text', type: 'send_sms', body: 'Hi {{ profile.traits.first_name }}', next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    const ada = await newProfile({ phone: '+39 347 123 4567' });
    const messageOf = async (status: string) =>
      eventually(async () => {
        const page = await api<{ items: MessageJson[] }>(
          'GET',
          `/messages?journeyId=${journeyId}&status=${status}`,
        );
        return page.body.items[0];
      });
    expect((await enrol(journeyId, { profileId: ada.id })).status).toBe(201);
    expect(await messageOf('suppressed')).toMatchObject({
      toAddress: PHONE,
      reason: 'address suppressed: unsubscribed',
    });
    expect(twilio.sent).toHaveLength(0);

    const start = await inbound('START');
    expect(start.text).toContain('You are subscribed again');
    expect(await smsSuppression()).toBeUndefined();
    expect((await enrol(journeyId, { profileId: ada.id })).status).toBe(201);
    expect(await messageOf('sent')).toMatchObject({ toAddress: PHONE });
    expect(twilio.sent.map((sms) => [sms.to, sms.body])).toEqual([[PHONE, 'Hi Ada']]);
  });

  it("shows the profile's number suppressed in its SMS subscriptions while a STOP or a hard bounce holds it", async () => {
    const { world } = mailWorld;
    const number = '+393475550101';
    const profile = await newProfile({ phone: '+39 347 555 0101' });
    const subscriptions = async () =>
      (
        await api<{ channels: { sms: Record<string, boolean> }; suppressed: { sms: string | null } }>(
          'GET',
          `/profiles/${profile.id}/subscriptions`,
        )
      ).body;
    expect(await subscriptions()).toMatchObject({
      channels: { sms: { marketing: true } },
      suppressed: { sms: null },
    });

    await inbound('STOP', { from: number });
    // The topic choice is untouched (a START brings it back as it was); the number is what is held.
    expect(await subscriptions()).toMatchObject({
      channels: { sms: { marketing: true } },
      suppressed: { sms: 'unsubscribed' },
    });
    await inbound('START', { from: number });
    expect((await subscriptions()).suppressed).toEqual({ email: null, sms: null });

    await world.mops.storage.consent.suppress({
      workspaceId: world.workspaceId,
      channel: 'sms',
      address: number,
      reason: 'hard_bounce',
      at: Date.now(),
    });
    expect((await subscriptions()).suppressed).toEqual({ email: null, sms: 'hard_bounce' });
  });

  it('answers a START under a block it does not lift without promising texts', async () => {
    const number = '+393475550177';
    const held = await api('POST', '/suppressions', { channel: 'sms', address: number });
    expect(held.status).toBe(200);
    await inbound('STOP', { from: number });
    // The STOP replaced the admin's block; the START brings the block back, not the texts.
    const start = await inbound('START', { from: number });
    expect(start.text).toContain('on hold');
    expect(start.text).not.toContain('subscribed again');
    expect(await smsSuppression(number)).toMatchObject({ reason: 'added_by_hand' });
    // Without a STOP first, too.
    const again = await inbound('START', { from: number });
    expect(again.text).toContain('on hold');
  });

  it('writes SMS Unsubscribed and SMS Resubscribed on every profile holding the number, once per text', async () => {
    const number = '+393471112233';
    const journeyId = await publish({
      name: `Opt-out watch ${Math.random()}`,
      entry: { trigger: { type: 'manual' }, reentry: { policy: 'every_time' }, allowConcurrent: true },
      start: 'text',
      steps: [
        { id: 'text', type: 'send_sms', body: 'Deals inside', next: 'watch' },
        {
          id: 'watch',
          type: 'wait_for_event',
          event: 'SMS Unsubscribed',
          timeout: '1w',
          next: 'done',
          timeoutNext: 'done',
        },
        { id: 'done', type: 'exit' },
      ],
    });
    const texted = await newProfile({ phone: number });
    // The same phone, written another way, on a profile Mops never texted.
    const sharing = await newProfile({ phone: '+39 347-111.2233' });
    const other = await newProfile({ phone: '+39 347 111 2234' });
    expect((await enrol(journeyId, { profileId: texted.id })).status).toBe(201);
    await eventually(async () => twilio.sent.find((sms) => sms.to === number));
    const timeline = async (profileId: string, name: string) => {
      const page = await api<{ items: Array<{ name: string; payload: { properties: unknown } }> }>(
        'GET',
        `/profiles/${profileId}/events?limit=100`,
      );
      return page.body.items.filter((event) => event.name === name);
    };

    const segment = await api<{ id: string }>('POST', '/segments', {
      name: `Texted STOP ${Math.random()}`,
      rule: { type: 'event', event: 'SMS Unsubscribed' },
    });
    expect(segment.status).toBe(201);
    await eventually(async () => {
      const found = await api<{ status: string }>('GET', `/segments/${segment.body.id}`);
      return found.body.status === 'ready' ? true : undefined;
    });

    // Score rules take it as they take e-mail's Unsubscribed: what the contact did.
    const scoring = {
      models: [
        {
          id: 'sms-intent',
          name: 'SMS intent',
          rules: [
            { id: 'opted-out', kind: 'event', event: 'SMS Unsubscribed', points: -20 },
            { id: 'opted-in', kind: 'event', event: 'SMS Resubscribed', points: 5 },
          ],
        },
      ],
    };
    expect((await api('PATCH', '/settings', { scoring })).status).toBe(200);
    const awards = async (profileId: string) => {
      const intent = await api<{
        scores: Array<{ model: string; awards: Array<{ rule: string; points: number }> }>;
      }>('GET', `/profiles/${profileId}/intent`);
      return intent.body.scores
        .find((score) => score.model === 'sms-intent')
        ?.awards.map((award) => [award.rule, award.points]);
    };

    const sid = `SM${'d'.repeat(32)}`;
    expect((await inbound('Stop please', { from: number, sid })).text).toContain('You are unsubscribed');
    for (const profile of [texted, sharing])
      expect(
        (await timeline(profile.id, 'SMS Unsubscribed')).map((event) => event.payload.properties),
      ).toEqual([{ channel: 'sms', phone: number, keyword: 'STOP', message_sid: sid }]);
    expect(await timeline(other.id, 'SMS Unsubscribed')).toEqual([]);
    // The journey waiting for it goes on, a week before its timeout.
    await eventually(async () => {
      const page = await api<{ items: InstanceJson[] }>('GET', `/profiles/${texted.id}/journeys`);
      const instance = page.body.items.find((item) => item.journeyId === journeyId);
      return instance?.status === 'completed' ? instance : undefined;
    });

    // Segments count it: both holders of the number join one on it.
    for (const profile of [texted, sharing])
      await eventually(async () => {
        const page = await api<{ items: Array<{ segmentId: string }> }>(
          'GET',
          `/profiles/${profile.id}/segments`,
        );
        return page.body.items.some((item) => item.segmentId === segment.body.id) ? true : undefined;
      });

    // The provider retrying the same text writes nothing again.
    await inbound('Stop please', { from: number, sid });
    await caughtUp();
    for (const profile of [texted, sharing])
      expect(await timeline(profile.id, 'SMS Unsubscribed')).toHaveLength(1);

    expect((await inbound('start', { from: number })).text).toContain('You are subscribed again');
    for (const profile of [texted, sharing])
      expect(
        (await timeline(profile.id, 'SMS Resubscribed')).map((event) => event.payload.properties),
      ).toEqual([expect.objectContaining({ channel: 'sms', phone: number, keyword: 'START' })]);
    for (const profile of [texted, sharing])
      await expect
        .poll(() => awards(profile.id))
        .toEqual([
          ['opted-out', -20],
          ['opted-in', 5],
        ]);
  });

  it('reads an opt-out with punctuation or in a short reply, and the provider’s own reading of a text', async () => {
    expect((await inbound('Stop.')).text).toContain('You are unsubscribed');
    expect(await smsSuppression()).toMatchObject({ reason: 'unsubscribed' });
    // A custom opt-in keyword set up at the provider (Advanced Opt-Out) says what it is.
    await inbound('RIPRENDI', { optOutType: 'START' });
    expect(await smsSuppression()).toBeUndefined();
    expect((await inbound('please stop texting me!')).text).toContain('You are unsubscribed');
    expect(await smsSuppression()).toMatchObject({ reason: 'unsubscribed' });
    await inbound('start');
    expect(await smsSuppression()).toBeUndefined();
  });

  it('acts on a keyword the provider read (Advanced Opt-Out) without replying again: the provider has replied', async () => {
    const empty = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';
    expect(await inbound('ARRET', { optOutType: 'STOP' })).toMatchObject({ status: 200, text: empty });
    expect(await smsSuppression()).toMatchObject({ reason: 'unsubscribed' });
    expect(await inbound('AIUTO', { optOutType: 'HELP' })).toMatchObject({ status: 200, text: empty });
    expect(await inbound('RIPRENDI', { optOutType: 'START' })).toMatchObject({ status: 200, text: empty });
    expect(await smsSuppression()).toBeUndefined();
  });

  it('honours a STOP from a number the phone-number data calls invalid, kept as the provider wrote it', async () => {
    const unknownRange = '+15551230000';
    expect((await inbound('STOP', { from: unknownRange })).text).toContain('You are unsubscribed');
    const page = await api<{ items: Array<{ channel: string; address: string; reason: string }> }>(
      'GET',
      '/suppressions?limit=100',
    );
    expect(page.body.items).toContainEqual(
      expect.objectContaining({ channel: 'sms', address: unknownRange, reason: 'unsubscribed' }),
    );
    // Looked up on its own, however the number is written.
    const one = await api<{ items: Array<{ channel: string; address: string }> }>(
      'GET',
      `/suppressions?channel=sms&address=${encodeURIComponent('+1 555-123-0000')}`,
    );
    expect(one.body.items).toEqual([expect.objectContaining({ channel: 'sms', address: unknownRange })]);
    // With the + left unescaped (a space, once decoded) too.
    const unescaped = await api<{ items: unknown[] }>(
      'GET',
      '/suppressions?channel=sms&address=+15551230000',
    );
    expect(unescaped.body.items).toHaveLength(1);
    const onEmail = await api<{ items: unknown[] }>(
      'GET',
      `/suppressions?channel=email&address=${encodeURIComponent(unknownRange)}`,
    );
    expect(onEmail.body.items).toEqual([]);
    // Not a phone number at all: nothing to act on.
    expect((await inbound('STOP', { from: 'not-a-number' })).text).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
    );
  });

  it('refuses a text with 503, saying why, while the stored auth token does not open under MOPS_SECRET', async () => {
    const { world } = mailWorld;
    const stored = await world.mops.storage.settings.get(world.workspaceId);
    // Saved by a server with another MOPS_SECRET.
    await saveSettings(world.mops.storage, new SecretBox('another-mops-secret-another-mops-secret'), {
      workspaceId: world.workspaceId,
      settings: { sms: { ...stored.sms, authToken: TOKEN } },
      onlySectionsGiven: true,
      at: Date.now(),
      privateNetworksAllowed: true,
    });
    const before = await smsSuppression();
    try {
      const refused = await inbound('STOP');
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.text).error.message).toContain('enter it again in Settings → SMS provider');
      expect(await smsSuppression()).toEqual(before);
    } finally {
      expect((await api('PATCH', '/settings', { sms: { ...stored.sms, authToken: TOKEN } })).status).toBe(
        200,
      );
    }
    expect((await inbound('HELP')).status).toBe(200);
  });

  it('acts on a text once: a retried or replayed request (an old START after a STOP) changes nothing', async () => {
    const startSid = `SM${'a'.repeat(32)}`;
    const start = await inbound('START', { sid: startSid });
    expect(start.text).toContain('You are subscribed again');
    expect((await inbound('STOP', { sid: `SM${'b'.repeat(32)}` })).text).toContain('You are unsubscribed');

    const replayed = await inbound('START', { sid: startSid });
    expect(replayed.status).toBe(200);
    expect(replayed.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
    expect(await smsSuppression()).toMatchObject({ reason: 'unsubscribed' });
    await inbound('START');
    expect(await smsSuppression()).toBeUndefined();
    // A NUL no column takes, in a signed text: acted on all the same, never a 500.
    expect((await inbound('STOP\u0000')).text).toContain('You are unsubscribed');
    expect(await smsSuppression()).toMatchObject({ reason: 'unsubscribed' });
    await inbound('START');
    expect(await smsSuppression()).toBeUndefined();
  });

  it('refuses a signed text re-split around its MessageSid, so a captured START cannot be replayed', async () => {
    const { world } = mailWorld;
    const url = `${world.url}/v1/sms/inbound/${world.workspaceId}`;
    const sid = `SM${'c'.repeat(32)}`;
    const captured = new URLSearchParams({
      AccountSid: 'AC1',
      Body: 'START',
      From: PHONE,
      MessageSid: sid,
      To: '+15005550006',
    });
    const signature = twilioSignature(TOKEN, url, captured);
    const post = (body: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
        body,
      });
    expect((await post(captured.toString())).status).toBe(200);
    expect((await inbound('STOP')).text).toContain('You are unsubscribed');

    // The signature runs names and values together: these say the same to it, with a sid never seen
    // (To folded into it) or with none at all (the sid folded into a name).
    const base = `AccountSid=AC1&Body=START&From=${encodeURIComponent(PHONE)}`;
    for (const body of [
      `${base}&MessageSid=${sid}To${encodeURIComponent('+15005550006')}`,
      `${base}&MessageSid${sid}To=${encodeURIComponent('+15005550006')}`,
    ]) {
      const replayed = await post(body);
      expect(replayed.status).toBe(400);
      expect(await replayed.json()).toMatchObject({ error: { field: 'MessageSid' } });
    }
    expect(await smsSuppression()).toMatchObject({ reason: 'unsubscribed' });
    await inbound('START');
    expect(await smsSuppression()).toBeUndefined();
  });

  it("takes an inbound text repeating a field, signed as Twilio's helper libraries sign one, and refuses one repeating a field Mops reads", async () => {
    const { world } = mailWorld;
    const url = `${world.url}/v1/sms/inbound/${world.workspaceId}`;
    const sid = `SM${'f'.repeat(32)}`;
    const phone = encodeURIComponent(PHONE);
    // MediaUrl twice, its values out of order: each is signed in value order.
    const body = `MessageSid=${sid}&MediaUrl=https%3A%2F%2Fm.example%2Fb&From=${phone}&MediaUrl=https%3A%2F%2Fm.example%2Fa&Body=HELP`;
    const signed = `${url}BodyHELPFrom${PHONE}MediaUrlhttps://m.example/aMediaUrlhttps://m.example/bMessageSid${sid}`;
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': createHmac('sha1', TOKEN).update(signed, 'utf8').digest('base64'),
      },
      body,
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Shop alerts. Reply STOP to stop.');

    // A field Mops reads, given twice, is refused: the signature does not say which value comes first.
    const twice = `MessageSid=SM${'e'.repeat(32)}&From=${phone}&Body=HELP&Body=START`;
    const refused = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(TOKEN, url, new URLSearchParams(twice)),
      },
      body: twice,
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: { field: 'Body' } });
  });

  it('leaves SMS consent alone for a text sent over WhatsApp (Mops sends none), answering nothing', async () => {
    const empty = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';
    expect((await inbound('STOP', { from: `whatsapp:${PHONE}` })).text).toBe(empty);
    expect(await smsSuppression()).toBeUndefined();
    expect((await inbound('STOP')).text).toContain('You are unsubscribed');
    expect((await inbound('START', { from: `whatsapp:${PHONE}`, optOutType: 'START' })).text).toBe(empty);
    expect(await smsSuppression()).toMatchObject({ reason: 'unsubscribed' });
    await inbound('START');
    expect(await smsSuppression()).toBeUndefined();
  });

  it('acts on a keyword sent alone without replying when the provider answers keywords itself, and replies to what it does not read', async () => {
    const empty = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';
    const provider = {
      baseUrl: twilio.baseUrl,
      accountSid: 'AC1',
      authToken: TOKEN,
      from: '+15005550006',
      helpText: 'Shop alerts. Reply STOP to stop.',
      allowPrivateNetworks: true,
    };
    const saved = await api<{ sms: { providerAnswersKeywords: boolean } }>('PATCH', '/settings', {
      sms: { ...provider, providerAnswersKeywords: true },
    });
    expect(saved.body.sms.providerAnswersKeywords).toBe(true);
    try {
      expect((await inbound(' stop ')).text).toBe(empty);
      expect(await smsSuppression()).toMatchObject({ reason: 'unsubscribed' });
      expect((await inbound('Start')).text).toBe(empty);
      expect(await smsSuppression()).toBeUndefined();
      expect((await inbound('HELP')).text).toBe(empty);
      // Twilio reads single words only: Mops answers the rest.
      expect((await inbound('Stop please')).text).toContain('You are unsubscribed');
      expect((await inbound('start!')).text).toContain('You are subscribed again');
    } finally {
      await api('PATCH', '/settings', { sms: provider });
    }
    expect(
      (await api<{ sms: { providerAnswersKeywords: boolean } }>('GET', '/settings')).body.sms,
    ).toMatchObject({
      providerAnswersKeywords: false,
    });
    expect((await inbound('HELP')).text).toContain('Shop alerts');
  });

  it('checks signatures with the auth token trimmed of the newline it was pasted with, saved now or before', async () => {
    const { world } = mailWorld;
    const help = '<Message>Shop alerts. Reply STOP to stop.</Message>';
    const stored = await world.mops.storage.settings.get(world.workspaceId);
    const sms = stored.sms as NonNullable<typeof stored.sms>;
    try {
      const saved = await api('PATCH', '/settings', { sms: { ...sms, authToken: ` ${TOKEN}\n` } });
      expect(saved.status).toBe(200);
      expect((await inbound('HELP')).text).toContain(help);
      // A token saved before the settings trimmed it, kept with its newline.
      const secrets = new SecretBox(resolveSecret(testConfig(world.database)));
      await world.mops.storage.settings.put(
        world.workspaceId,
        { ...stored, sms: { ...sms, authToken: secrets.seal(`${TOKEN}\r\n`) } },
        Date.now(),
      );
      expect((await inbound('HELP')).text).toContain(help);
    } finally {
      await world.mops.storage.settings.put(world.workspaceId, stored, Date.now());
    }
  });

  it('answers HELP with the workspace help text, and other texts with nothing', async () => {
    expect((await inbound('help')).text).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Shop alerts. Reply STOP to stop.</Message></Response>',
    );
    expect((await inbound('Is my order shipped?')).text).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
    );
    expect(await smsSuppression()).toBeUndefined();
  });

  it('lists texts that failed for good and sends them again on re-drive, once', async () => {
    const journeyId = await publish({
      name: `Failing texts ${Math.random()}`,
      entry: { trigger: { type: 'manual' }, reentry: { policy: 'every_time' }, allowConcurrent: true },
      start: 'text',
      steps: [
        { id: 'text', type: 'send_sms', body: 'Your order shipped', next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    const cy = await newProfile({ phone: '+39 347 765 4321' });
    // A refusal the provider will not take back by itself (a sender not yet verified, say).
    twilio.failures.push({
      status: 400,
      code: 21606,
      message: 'The From phone number is not a valid sender',
    });
    const sentBefore = twilio.sent.length;
    expect((await enrol(journeyId, { profileId: cy.id })).status).toBe(201);
    const failed = await eventually(async () => {
      const page = await api<{ items: MessageJson[] }>('GET', '/sms/failed');
      return page.body.items.find((message) => message.journeyId === journeyId);
    });
    expect(failed).toMatchObject({ status: 'failed', reason: expect.stringContaining('error 21606') });
    expect(twilio.sent).toHaveLength(sentBefore);

    const redriven = await api('POST', '/sms/failed/redrive', { ids: [failed.id, 'msg_nope'] });
    expect(redriven.body).toEqual({
      requeued: [failed.id],
      notDeadLettered: ['msg_nope'],
      ofArchivedJourneys: [],
    });
    const sent = await eventually(async () => {
      const page = await api<{ items: MessageJson[] }>('GET', `/messages?journeyId=${journeyId}&status=sent`);
      return page.body.items[0];
    });
    expect(sent.id).toBe(failed.id);
    expect(twilio.sent.slice(sentBefore).map((sms) => sms.body)).toEqual(['Your order shipped']);
    expect((await api<{ items: MessageJson[] }>('GET', '/sms/failed')).body.items).toEqual([]);
  });

  it('shortens and tracks a text’s links, records each click once and redirects, and a journey branches on it', async () => {
    const { world } = mailWorld;
    const journeyId = await publish({
      name: `Sale ${Math.random()}`,
      entry: { trigger: { type: 'manual' }, reentry: { policy: 'every_time' }, allowConcurrent: true },
      start: 'text',
      steps: [
        {
          id: 'text',
          type: 'send_sms',
          body: 'Ciao {{ profile.traits.first_name }}! Saldi: https://shop.example.com/sale?utm_source=sms&x=1. Info (https://shop.example.com/faq) https://shop.example.com/città',
          trackLinks: true,
          next: 'wait',
        },
        {
          id: 'wait',
          type: 'wait_for_event',
          event: 'SMS Link Clicked',
          timeout: '1d',
          next: 'clicked',
          timeoutNext: 'done',
        },
        {
          id: 'clicked',
          type: 'branch',
          branches: [{ conditions: [{ source: 'message', step: 'text', op: 'clicked' }], next: 'mark' }],
          otherwise: 'done',
        },
        { id: 'mark', type: 'update_traits', set: { sms_clicker: true }, next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    // A link a contact's own data brings into the text is not the brand's to forward.
    const profile = await newProfile({ phone: '+39 347 000 2222', first_name: 'https://evil.example/login' });
    const sentBefore = twilio.sent.length;
    expect((await enrol(journeyId, { profileId: profile.id })).status).toBe(201);
    const sms = await eventually(async () => twilio.sent[sentBefore]);
    const shortLink = new RegExp(`${world.url}/s/([0-9A-Za-z]{10})`, 'g');
    // The sentence's full stop and the bracket stay outside the links.
    expect(sms.body.replace(shortLink, 'LINK')).toBe(
      'Ciao https://evil.example/login! Saldi: LINK. Info (LINK) LINK',
    );
    const [sale, faq, city] = [...sms.body.matchAll(shortLink)].map((match) => match[0]);
    if (!sale || !faq || !city) throw new Error('the text has no short links');
    // A messaging app drawing the link's preview is sent on, its fetch no click.
    const bot = await fetch(sale, {
      redirect: 'manual',
      headers: { 'user-agent': 'facebookexternalhit/1.1 Facebot Twitterbot/1.0' },
    });
    expect(bot.status).toBe(302);
    // A link with letters past ASCII goes out as the Location header takes it.
    expect((await fetch(city, { redirect: 'manual' })).headers.get('location')).toBe(
      'https://shop.example.com/citt%C3%A0',
    );

    // A link preview's HEAD learns where it goes without counting a click.
    const head = await fetch(sale, { method: 'HEAD', redirect: 'manual' });
    expect(head.status).toBe(302);
    const opened = await fetch(sale, { redirect: 'manual' });
    expect(opened.status).toBe(302);
    expect(opened.headers.get('location')).toBe('https://shop.example.com/sale?utm_source=sms&x=1');
    expect((await fetch(sale, { redirect: 'manual' })).status).toBe(302);
    expect((await fetch(faq, { redirect: 'manual' })).headers.get('location')).toBe(
      'https://shop.example.com/faq',
    );
    expect((await fetch(`${world.url}/s/0000000000`, { redirect: 'manual' })).status).toBe(404);
    expect((await fetch(`${world.url}/s/not-a-code`, { redirect: 'manual' })).status).toBe(404);

    const clicks = await eventually(async () => {
      const timeline = await api<{
        items: Array<{ name: string | null; payload: { properties?: Record<string, unknown> } }>;
      }>('GET', `/profiles/${profile.id}/events?limit=100`);
      const found = timeline.body.items
        .filter((event) => event.name === 'SMS Link Clicked')
        .map((event) => event.payload.properties?.url);
      return found.length === 3 ? found : undefined;
    });
    expect(clicks.sort()).toEqual([
      'https://shop.example.com/citt%C3%A0',
      'https://shop.example.com/faq',
      'https://shop.example.com/sale?utm_source=sms&x=1',
    ]);
    const message = (await api<{ items: MessageJson[] }>('GET', `/messages?profileId=${profile.id}`)).body
      .items[0];
    expect(message?.clickedAt).toEqual(expect.any(String));
    await eventually(async () => {
      const found = await api<{ traits: Record<string, unknown> }>('GET', `/profiles/${profile.id}`);
      return found.body.traits.sms_clicker === true ? true : undefined;
    });
    // The preview counts each link as long as the short link it goes out as.
    const preview = await api<{ text: string; characters: number }>('POST', '/sms/preview', {
      body: 'See https://shop.example.com/a/very/long/path/to/the/summer/sale/page?utm_source=sms',
      trackLinks: true,
    });
    expect(preview.body.text).toBe(`See ${world.url}/s/xxxxxxxxxx`);
    // Shortened before Smart Encoding: the link's ż gone, the ’ becomes ' and the text stays GSM-7.
    const encoded = await api<{ text: string; encoding: string }>('POST', '/sms/preview', {
      body: 'Offerta d’estate: https://sklep.pl/wyprzedaż',
      trackLinks: true,
    });
    expect(encoded.body).toMatchObject({
      text: `Offerta d'estate: ${world.url}/s/xxxxxxxxxx`,
      encoding: 'GSM-7',
    });

    // Branching on a click of a text whose links are not tracked is refused at publish.
    const refused = await api<ApiError>('POST', '/journeys', {
      definition: {
        name: `Untracked ${Math.random()}`,
        entry: { trigger: { type: 'manual' }, reentry: { policy: 'every_time' } },
        start: 'text',
        steps: [
          { id: 'text', type: 'send_sms', body: 'Hi https://shop.example.com', next: 'branch' },
          {
            id: 'branch',
            type: 'branch',
            branches: [{ conditions: [{ source: 'message', step: 'text', op: 'clicked' }], next: 'done' }],
            otherwise: 'done',
          },
          { id: 'done', type: 'exit' },
        ],
      },
    });
    const created = refused.status === 201 ? (refused.body as unknown as { id: string }).id : undefined;
    const publishRefused = created ? await api<ApiError>('POST', `/journeys/${created}/publish`) : refused;
    expect(publishRefused.status).toBe(400);
    expect(publishRefused.body.error.message).toContain('does not track its links');
  });

  it('takes the provider’s delivery receipts: delivered and undelivered once each, a number that takes no texts suppressed', async () => {
    const journeyId = await publish({
      name: `Receipts ${Math.random()}`,
      entry: { trigger: { type: 'manual' }, reentry: { policy: 'every_time' }, allowConcurrent: true },
      start: 'text',
      steps: [
        { id: 'text', type: 'send_sms', body: 'Your code is 1234', next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    const textTo = async (phone: string) => {
      const profile = await newProfile({ phone });
      const sentBefore = twilio.sent.length;
      expect((await enrol(journeyId, { profileId: profile.id })).status).toBe(201);
      const message = await eventually(async () => {
        const page = await api<{ items: MessageJson[] }>('GET', `/messages?profileId=${profile.id}`);
        return page.body.items.find((item) => item.status === 'sent');
      });
      const sms = twilio.sent[sentBefore];
      if (!sms) throw new Error('no text reached the provider');
      return { profile, message, sms };
    };
    const messageNow = async (profileId: string) =>
      (await api<{ items: MessageJson[] }>('GET', `/messages?profileId=${profileId}`)).body.items[0];
    const eventsNamed = async (profileId: string, name: string) => {
      const timeline = await api<{
        items: Array<{ name: string | null; payload: { properties?: Record<string, unknown> } }>;
      }>('GET', `/profiles/${profileId}/events?limit=100`);
      return timeline.body.items
        .filter((event) => event.name === name)
        .map((event) => event.payload.properties ?? {});
    };

    const delivered = await textTo('+39 347 000 1111');
    const { world } = mailWorld;
    expect(delivered.sms.statusCallback).toBe(
      `${world.url}/v1/sms/status/${world.workspaceId}/${delivered.message.id}`,
    );
    // Interim statuses, in any order, change nothing; a forged report is refused.
    expect(await twilio.reportStatus(delivered.sms, 'sent', { authToken: TOKEN })).toBe(204);
    expect(await twilio.reportStatus(delivered.sms, 'delivered', { authToken: 'not-the-token' })).toBe(403);
    expect(await messageNow(delivered.profile.id)).toMatchObject({ deliveredAt: null, bouncedAt: null });
    expect(await twilio.reportStatus(delivered.sms, 'delivered', { authToken: TOKEN })).toBe(204);
    expect(await twilio.reportStatus(delivered.sms, 'delivered', { authToken: TOKEN })).toBe(204);
    expect(await messageNow(delivered.profile.id)).toMatchObject({
      deliveredAt: expect.any(String),
      bouncedAt: null,
      status: 'sent',
    });
    const deliveredEvents = await eventually(async () => {
      const found = await eventsNamed(delivered.profile.id, 'SMS Delivered');
      return found.length > 0 ? found : undefined;
    });
    expect(deliveredEvents).toHaveLength(1);
    expect(deliveredEvents[0]).toMatchObject({
      message_id: delivered.message.id,
      journey_id: journeyId,
      step_id: 'text',
      provider_message_id: delivered.sms.sid,
    });

    // A landline: the text is marked bounced, and the number is never texted again.
    const landline = await textTo('+39 06 1234 5678');
    expect(
      await twilio.reportStatus(landline.sms, 'undelivered', { authToken: TOKEN, errorCode: 30006 }),
    ).toBe(204);
    expect(await twilio.reportStatus(landline.sms, 'failed', { authToken: TOKEN, errorCode: 30006 })).toBe(
      204,
    );
    expect(await messageNow(landline.profile.id)).toMatchObject({
      bouncedAt: expect.any(String),
      deliveredAt: null,
    });
    const suppressions = await api<{ items: Array<{ channel: string; address: string; reason: string }> }>(
      'GET',
      '/suppressions?limit=100',
    );
    expect(suppressions.body.items).toContainEqual(
      expect.objectContaining({ channel: 'sms', address: '+390612345678', reason: 'hard_bounce' }),
    );
    const failedEvents = await eventually(async () => {
      const found = await eventsNamed(landline.profile.id, 'SMS Delivery Failed');
      return found.length > 0 ? found : undefined;
    });
    expect(failedEvents).toHaveLength(1);
    expect(failedEvents[0]).toMatchObject({
      status: 'undelivered',
      error_code: 30006,
      suppressed_as: 'hard_bounce',
    });
    expect((await enrol(journeyId, { profileId: landline.profile.id })).status).toBe(201);
    expect(
      await eventually(async () => {
        const page = await api<{ items: MessageJson[] }>('GET', `/messages?profileId=${landline.profile.id}`);
        return page.body.items.find((item) => item.status === 'suppressed');
      }),
    ).toMatchObject({ reason: 'address suppressed: hard_bounce' });

    // A handset switched off may take the next text: recorded, not suppressed.
    const away = await textTo('+39 347 000 2222');
    expect(await twilio.reportStatus(away.sms, 'undelivered', { authToken: TOKEN, errorCode: 30003 })).toBe(
      204,
    );
    expect(await messageNow(away.profile.id)).toMatchObject({ bouncedAt: expect.any(String) });
    const after = await api<{ items: Array<{ channel: string; address: string }> }>(
      'GET',
      '/suppressions?limit=100',
    );
    expect(after.body.items.map((entry) => entry.address)).not.toContain('+393470002222');

    // The journey's report counts per step what was delivered, and bounced, of what was sent.
    const journeyReport = await api<{
      messages: Record<string, { sent: number; delivered: number; bounced: number }>;
    }>('GET', `/journeys/${journeyId}/report`);
    expect(journeyReport.body.messages.text).toMatchObject({ sent: 3, delivered: 1, bounced: 2 });

    // Bad reports name what is wrong; a report for another workspace's or no message is not found.
    const report = async (messageId: string, params: Record<string, string>) => {
      const url = `${world.url}/v1/sms/status/${world.workspaceId}/${messageId}`;
      const form = new URLSearchParams(params);
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilioSignature(TOKEN, url, form),
        },
        body: form.toString(),
      });
      return { status: response.status, body: (await response.json()) as ApiError };
    };
    const sid = delivered.sms.sid;
    expect(await report(delivered.message.id, { MessageSid: sid })).toMatchObject({
      status: 400,
      body: { error: { field: 'MessageStatus' } },
    });
    expect(
      await report(delivered.message.id, { MessageSid: sid, MessageStatus: 'failed', ErrorCode: 'x1' }),
    ).toMatchObject({ status: 400, body: { error: { field: 'ErrorCode' } } });
    expect(await report('msg_nope', { MessageSid: sid, MessageStatus: 'delivered' })).toMatchObject({
      status: 404,
    });
  });

  it('branches on whether a text was delivered, to reach a contact another way when it was not', async () => {
    const journeyId = await publish({
      name: `Reminder with a fallback ${Math.random()}`,
      entry: { trigger: { type: 'manual' }, reentry: { policy: 'every_time' }, allowConcurrent: true },
      start: 'text',
      steps: [
        { id: 'text', type: 'send_sms', body: 'Your appointment is tomorrow at 10', next: 'wait' },
        { id: 'wait', type: 'wait', duration: '2s', next: 'check' },
        {
          id: 'check',
          type: 'branch',
          branches: [
            { conditions: [{ source: 'message', step: 'text', op: 'not_delivered' }], next: 'fallback' },
          ],
          otherwise: 'reached',
        },
        { id: 'fallback', type: 'update_traits', set: { reminded_by: 'email' }, next: 'done' },
        { id: 'reached', type: 'update_traits', set: { reminded_by: 'sms' }, next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    const remind = async (phone: string) => {
      const profile = await newProfile({ phone });
      const sentBefore = twilio.sent.length;
      expect((await enrol(journeyId, { profileId: profile.id })).status).toBe(201);
      const sms = await eventually(async () => twilio.sent[sentBefore]);
      return { profile, sms };
    };
    const delivered = await remind('+39 347 000 3333');
    const silent = await remind('+39 347 000 4444');
    expect(await twilio.reportStatus(delivered.sms, 'delivered', { authToken: TOKEN })).toBe(204);
    const remindedBy = (profileId: string) =>
      eventually(async () => {
        const profile = await api<{ traits: Record<string, unknown> }>('GET', `/profiles/${profileId}`);
        return profile.body.traits.reminded_by as string | undefined;
      }, 20_000);
    expect(await remindedBy(delivered.profile.id)).toBe('sms');
    expect(await remindedBy(silent.profile.id)).toBe('email');

    // Asked of a step that sends no text, delivered is refused at publishing, naming the step.
    const draft = await api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: `Wrong step ${Math.random()}`,
        entry: { trigger: { type: 'manual' } },
        start: 'check',
        steps: [
          {
            id: 'check',
            type: 'branch',
            branches: [{ conditions: [{ source: 'message', step: 'done', op: 'delivered' }], next: 'done' }],
            otherwise: 'done',
          },
          { id: 'done', type: 'exit' },
        ],
      },
    });
    const refused = await api<ApiError>('POST', `/journeys/${draft.body.id}/publish`);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('done is not a send_sms step of this journey');
  });

  it('hears a reply to a text: a journey waiting for YES confirms, and a keyword is no reply', async () => {
    const number = '+393470005555';
    const journeyId = await publish({
      name: `Confirm by text ${Math.random()}`,
      entry: { trigger: { type: 'manual' }, reentry: { policy: 'every_time' }, allowConcurrent: true },
      start: 'ask',
      steps: [
        { id: 'ask', type: 'send_sms', body: 'Reply YES to confirm tomorrow at 10', next: 'reply' },
        {
          id: 'reply',
          type: 'wait_for_event',
          event: 'SMS Received',
          conditions: [{ source: 'event', path: 'properties.body', op: 'eq', value: 'YES' }],
          timeout: '1d',
          next: 'confirmed',
          timeoutNext: 'done',
        },
        { id: 'confirmed', type: 'update_traits', set: { appointment: 'confirmed' }, next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    const dora = await newProfile({ phone: '+39 347 000 5555' });
    expect((await enrol(journeyId, { profileId: dora.id })).status).toBe(201);
    await eventually(async () => (twilio.sent.some((sms) => sms.to === number) ? true : undefined));
    const traits = async () =>
      (await api<{ traits: Record<string, unknown> }>('GET', `/profiles/${dora.id}`)).body.traits;
    // HELP is a keyword, answered with the help text, and no reply; "Maybe" is a reply, not the one awaited.
    expect((await inbound('HELP', { from: number })).text).toContain('Shop alerts');
    expect((await inbound('Maybe', { from: number })).text).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
    );
    expect((await inbound('YES', { from: number })).status).toBe(200);
    const replies = async () => {
      const timeline = await api<{
        items: Array<{ name: string | null; payload: { properties?: Record<string, unknown> } }>;
      }>('GET', `/profiles/${dora.id}/events?limit=100`);
      return timeline.body.items
        .filter((event) => event.name === 'SMS Received')
        .map((event) => event.payload.properties?.body)
        .sort();
    };
    expect(await replies()).toEqual(['Maybe', 'YES']);
    await eventually(async () => ((await traits()).appointment === 'confirmed' ? true : undefined), 20_000);
  });

  it('keeps a long reply up to its last whole character, an emoji at the cut included', async () => {
    const number = '+393470006666';
    const ezio = await newProfile({ phone: number });
    const long = `${'a'.repeat(1599)}😀 and the rest`;

    expect((await inbound(long, { from: number })).status).toBe(200);

    const timeline = await api<{
      items: Array<{ name: string | null; payload: { properties?: Record<string, unknown> } }>;
    }>('GET', `/profiles/${ezio.id}/events?limit=100`);
    const replies = timeline.body.items.filter((event) => event.name === 'SMS Received');
    expect(replies.map((event) => event.payload.properties?.body)).toEqual([`${'a'.repeat(1599)}😀`]);
  });

  it('keeps a text from a number no contact holds on a contact of its own, whom a journey on it texts back', async () => {
    const number = '+393479998877';
    const journeyId = await publish({
      name: `Text JOIN ${Math.random()}`,
      entry: {
        trigger: {
          type: 'event',
          event: 'SMS Received',
          conditions: [{ source: 'event', path: 'properties.body', op: 'eq', value: 'JOIN' }],
        },
      },
      start: 'welcome',
      steps: [
        {
          id: 'welcome',
          type: 'send_sms',
          body: 'Welcome to Shop alerts, {{ profile.traits.phone }}',
          next: 'done',
        },
        { id: 'done', type: 'exit' },
      ],
    });
    // One on what the contact holds, one on what they never did: both decide a new contact.
    const segments: string[] = [];
    for (const rule of [
      { type: 'trait', path: 'phone', op: 'exists' },
      { type: 'event', event: 'Order Completed', atLeast: 0, atMost: 0 },
    ]) {
      const segment = await api<{ id: string }>('POST', '/segments', { name: `New ${Math.random()}`, rule });
      expect(segment.status).toBe(201);
      await eventually(async () => {
        const found = await api<{ status: string }>('GET', `/segments/${segment.body.id}`);
        return found.body.status === 'ready' ? true : undefined;
      });
      segments.push(segment.body.id);
    }
    const contactsAt = async (phone: string) =>
      (await api<{ items: Array<{ id: string }> }>('GET', `/profiles?q=${encodeURIComponent(phone)}`)).body
        .items;
    expect(await contactsAt(number)).toEqual([]);

    expect((await inbound('JOIN', { from: number })).status).toBe(200);
    const [contact, ...others] = await contactsAt(number);
    expect(others).toEqual([]);
    const profile = await api<{ traits: Record<string, unknown> }>('GET', `/profiles/${contact?.id}`);
    expect(profile.body.traits).toEqual({ phone: number });
    const welcome = await eventually(async () => twilio.sent.find((sms) => sms.to === number));
    expect(welcome.body).toBe(`Welcome to Shop alerts, ${number}`);
    const page = await api<{ items: InstanceJson[] }>('GET', `/profiles/${contact?.id}/journeys`);
    expect(page.body.items.map((item) => item.journeyId)).toContain(journeyId);
    // Segments decide the new contact as they would one a client identified.
    await eventually(async () => {
      const memberships = await api<{ items: Array<{ segmentId: string }> }>(
        'GET',
        `/profiles/${contact?.id}/segments`,
      );
      const joined = new Set(memberships.body.items.map((item) => item.segmentId));
      return segments.every((id) => joined.has(id)) ? true : undefined;
    });

    // The next text, a STOP, lands on the same contact, however the number is written.
    expect((await inbound('STOP', { from: '+39 347 999 8877' })).text).toContain('You are unsubscribed');
    expect((await contactsAt(number)).map((found) => found.id)).toEqual([contact?.id]);
    const timeline = await api<{ items: Array<{ name: string | null; payload: { properties?: unknown } }> }>(
      'GET',
      `/profiles/${contact?.id}/events?limit=100`,
    );
    const written = timeline.body.items.filter((event) => event.name !== 'Segment Entered');
    expect(written.map((event) => [event.name, event.payload.properties])).toEqual(
      expect.arrayContaining([
        ['Traits Updated', { traits: { phone: number }, channel: 'sms', created: true }],
        ['SMS Received', expect.objectContaining({ body: 'JOIN', phone: number })],
        ['SMS Unsubscribed', expect.objectContaining({ keyword: 'STOP', phone: number })],
      ]),
    );
    expect(written).toHaveLength(3);

    // A number the phone-number data calls invalid matches no `phone`: its texts still share a contact.
    const unlisted = '+15559870000';
    await inbound('Hello?', { from: unlisted });
    await inbound('Anyone there?', { from: unlisted });
    const strangers = await contactsAt(unlisted);
    expect(strangers).toHaveLength(1);
    const replies = await api<{
      items: Array<{ name: string | null; payload: { properties?: { body?: string } } }>;
    }>('GET', `/profiles/${strangers[0]?.id}/events?limit=100`);
    expect(
      replies.body.items
        .filter((event) => event.name === 'SMS Received')
        .map((event) => event.payload.properties?.body),
    ).toEqual(['Anyone there?', 'Hello?']);
  });

  it('previews a text for a profile with its encoding and segments, and names a bad field', async () => {
    const bob = await newProfile({ first_name: 'Bob' });
    const preview = await api<{
      text: string;
      encoding: string;
      segments: number;
      nonGsmCharacters: string[];
    }>('POST', '/sms/preview', {
      body: 'Hi {{ profile.traits.first_name }} 🎉 your code is {{ profile.traits.code | default: "none" }}',
      profileId: bob.id,
    });
    expect(preview.status).toBe(200);
    expect(preview.body).toEqual({
      text: 'Hi Bob 🎉 your code is none',
      encoding: 'UCS-2',
      segments: 1,
      characters: 27, // 🎉 takes two UCS-2 units
      nonGsmCharacters: ['🎉'],
      smartEncoded: [],
    });
    // Copy pasted from a document is counted as it will go out: Smart Encoding is on by default.
    const pasted = await api<{ text: string; encoding: string; smartEncoded: string[] }>(
      'POST',
      '/sms/preview',
      {
        body: '“Sale” – don’t miss it',
      },
    );
    expect(pasted.body).toMatchObject({ text: '"Sale" - don\'t miss it', encoding: 'GSM-7' });
    expect(pasted.body.smartEncoded.sort()).toEqual(['’', '“', '”', '–'].sort());
    // Empty, or blank as a journey's SMS step would refuse it.
    for (const body of ['', '   ']) {
      const missing = await api<ApiError>('POST', '/sms/preview', { body });
      expect(missing.status).toBe(400);
      expect(missing.body.error.field).toBe('body');
    }
    // A text that would hold the server for half an hour is stopped, and the server answers others.
    const endless = await api<ApiError>('POST', '/sms/preview', {
      body: '{% for a in (1..100000) %}{% for b in (1..100000) %}{% endfor %}{% endfor %}',
    });
    expect(endless.status).toBe(400);
    expect(endless.body.error).toMatchObject({ field: 'body', message: expect.stringContaining('limit') });
    // A short loop rendering a long text is refused as a text too long to send, before it is counted
    // (short enough to render well inside the render time limit on a busy machine).
    const long = await api<ApiError>('POST', '/sms/preview', {
      body: '{% for i in (1..2000) %}xxxxxxxxxx{% endfor %}',
    });
    expect(long.status).toBe(400);
    expect(long.body.error).toMatchObject({
      field: 'body',
      message: 'body: the text renders to 20,000 characters; a text may have at most 1,600',
    });
    // The template may be longer than a text: what counts is what it renders to.
    const commented = await api<{ text: string }>('POST', '/sms/preview', {
      body: `{% comment %}${'a note for translators '.repeat(100)}{% endcomment %}Hi`,
    });
    expect(commented.status).toBe(200);
    expect(commented.body.text).toBe('Hi');
    const longest = await api<{ segments: number }>('POST', '/sms/preview', {
      body: '{% for i in (1..160) %}xxxxxxxxxx{% endfor %}',
    });
    expect(longest.body.segments).toBe(11);
  });

  it('sends a test text personalised for a contact to a tester’s number; its click and receipt stay on the message', async () => {
    const { world } = mailWorld;
    const ada = await newProfile({ first_name: 'Ada', phone: '+39 347 000 4444' });
    const sentBefore = twilio.sent.length;
    const sent = await api<MessageJson>('POST', '/sms/test-send', {
      body: 'Ciao {{ profile.traits.first_name }}, saldi: https://shop.example.com/sale',
      to: '+39 347 765 4321',
      profileId: ada.id,
      trackLinks: true,
    });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({
      channel: 'sms',
      topic: 'test',
      status: 'sent',
      profileId: ada.id,
      toAddress: '+393477654321',
      journeyId: null,
    });
    expect(twilio.sent.length).toBe(sentBefore + 1);
    const sms = twilio.sent[sentBefore];
    if (!sms) throw new Error('no text reached the provider');
    expect(sms.to).toBe('+393477654321');
    const shortLink = new RegExp(`^Ciao Ada, saldi: (${world.url}/s/[0-9A-Za-z]{10})$`).exec(sms.body)?.[1];
    if (!shortLink) throw new Error(`the text's link was not shortened: ${sms.body}`);

    // The tester follows the link and the handset reports the text delivered.
    const opened = await fetch(shortLink, { redirect: 'manual' });
    expect(opened.headers.get('location')).toBe('https://shop.example.com/sale');
    expect(await twilio.reportStatus(sms, 'delivered', { authToken: TOKEN })).toBe(204);
    const message = (await api<{ items: MessageJson[] }>('GET', `/messages?profileId=${ada.id}`)).body
      .items[0];
    expect(message).toMatchObject({
      id: sent.body.id,
      clickedAt: expect.any(String),
      deliveredAt: expect.any(String),
    });
    // Nothing of it is written on Ada: it reached a tester, not her.
    // The tester answers from their phone: a reply to a test send is nobody's.
    const reply = await inbound('Bello!', { from: '+393477654321' });
    expect(reply.status).toBe(200);
    // A second test does not reach the handset.
    const lost = await api<MessageJson>('POST', '/sms/test-send', {
      body: 'Ciao {{ profile.traits.first_name }}',
      to: '+393477654321',
      profileId: ada.id,
    });
    const lostSms = twilio.sent.at(-1);
    if (!lostSms) throw new Error('no second text reached the provider');
    expect(await twilio.reportStatus(lostSms, 'undelivered', { authToken: TOKEN, errorCode: 30003 })).toBe(
      204,
    );
    await eventually(async () => {
      const logged = await api<{ items: MessageJson[] }>('GET', `/messages?profileId=${ada.id}`);
      return logged.body.items.find((m) => m.id === lost.body.id)?.bouncedAt ? true : undefined;
    });
    await caughtUp();
    const timeline = await api<{ items: Array<{ name: string | null }> }>(
      'GET',
      `/profiles/${ada.id}/events?limit=100`,
    );
    const names = timeline.body.items.map((event) => event.name);
    for (const name of ['SMS Link Clicked', 'SMS Delivered', 'SMS Delivery Failed', 'SMS Received'])
      expect(names).not.toContain(name);

    // For no one in particular, Liquid renders with no data.
    const plain = await api<MessageJson>('POST', '/sms/test-send', {
      body: 'Hi {{ profile.traits.first_name | default: "there" }}',
      to: '+393477654321',
    });
    expect(plain.status).toBe(200);
    expect(twilio.sent.at(-1)?.body).toBe('Hi there');
  });

  it('refuses a test text that cannot go out, naming the field, storing and sending nothing', async () => {
    const { world } = mailWorld;
    const newestBefore = (await api<{ items: MessageJson[] }>('GET', '/messages?limit=1')).body.items[0]?.id;
    const sentBefore = twilio.sent.length;
    const refusals: Array<[Record<string, unknown>, string]> = [
      [{ body: 'Hi', to: '347 765 4321' }, 'to'],
      [{ body: 'Hi', to: 'call me' }, 'to'],
      // A number dug out of other text is not the number the tester wrote.
      [{ body: 'Hi', to: 'whatsapp:+393477654321' }, 'to'],
      [{ body: 'Hi', to: 'call +393477654321' }, 'to'],
      [{ body: '{% for i in (1..200) %}xxxxxxxxxx{% endfor %}', to: '+393477654321' }, 'body'],
      [{ body: '{{ profile.traits.nothing }}', to: '+393477654321' }, 'body'],
      [{ body: 'Hi', to: '+393477654321', profileId: 'prf_nobody' }, 'profileId'],
    ];
    for (const [request, field] of refusals) {
      const refused = await api<ApiError>('POST', '/sms/test-send', request);
      expect(refused.status, JSON.stringify(request)).toBe(field === 'profileId' ? 404 : 400);
      expect(refused.body.error.field, JSON.stringify(request)).toBe(field);
    }
    // Sending texts costs money: admins only.
    const cookie = await memberSessionCookie(world, 'sms-tester@example.com');
    const member = await fetch(`${world.url}/api/workspaces/${world.workspaceId}/sms/test-send`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ body: 'Hi', to: '+393477654321' }),
    });
    expect(member.status).toBe(403);
    expect(twilio.sent.length).toBe(sentBefore);
    expect((await api<{ items: MessageJson[] }>('GET', '/messages?limit=1')).body.items[0]?.id).toBe(
      newestBefore,
    );

    // The provider down: 503 with its answer, and the test is failed in the log, not retried.
    twilio.failures.push({ status: 503, message: 'maintenance' });
    const down = await api<ApiError>('POST', '/sms/test-send', { body: 'Hi', to: '+393477654321' });
    expect(down.status).toBe(503);
    expect(down.body.error.message).toContain('maintenance');
    const failed = (await api<{ items: MessageJson[] }>('GET', '/messages?channel=sms&limit=1')).body
      .items[0];
    expect(failed).toMatchObject({ topic: 'test', status: 'failed', reason: expect.stringContaining('503') });
    // Sent again it would reach the contact it was personalised for: not among the texts to re-drive.
    const toRedrive = await api<{ items: MessageJson[] }>('GET', '/sms/failed?limit=100');
    expect(toRedrive.body.items.map((m) => m.id)).not.toContain(failed?.id);
    const redriven = await api<{ requeued: string[]; notDeadLettered: string[] }>(
      'POST',
      '/sms/failed/redrive',
      {
        ids: [failed?.id],
      },
    );
    expect(redriven.body).toMatchObject({ requeued: [], notDeadLettered: [failed?.id] });
    expect(twilio.sent.length).toBe(sentBefore);
  });

  it('refuses test sends past a handful in ten minutes, so a leaked key cannot make the provider a relay', async () => {
    const sentBefore = twilio.sent.length;
    let answers: number[] = [];
    for (let i = 0; i < 40; i++) {
      const sent = await api<ApiError>('POST', '/sms/test-send', { body: `Prova ${i}`, to: '+393477654321' });
      answers = [...answers, sent.status];
      if (sent.status === 429) {
        expect(sent.body.error.message).toContain('30 test sends in the last 10 minutes');
        break;
      }
    }
    expect(answers.at(-1)).toBe(429);
    expect(answers.slice(0, -1).every((status) => status === 200)).toBe(true);
    // Earlier tests of this file sent some: thirty in all, none past them.
    const tests = await api<{ items: MessageJson[] }>('GET', '/messages?limit=100');
    expect(tests.body.items.filter((message) => message.topic === 'test')).toHaveLength(30);
    expect(twilio.sent.length - sentBefore).toBe(answers.length - 1);
  });
});
