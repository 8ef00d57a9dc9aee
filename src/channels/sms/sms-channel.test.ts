import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { Message } from '../../core/journey.js';
import { standInProfile } from '../../core/profile.js';
import { type ConsentChannel, channelChoiceKey } from '../../core/topic-consent.js';
import { type JourneyWorld, SECRET, startJourneyWorld } from '../../test-support/journey-world.js';
import { identify, track } from '../../test-support/segment-calls.js';
import { closedPort, resolvingTo } from '../../test-support/several-addresses.js';
import { TwilioStandIn } from '../../test-support/twilio-stand-in.js';
import { BACKENDS, eventually } from '../../test-support/world.js';
import { MAX_ATTEMPTS } from '../dispatcher.js';
import { SecretBox, saveSettings, settingsView } from '../settings.js';
import { testSendSms } from './test-send.js';
import { messagesUrl } from './twilio-messages-api.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'twilio-auth-token-1';

describe('the Messages API address', () => {
  it("keeps the base URL's path, for providers that answer under one", () => {
    expect(messagesUrl('https://api.twilio.com', 'AC1').href).toBe(
      'https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json',
    );
    expect(messagesUrl('https://space.signalwire.com/api/laml/', 'AC1').href).toBe(
      'https://space.signalwire.com/api/laml/2010-04-01/Accounts/AC1/Messages.json',
    );
  });
});

describe.each(BACKENDS)('SMS channel on %s', (backend) => {
  let world: JourneyWorld;
  let twilio: TwilioStandIn;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
    twilio = await new TwilioStandIn().start();
    twilio.now = () => world.clock.now();
    await world.configure({
      sms: {
        baseUrl: twilio.baseUrl,
        accountSid: ACCOUNT,
        authToken: TOKEN,
        from: '+15005550006',
        allowPrivateNetworks: true,
      },
      frequencyCaps: { email: [], sms: [{ max: 1, period: '1d' }] },
    });
  });
  afterEach(async () => {
    await twilio.stop();
    await world.close();
  });

  const publishReminder = (extra: Record<string, unknown> = {}) =>
    world.publish({
      name: `Reminder ${Math.random()}`,
      entry: { trigger: { type: 'event', event: 'Cart Abandoned' }, reentry: { policy: 'every_time' } },
      start: 'text',
      steps: [
        {
          id: 'text',
          type: 'send_sms',
          body: 'Hi {{ profile.traits.first_name }}, your {{ event.properties.item }} is waiting & ready.',
          ...extra,
          next: 'end',
        },
        { id: 'end', type: 'exit' },
      ],
    });

  const smsMessages = async (): Promise<Message[]> =>
    (await world.storage.messages.list(world.workspaceId, { channel: 'sms' }, { limit: 50 })).items;

  it('sends the rendered text through the Twilio API to the number in E.164 form', async () => {
    await publishReminder();
    await world.send([
      identify('ada', { first_name: '<b>Ada</b>', phone: '+39 333 123 4567', email: 'ada@example.com' }),
      track('ada', 'Cart Abandoned', { item: 'tent' }),
    ]);
    await world.settle();

    expect(twilio.sent).toEqual([
      {
        sid: expect.stringMatching(/^SM[0-9a-f]{32}$/),
        createdAt: expect.any(Number),
        accountSid: ACCOUNT,
        authorization: `Basic ${Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64')}`,
        to: '+393331234567',
        from: '+15005550006',
        messagingServiceSid: undefined,
        // Plain text: nothing escaped, as the contact will read it.
        body: 'Hi <b>Ada</b>, your tent is waiting & ready.',
        statusCallback: expect.stringMatching(/\/v1\/sms\/status\/ws_\w+\/msg_\w+$/),
      },
    ]);
    const [message] = await smsMessages();
    // The provider reports what became of it at an address naming the message.
    expect(twilio.sent[0]?.statusCallback).toMatch(new RegExp(`/${world.workspaceId}/${message?.id}$`));
    expect(message).toMatchObject({ status: 'sent', toAddress: '+393331234567', topic: 'marketing' });
    expect(message?.providerMessageId).toBe(twilio.sent[0]?.sid);
    // A first attempt sends straight away: nothing can have reached the provider before it.
    expect(twilio.listings).toBe(0);
    // No e-mail went out for an SMS step.
    expect(world.sink.received).toHaveLength(0);
  });

  it('sends pasted curly quotes and dashes as their GSM-7 look-alikes, and as typed with Smart Encoding off', async () => {
    await publishReminder({
      body: '“{{ profile.traits.first_name }}”, don’t miss it – {{ event.properties.item }}',
    });
    await world.send([
      identify('ada', { first_name: 'Ada', phone: '+393331234567' }),
      // What the contact's own data brings is replaced too: it is all one text to the carrier.
      track('ada', 'Cart Abandoned', { item: 'the tent’s last day' }),
    ]);
    await world.settle();
    expect(twilio.sent.map((sms) => sms.body)).toEqual(['"Ada", don\'t miss it - the tent\'s last day']);

    const { sms } = await world.storage.settings.get(world.workspaceId);
    await world.configure({ sms: { ...sms, smartEncoding: false } });
    await world.send([
      identify('bob', { first_name: 'Bob', phone: '+393331234568' }),
      track('bob', 'Cart Abandoned', { item: 'stove' }),
    ]);
    await world.settle();
    expect(twilio.sent.map((sms) => sms.body).at(-1)).toBe('“Bob”, don’t miss it – stove');
  });

  it('reads no more of an answer than the Messages API ever gives, taking an endless one as sent', async () => {
    await publishReminder();
    // Far past any answer's size: read whole, it would sit in the server's memory.
    twilio.answerPadding = 8_000_000;
    await world.send([identify('ben', { phone: '+393330000044' }), track('ben', 'Cart Abandoned')]);
    await world.settle();
    expect(twilio.sent).toHaveLength(1);
    // The provider took the text (2xx) but what it said could not be read: sent, without its id.
    expect(await smsMessages()).toMatchObject([{ status: 'sent', providerMessageId: null }]);
  });

  it('refuses to publish an SMS step while no provider is set up', async () => {
    await world.configure({ sms: undefined });
    await expect(publishReminder()).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'draft.steps.0',
      message: expect.stringContaining('needs an SMS provider'),
    });
  });

  it('keeps the SMS provider while a published journey sends texts', async () => {
    await publishReminder();
    await expect(world.configure({ sms: undefined })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'sms',
      message: expect.stringContaining('sends texts: keep the SMS provider'),
      issue: {
        code: 'refused',
        reason: 'sms_provider_used_by_journey',
        params: { journey: expect.stringMatching(/^Reminder /) },
      },
    });
    expect((await world.storage.settings.get(world.workspaceId)).sms).toBeDefined();
  });

  it('refuses an account SID that would change the API path or the Basic auth user, naming the field', async () => {
    const stored = await world.storage.settings.get(world.workspaceId);
    for (const accountSid of ['..', '../../x', 'AC1/../evil?', 'AC1:token', 'AC 1'])
      await expect(world.configure({ sms: { ...stored.sms, accountSid } }), accountSid).rejects.toMatchObject(
        { field: 'sms.accountSid' },
      );
    // A project id of another provider (SignalWire's is a UUID) is one.
    await world.configure({ sms: { ...stored.sms, accountSid: ' 8c3e2f2a-5f6d-4c8e-9d2b-1a2b3c4d5e6f ' } });
    expect((await world.storage.settings.get(world.workspaceId)).sms?.accountSid).toBe(
      '8c3e2f2a-5f6d-4c8e-9d2b-1a2b3c4d5e6f',
    );
  });

  it('keeps a sender number written with spaces and brackets in E.164 form', async () => {
    const stored = await world.storage.settings.get(world.workspaceId);
    await world.configure({ sms: { ...stored.sms, from: ' +1 (500) 555-0006' } });
    expect((await world.storage.settings.get(world.workspaceId)).sms?.from).toBe('+15005550006');
    await expect(world.configure({ sms: { ...stored.sms, from: '+1 500 CALL-ME' } })).rejects.toMatchObject({
      field: 'sms.from',
    });
  });

  it('sends from an alphanumeric sender ID or a short code, as Twilio takes them, and refuses what is neither', async () => {
    await publishReminder();
    const stored = await world.storage.settings.get(world.workspaceId);
    // An ID beginning with MG is a sender like any other, not a messaging service.
    // Each to a phone of its own: the cap counts texts by number.
    for (const [from, user, phone] of [
      ['MGShop', 'cat', '+393330000050'],
      ['Negozio 24', 'dan', '+393330000051'],
      ['12345', 'eve', '+393330000052'],
    ] as const) {
      await world.configure({ sms: { ...stored.sms, from: ` ${from} ` } });
      await world.send([identify(user, { phone }), track(user, 'Cart Abandoned')]);
      await world.settle();
      expect(twilio.sent.at(-1)).toMatchObject({ from, messagingServiceSid: undefined });
    }
    for (const from of ['Negozio Milano', 'Shop!', '123456789', ' '])
      await expect(world.configure({ sms: { ...stored.sms, from } })).rejects.toMatchObject({
        field: 'sms.from',
      });
  });

  it('hides the auth token from the settings the API shows', async () => {
    const stored = await world.storage.settings.get(world.workspaceId);
    expect(JSON.stringify(stored)).not.toContain(TOKEN);
    expect(settingsView(stored, { privateNetworksAllowed: true }).sms).toEqual({
      baseUrl: twilio.baseUrl,
      accountSid: ACCOUNT,
      from: '+15005550006',
      allowPrivateNetworks: true,
      smartEncoding: true,
      providerAnswersKeywords: false,
      hasAuthToken: true,
    });
  });

  it('sends with the auth token trimmed of the newline or spaces it was pasted with, saved now or before', async () => {
    await publishReminder();
    const basic = `Basic ${Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64')}`;
    const stored = await world.storage.settings.get(world.workspaceId);
    await world.configure({ sms: { ...stored.sms, authToken: ` ${TOKEN}\r\n` } });
    await world.send([identify('amy', { phone: '+393330000071' }), track('amy', 'Cart Abandoned')]);
    await world.settle();
    const saved = (await world.storage.settings.get(world.workspaceId)).sms?.authToken;
    expect(new SecretBox(SECRET).open(saved as string)).toBe(TOKEN);
    // A token saved before the settings trimmed it, kept with its newline.
    await world.storage.settings.put(
      world.workspaceId,
      {
        ...stored,
        sms: {
          ...(stored.sms as NonNullable<typeof stored.sms>),
          authToken: new SecretBox(SECRET).seal(`${TOKEN}\n`),
        },
      },
      world.clock.now(),
    );
    world.clock.advance(10_000); // past the dispatcher's cache of settings
    await world.send([identify('bea', { phone: '+393330000072' }), track('bea', 'Cart Abandoned')]);
    await world.settle();
    expect(twilio.sent.map((sms) => [sms.to, sms.authorization])).toEqual([
      ['+393330000071', basic],
      ['+393330000072', basic],
    ]);
  });

  it('fails a text at once, calling nothing, when the stored auth token does not decrypt under the current MOPS_SECRET', async () => {
    await publishReminder();
    const stored = await world.storage.settings.get(world.workspaceId);
    // Saved by a server started with another MOPS_SECRET.
    await saveSettings(world.storage, new SecretBox('another-mops-secret-another-mops-secret'), {
      workspaceId: world.workspaceId,
      settings: { ...stored, sms: { ...stored.sms, authToken: TOKEN } },
      at: world.clock.now(),
      privateNetworksAllowed: true,
    });
    await world.send([identify('ivy', { phone: '+393330000081' }), track('ivy', 'Cart Abandoned')]);
    await world.settle();
    const unreadable =
      "the SMS provider's stored auth token cannot be decrypted under the current MOPS_SECRET (it was stored under another one); enter it again in Settings → SMS provider";
    // Not retried: no attempt would mend it, and the provider is not to blame.
    expect(await smsMessages()).toMatchObject([
      { status: 'failed', attempts: 1, toAddress: '+393330000081', reason: unreadable },
    ]);
    await world.advance(3_600_000);
    expect(await smsMessages()).toMatchObject([{ status: 'failed', attempts: 1 }]);
    expect(twilio.sent).toEqual([]);
    expect(twilio.listings).toBe(0);

    // A test send says the same, calling nothing either.
    const tested = await testSendSms(
      {
        storage: world.storage,
        clock: world.clock,
        secrets: new SecretBox(SECRET),
        publicUrl: 'http://mops.test',
        allowPrivateNetworks: true,
      },
      { body: 'A test', trackLinks: false, profile: standInProfile(world.workspaceId), to: '+393330000082' },
    );
    expect(tested).toMatchObject({ status: 'failed', reason: unreadable });
    expect(twilio.sent).toEqual([]);

    // Entered again, texts go.
    await world.configure({ sms: { ...stored.sms, authToken: TOKEN } });
    await world.send([identify('jon', { phone: '+393330000083' }), track('jon', 'Cart Abandoned')]);
    await world.settle();
    expect(twilio.sent.map((sms) => sms.to)).toEqual(['+393330000083']);
  });

  it('refuses a provider on loopback or a private network unless the workspace allows it', async () => {
    const stored = await world.storage.settings.get(world.workspaceId);
    await world.configure({
      sms: { ...stored.sms, authToken: TOKEN, allowPrivateNetworks: false },
      frequencyCaps: { email: [], sms: [] },
    });
    await publishReminder();
    await world.send([identify('pat', { phone: '+393330000009' }), track('pat', 'Cart Abandoned')]);
    await world.settle();
    expect(twilio.sent).toEqual([]);
    const [message] = await smsMessages();
    expect(message).toMatchObject({ status: 'failed' });
    expect(message?.reason).toMatch(/private or reserved address/);
  });

  it('refuses a provider on a private network from a server whose operator does not allow it, whatever the settings say', async () => {
    await publishReminder();
    await world.send([identify('pat', { phone: '+393330000009' }), track('pat', 'Cart Abandoned')]);
    await world.background.pipeline.drain();
    const restricted = world.dispatcher({ allowPrivateNetworks: false });
    expect(await restricted.runOnce()).toBe(1);
    expect(twilio.sent).toEqual([]);
    const [message] = await smsMessages();
    expect(message?.reason).toMatch(/private or reserved address/);
  });

  it('skips a profile without a valid phone number, and respects SMS suppression apart from e-mail', async () => {
    await publishReminder();
    await world.storage.consent.suppress({
      workspaceId: world.workspaceId,
      channel: 'sms',
      address: '+393330000002',
      reason: 'unsubscribed',
      at: world.clock.now(),
    });
    await world.storage.consent.suppress({
      workspaceId: world.workspaceId,
      channel: 'email',
      address: 'three@example.com',
      reason: 'hard_bounce',
      at: world.clock.now(),
    });
    await world.send([
      identify('one', { phone: '333 123' }),
      identify('two', { phone: '+393330000002' }),
      identify('three', { phone: '+393330000003', email: 'three@example.com' }),
      track('one', 'Cart Abandoned'),
      track('two', 'Cart Abandoned'),
      track('three', 'Cart Abandoned'),
    ]);
    await world.settle();

    expect(twilio.sent.map((sms) => sms.to)).toEqual(['+393330000003']);
    const byStatus = Object.fromEntries((await smsMessages()).map((m) => [m.status, m.reason]));
    expect(byStatus.skipped).toMatch(/no valid phone number/);
    expect(byStatus.suppressed).toBe('address suppressed: unsubscribed');
  });

  it('sends no text after STOP, receipts included (unlike e-mail, where receipts still go)', async () => {
    await publishReminder({ topic: 'transactional' });
    for (const [channel, address] of [
      ['sms', '+393330000002'],
      ['email', 'two@example.com'],
    ] as const) {
      await world.storage.consent.suppress({
        workspaceId: world.workspaceId,
        channel,
        address,
        reason: 'unsubscribed',
        at: world.clock.now(),
      });
    }
    await world.send([
      identify('two', { phone: '+393330000002', email: 'two@example.com' }),
      track('two', 'Cart Abandoned'),
    ]);
    await world.settle();

    expect(twilio.sent).toEqual([]);
    const [message] = await smsMessages();
    expect(message).toMatchObject({ status: 'suppressed', reason: 'address suppressed: unsubscribed' });
  });

  it("sends a topic's texts to a contact who left its e-mails, and none to one who left its texts", async () => {
    await publishReminder({ topic: 'marketing' });
    const choose = async (userId: string, channel: ConsentChannel) =>
      world.storage.consent.setSubscription({
        workspaceId: world.workspaceId,
        profileId: await world.profileOf(userId),
        topic: channelChoiceKey('marketing', channel),
        isSubscribed: false,
        at: world.clock.now(),
      });
    await world.send([
      identify('em', { phone: '+393330000061' }),
      identify('tx', { phone: '+393330000062' }),
    ]);
    await world.settle();
    await choose('em', 'email');
    await choose('tx', 'sms');
    await world.send([track('em', 'Cart Abandoned'), track('tx', 'Cart Abandoned')]);
    await world.settle();

    expect(twilio.sent.map((sms) => sms.to)).toEqual(['+393330000061']);
    const texts = await smsMessages();
    expect(texts.find((message) => message.toAddress === '+393330000062')).toMatchObject({
      status: 'suppressed',
      reason: 'unsubscribed from marketing',
    });
  });

  it('caps SMS on their own and defers the second until the cap allows', async () => {
    const emailTemplate = await world.template({ subject: 'Hi', mjml: '<p>Hi</p>' });
    await world.publish({
      name: 'Both channels',
      entry: { trigger: { type: 'event', event: 'Cart Abandoned' }, reentry: { policy: 'every_time' } },
      start: 'text',
      steps: [
        { id: 'text', type: 'send_sms', body: 'First', next: 'mail' },
        { id: 'mail', type: 'send_email', template: emailTemplate, next: 'again' },
        { id: 'again', type: 'send_sms', body: 'Second', next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([
      identify('cap', { phone: '+393330000009', email: 'cap@example.com' }),
      track('cap', 'Cart Abandoned'),
    ]);
    await world.settle();

    expect(twilio.sent.map((sms) => sms.body)).toEqual(['First']);
    expect(world.sink.received).toHaveLength(1); // the SMS cap does not hold e-mail back
    const deferred = (await smsMessages()).find((m) => m.status === 'deferred');
    expect(deferred?.reason).toBe('frequency cap: 1 per 1d');

    await world.advance(24 * 3_600_000);
    expect(twilio.sent.map((sms) => sms.body)).toEqual(['First', 'Second']);
  });

  it('caps texts by number, not by profile: profiles sharing a phone share its cap', async () => {
    await publishReminder();
    // One phone, written two ways, on two profiles, both due in one round.
    await world.send([
      identify('mum', { phone: '+393330000009', first_name: 'Mum' }),
      identify('dad', { phone: '+39 333 000 0009', first_name: 'Dad' }),
      track('mum', 'Cart Abandoned', { item: 'scarf' }),
      track('dad', 'Cart Abandoned', { item: 'hat' }),
    ]);
    await world.settle();
    expect(twilio.sent).toHaveLength(1);
    const held = (await smsMessages()).filter((m) => m.status === 'deferred');
    expect(held.map((m) => m.reason)).toEqual(['frequency cap: 1 per 1d']);

    // A day on, the one held goes; a third profile on the phone, in a later round, waits for the next day.
    await world.advance(24 * 3_600_000);
    expect(twilio.sent).toHaveLength(2);
    await world.send([identify('kid', { phone: '+393330000009' }), track('kid', 'Cart Abandoned')]);
    await world.settle();
    expect(twilio.sent).toHaveLength(2);
    const kidId = await world.profileOf('kid');
    const kids = (await smsMessages()).filter((m) => m.profileId === kidId);
    expect(kids).toMatchObject([{ status: 'deferred', reason: 'frequency cap: 1 per 1d' }]);
    // Another number is not held by it.
    await world.send([identify('aunt', { phone: '+393330000010' }), track('aunt', 'Cart Abandoned')]);
    await world.settle();
    expect(twilio.sent.map((sms) => sms.to)).toEqual(['+393330000009', '+393330000009', '+393330000010']);
  });

  // SQLite has one sending process; PostgreSQL may have several, each with rounds of its own.
  it.runIf(backend === 'postgres')(
    'keeps a phone’s cap over worker processes for profiles sharing it',
    async () => {
      await publishReminder();
      await world.send([identify('mum', { phone: '+393330000019' }), track('mum', 'Cart Abandoned')]);
      await world.background.pipeline.drain();
      const release = twilio.holdReplies();
      try {
        const firstWorker = world.dispatcher().runOnce();
        await eventually(async () => ((await smsMessages())[0]?.status === 'sending' ? true : undefined));
        await world.send([identify('dad', { phone: '+39 333-000.0019' }), track('dad', 'Cart Abandoned')]);
        await world.background.pipeline.drain();
        // Another profile, the same phone: not taken while the first text to it is under way.
        expect(await world.dispatcher().runOnce()).toBe(0);
        release();
        expect(await firstWorker).toBe(1);
        expect(await world.dispatcher().runOnce()).toBe(1);
        const dadId = await world.profileOf('dad');
        expect((await smsMessages()).filter((m) => m.profileId === dadId)).toMatchObject([
          { status: 'deferred', reason: 'frequency cap: 1 per 1d' },
        ]);
        expect(twilio.sent).toHaveLength(1);
      } finally {
        release();
      }
    },
  );

  /**
   * Runs a round of sends with the provider's replies held; once `asked` texts are at the provider,
   * the number `stopped` picks from the numbers asked so far is suppressed by a STOP, then the replies
   * go. Returns the number stopped.
   */
  const stopDuringRound = async (options: {
    concurrency: number;
    asked: number;
    stopped: (asked: readonly string[]) => string;
  }): Promise<string> => {
    const release = twilio.holdReplies();
    try {
      const round = world.dispatcher({ concurrency: options.concurrency }).runOnce();
      await eventually(async () => twilio.asked[options.asked - 1]);
      const stopped = options.stopped(twilio.asked);
      await world.storage.consent.suppress({
        workspaceId: world.workspaceId,
        channel: 'sms',
        address: stopped,
        reason: 'unsubscribed',
        at: world.clock.now(),
      });
      release();
      expect(await round).toBe(2);
      return stopped;
    } finally {
      release();
    }
  };

  it('sends nothing more to a number whose STOP arrived while its round was under way', async () => {
    await publishReminder();
    await world.send([
      identify('first', { phone: '+393330000031' }),
      track('first', 'Cart Abandoned'),
      identify('second', { phone: '+393330000032' }),
      track('second', 'Cart Abandoned'),
    ]);
    await world.background.pipeline.drain();
    // One text at a time: the second is judged once the first is sent.
    const other = await stopDuringRound({
      concurrency: 1,
      asked: 1,
      stopped: ([underWay]) => (underWay === '+393330000031' ? '+393330000032' : '+393330000031'),
    });
    const underWay = other === '+393330000031' ? '+393330000032' : '+393330000031';
    const outcomes = await smsMessages();
    expect(outcomes.map((message) => message.status).sort()).toEqual(['sent', 'suppressed']);
    const suppressed = outcomes.find((message) => message.status === 'suppressed');
    expect(suppressed?.reason).toBe('address suppressed: unsubscribed');
    expect(suppressed?.toAddress).toBe(other);
    expect(twilio.asked).toEqual([underWay]);
  });

  it('holds a text waiting behind another to its number when a STOP arrives while that one is at the provider', async () => {
    // Uncapped, so no cap makes the texts take turns: only the number's own turns order them.
    await world.configure({ frequencyCaps: { email: [], sms: [] } });
    world.clock.advance(10_000); // past the dispatcher's cache of settings
    await publishReminder();
    await publishReminder();
    await world.send([identify('twice', { phone: '+393330000041' }), track('twice', 'Cart Abandoned')]);
    await world.background.pipeline.drain();
    await stopDuringRound({ concurrency: 2, asked: 1, stopped: () => '+393330000041' });
    const outcomes = await smsMessages();
    expect(outcomes.map((message) => message.status).sort()).toEqual(['sent', 'suppressed']);
    expect(outcomes.find((message) => message.status === 'suppressed')?.reason).toBe(
      'address suppressed: unsubscribed',
    );
    expect(twilio.asked).toEqual(['+393330000041']);
  });

  it('holds a retry to a contact’s new number behind a text to that number, when a STOP arrives while that one is at the provider', async () => {
    await world.configure({ frequencyCaps: { email: [], sms: [] } });
    world.clock.advance(10_000); // past the dispatcher's cache of settings
    await publishReminder();
    twilio.failures = [{ status: 503 }];
    await world.send([identify('mo', { phone: '+393330000051' }), track('mo', 'Cart Abandoned')]);
    await world.settle();
    expect(await smsMessages()).toMatchObject([{ status: 'deferred', attempts: 1 }]);
    // The retry's first attempt went to the old number; it goes to the new one, as does a later text.
    await world.send([identify('mo', { phone: '+393330000052' }), track('mo', 'Cart Abandoned')]);
    await world.background.pipeline.drain();
    world.clock.advance(60_000);
    // The first text to the new number is at the provider (the old number's failed attempt before it).
    await stopDuringRound({ concurrency: 2, asked: 2, stopped: () => '+393330000052' });
    expect((await smsMessages()).map((message) => message.status).sort()).toEqual(['sent', 'suppressed']);
    expect(twilio.asked).toEqual(['+393330000051', '+393330000052']);
  });

  it('lets the next text of a round through the cap when the one before it failed', async () => {
    await publishReminder();
    await publishReminder();
    twilio.failures = [{ status: 503 }];
    await world.send([identify('cap', { phone: '+393330000009' }), track('cap', 'Cart Abandoned')]);
    await world.settle();

    expect(twilio.sent).toHaveLength(1);
    const outcomes = (await smsMessages()).map((m) => `${m.status}: ${m.reason ?? ''}`).sort();
    expect(outcomes[0]).toMatch(/^deferred: retrying: /);
    expect(outcomes[1]).toBe('sent: ');
  });

  it('sends a text once when the provider took it but its answer was lost, finding it on the retry', async () => {
    await publishReminder();
    // An identical text the profile got from another message is not taken for this one.
    await world.send([identify('eli', { first_name: 'Eli', phone: '+393330000021' })]);
    await world.settle();
    twilio.failures = [{ status: 201, dropAnswer: true }];
    await world.send([track('eli', 'Cart Abandoned', { item: 'tent' })]);
    await world.settle();
    const [lost] = await smsMessages();
    expect(lost).toMatchObject({ status: 'deferred', attempts: 1 });
    expect(twilio.sent).toHaveLength(1);

    await world.advance(30_000);
    expect(twilio.sent).toHaveLength(1);
    expect(twilio.listings).toBe(1);
    expect(await world.storage.messages.findById(lost?.id as string)).toMatchObject({
      status: 'sent',
      providerMessageId: twilio.sent[0]?.sid,
    });

    // The same text twice more, uncapped: the first answer lost again, the second sent at once. The
    // retry finds its own text, not the later one already recorded for the other message.
    await world.configure({ frequencyCaps: { email: [], sms: [] } });
    world.clock.advance(10_000); // past the dispatcher's cache of settings
    twilio.failures = [{ status: 201, dropAnswer: true }];
    await world.send([track('eli', 'Cart Abandoned', { item: 'tent' })]);
    await world.settle();
    await world.send([track('eli', 'Cart Abandoned', { item: 'tent' })]);
    await world.settle();
    expect(twilio.sent).toHaveLength(3);
    await world.advance(30_000);
    expect(twilio.sent).toHaveLength(3);
    expect(new Set((await smsMessages()).map((message) => message.providerMessageId))).toEqual(
      new Set(twilio.sent.map((sms) => sms.sid)),
    );
    expect((await smsMessages()).map((message) => message.status)).toEqual(['sent', 'sent', 'sent']);
  });

  it('does not take the identical text another profile on the same phone was sent for a lost one', async () => {
    await world.configure({ frequencyCaps: { email: [], sms: [] } });
    world.clock.advance(10_000); // past the dispatcher's cache of settings
    await publishReminder();
    await world.send([
      identify('ann', { first_name: 'Sam', phone: '+393330000031' }),
      identify('ben', { first_name: 'Sam', phone: '+39 333 000 0031' }),
    ]);
    await world.settle();
    twilio.failures = [{ status: 201, dropAnswer: true }];
    await world.send([track('ann', 'Cart Abandoned', { item: 'tent' })]);
    await world.settle();
    await world.send([track('ben', 'Cart Abandoned', { item: 'tent' })]);
    await world.settle();
    expect(twilio.sent).toHaveLength(2);
    expect(twilio.sent[0]?.body).toBe(twilio.sent[1]?.body);

    // Ann's retry finds both texts at the number; Ben's is recorded as his.
    await world.advance(30_000);
    expect(twilio.sent).toHaveLength(2);
    const messages = await smsMessages();
    expect(messages.map((message) => message.status)).toEqual(['sent', 'sent']);
    expect(new Set(messages.map((message) => message.providerMessageId))).toEqual(
      new Set(twilio.sent.map((sms) => sms.sid)),
    );
  });

  it('sends each of two identical texts to one profile once when both are retried in one round', async () => {
    await world.configure({ frequencyCaps: { email: [], sms: [] } });
    world.clock.advance(10_000); // past the dispatcher's cache of settings
    await publishReminder();
    await publishReminder();
    await world.send([identify('ivy', { first_name: 'Ivy', phone: '+393330000026' })]);
    await world.settle();
    // One taken, its answer lost; the other refused while the provider is down: both retried together.
    twilio.failures = [
      { status: 201, dropAnswer: true },
      { status: 503, message: 'down' },
    ];
    await world.send([track('ivy', 'Cart Abandoned', { item: 'tent' })]);
    await world.settle();
    expect((await smsMessages()).map((message) => [message.status, message.attempts])).toEqual([
      ['deferred', 1],
      ['deferred', 1],
    ]);
    expect(twilio.sent).toHaveLength(1);

    // Outcomes are written once both texts have looked for an earlier send: the second looks while
    // the first's is not in the database yet, as a slow write lets it.
    let lookups = 0;
    let bothLooked = () => {};
    const looked = new Promise<void>((resolve) => {
      bothLooked = resolve;
    });
    const slowlyRecorded = new Proxy(world.storage.messages, {
      get: (target, name, receiver) => {
        if (name === 'providerIdsRecorded')
          return async (...args: Parameters<typeof target.providerIdsRecorded>) => {
            const found = await target.providerIdsRecorded(...args);
            if (++lookups === 2) bothLooked();
            return found;
          };
        if (name === 'settleAll')
          return async (...args: Parameters<typeof target.settleAll>) => {
            await looked;
            return target.settleAll(...args);
          };
        return Reflect.get(target, name, receiver);
      },
    });
    const storage = new Proxy(world.storage, {
      get: (target, name, receiver) =>
        name === 'messages' ? slowlyRecorded : Reflect.get(target, name, receiver),
    });
    world.clock.advance(30_000);
    expect(await world.dispatcher({ storage }).runOnce()).toBe(2);
    // Both found the one the provider took; only one may take it as its own, the other sends.
    expect(twilio.sent).toHaveLength(2);
    const messages = await smsMessages();
    expect(messages.map((message) => message.status)).toEqual(['sent', 'sent']);
    expect(new Set(messages.map((message) => message.providerMessageId))).toEqual(
      new Set(twilio.sent.map((sms) => sms.sid)),
    );
  });

  it.each([
    ['the traits it was rendered from', { first_name: 'Gilbert' }],
    ['the phone number', { phone: '+393330000024' }],
  ])('sends once after a lost answer, found on the retry, though %s changed since', async (_, changed) => {
    await publishReminder();
    await world.send([identify('gil', { first_name: 'Gil', phone: '+393330000023' })]);
    await world.settle();
    twilio.failures = [{ status: 201, dropAnswer: true }];
    await world.send([track('gil', 'Cart Abandoned', { item: 'tent' })]);
    await world.settle();
    await world.send([identify('gil', changed)]);
    await world.settle();

    await world.advance(30_000);
    expect(twilio.listings).toBe(1);
    expect(twilio.sent.map((sms) => [sms.to, sms.body])).toEqual([
      ['+393330000023', 'Hi Gil, your tent is waiting & ready.'],
    ]);
    expect(await smsMessages()).toMatchObject([
      { status: 'sent', providerMessageId: twilio.sent[0]?.sid, toAddress: '+393330000023' },
    ]);
  });

  it('sends a text once when its answer was lost and it is re-driven after failing for good', async () => {
    await publishReminder();
    await world.send([identify('hal', { first_name: 'Hal', phone: '+393330000025' })]);
    await world.settle();
    // Taken, its answer lost; then the provider cannot list what it took, so every retry waits.
    twilio.failures = [{ status: 201, dropAnswer: true }];
    twilio.failedListings = 100;
    await world.send([track('hal', 'Cart Abandoned', { item: 'tent' })]);
    await world.settle();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) await world.advance(3_600_000);
    const [failed] = await smsMessages();
    expect(failed).toMatchObject({ status: 'failed' });
    expect(twilio.sent).toHaveLength(1);

    // Mended, re-driven with a fresh set of attempts: the earlier send is found, not repeated.
    twilio.failedListings = 0;
    await world.storage.messages.requeueFailed({
      workspaceId: world.workspaceId,
      channel: 'sms',
      now: world.clock.now(),
    });
    await world.settle();
    expect(twilio.sent).toHaveLength(1);
    expect(await smsMessages()).toMatchObject([{ status: 'sent', providerMessageId: twilio.sent[0]?.sid }]);
  });

  it("names each address tried as the reason when all of the provider's addresses refuse the call", async () => {
    const port = await closedPort();
    onTestFinished(resolvingTo('sms.test', ['127.0.0.1', '::1']));
    await world.configure({
      sms: {
        baseUrl: `http://sms.test:${port}`,
        accountSid: ACCOUNT,
        authToken: TOKEN,
        from: '+15005550006',
        allowPrivateNetworks: true,
      },
    });
    await publishReminder();
    await world.send([identify('gil', { phone: '+393330000023' }), track('gil', 'Cart Abandoned')]);
    await world.settle();
    const [message] = await smsMessages();
    expect(message?.status).toBe('deferred');
    // Node tries each address and throws an AggregateError, whose own message is empty. (::1 may be
    // refused, or not be there at all.)
    expect(message?.reason).toMatch(
      new RegExp(
        String.raw`^retrying: sms\.test:${port}: connect ECONNREFUSED 127\.0\.0\.1:${port}; connect E[A-Z]+ ::1:${port}$`,
      ),
    );
  });

  it('retries a text the provider refused for its credentials, so a fixed token sends it', async () => {
    await publishReminder();
    twilio.failures = [{ status: 401, code: 20003, message: 'Authenticate' }];
    await world.send([identify('fay', { phone: '+393330000022' }), track('fay', 'Cart Abandoned')]);
    await world.settle();
    expect((await smsMessages())[0]).toMatchObject({
      status: 'deferred',
      reason: `retrying: 127.0.0.1:${twilio.port} answered 401 (error 20003): Authenticate`,
    });
    await world.advance(30_000);
    expect(twilio.sent.map((sms) => sms.to)).toEqual(['+393330000022']);
    expect((await smsMessages())[0]).toMatchObject({ status: 'sent' });
  });

  it.each([408, 425])(
    'retries a text the provider answered %i (not now), and sends it once',
    async (status) => {
      await publishReminder();
      twilio.failures = [{ status, message: 'try again' }];
      await world.send([identify('tim', { phone: '+393330000034' }), track('tim', 'Cart Abandoned')]);
      await world.settle();
      expect((await smsMessages())[0]).toMatchObject({
        status: 'deferred',
        reason: `retrying: 127.0.0.1:${twilio.port} answered ${status}: try again`,
      });
      await world.advance(30_000);
      expect(twilio.sent.map((sms) => sms.to)).toEqual(['+393330000034']);
      expect((await smsMessages())[0]).toMatchObject({ status: 'sent', attempts: 2 });
    },
  );

  it("retries a text the provider refused because its sender's queue was full, and sends it once", async () => {
    await publishReminder();
    // Twilio's 21611 is a 400 that means "later": the text was not taken, and a campaign from one
    // number fills the sender's queue long before it is sent.
    twilio.failures = [
      {
        status: 400,
        code: 21611,
        message: "This 'From' number has exceeded the maximum number of queued messages",
      },
    ];
    await world.send([identify('gil', { phone: '+393330000033' }), track('gil', 'Cart Abandoned')]);
    await world.settle();
    expect((await smsMessages())[0]).toMatchObject({
      status: 'deferred',
      reason: expect.stringMatching(/^retrying: .* answered 400 \(error 21611\)/),
    });
    await world.advance(30_000);
    expect(twilio.sent.map((sms) => sms.to)).toEqual(['+393330000033']);
    expect((await smsMessages())[0]).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('sends a text again without its StatusCallback when the provider refuses that address (21609), once', async () => {
    await publishReminder();
    const refused = { status: 400, code: 21609, message: 'Invalid StatusCallback URL' };
    twilio.failures = [refused];
    await world.send([identify('ida', { phone: '+393330000081' }), track('ida', 'Cart Abandoned')]);
    await world.settle();
    expect(twilio.sent).toMatchObject([{ to: '+393330000081', statusCallback: undefined }]);
    expect(await smsMessages()).toMatchObject([{ status: 'sent', providerMessageId: twilio.sent[0]?.sid }]);

    // Refused without it too: failed, not sent a third time.
    twilio.failures = [refused, refused];
    await world.send([identify('jon', { phone: '+393330000082' }), track('jon', 'Cart Abandoned')]);
    await world.settle();
    expect(twilio.failures).toEqual([]);
    expect(twilio.sent).toHaveLength(1);
    const jon = (await smsMessages()).find((message) => message.toAddress === '+393330000082');
    expect(jon).toMatchObject({
      status: 'failed',
      reason: `127.0.0.1:${twilio.port} answered 400 (error 21609): Invalid StatusCallback URL`,
    });
  });

  it('suppresses a number the provider says is no mobile (21614) as a hard bounce, and tries it no more', async () => {
    await publishReminder({ topic: 'transactional' });
    twilio.failures = [{ status: 400, code: 21614, message: "'To' number is not a valid mobile number" }];
    await world.send([identify('lan', { phone: '+393330000091' }), track('lan', 'Cart Abandoned')]);
    await world.settle();
    expect(twilio.sent).toEqual([]);
    expect(await smsMessages()).toMatchObject([
      {
        status: 'suppressed',
        reason: `not a mobile number: 127.0.0.1:${twilio.port} answered 400 (error 21614): 'To' number is not a valid mobile number`,
      },
    ]);
    expect(await world.storage.consent.findSuppression(world.workspaceId, 'sms', '+393330000091')).toBe(
      'hard_bounce',
    );

    // The next text, a day on (past the cap), is not tried.
    await world.advance(24 * 3_600_000);
    await world.send([track('lan', 'Cart Abandoned')]);
    await world.settle();
    expect(twilio.sent).toEqual([]);
    expect((await smsMessages()).map((message) => message.reason)).toContain(
      'address suppressed: hard_bounce',
    );
  });

  it('suppresses a number the carrier reports as opted out, fails an invalid one, and retries when the provider is down', async () => {
    await publishReminder();
    twilio.failures = [
      { status: 400, code: 21610, message: 'Attempt to send to unsubscribed recipient' },
      { status: 400, code: 21211, message: "The 'To' number is not a valid phone number." },
      { status: 503 },
    ];
    await world.send([identify('stop', { phone: '+393330000011' }), track('stop', 'Cart Abandoned')]);
    await world.settle();
    await world.send([identify('bad', { phone: '+393330000012' }), track('bad', 'Cart Abandoned')]);
    await world.settle();
    await world.send([identify('later', { phone: '+393330000013' }), track('later', 'Cart Abandoned')]);
    await world.settle();

    const reasons = (await smsMessages()).map((m) => [m.toAddress, m.status, m.reason]);
    expect(reasons).toContainEqual([
      '+393330000011',
      'suppressed',
      `opted out at the carrier: 127.0.0.1:${twilio.port} answered 400 (error 21610): Attempt to send to unsubscribed recipient`,
    ]);
    expect(await world.storage.consent.findSuppression(world.workspaceId, 'sms', '+393330000011')).toBe(
      'unsubscribed',
    );
    expect(reasons).toContainEqual([
      '+393330000012',
      'failed',
      `127.0.0.1:${twilio.port} answered 400 (error 21211): The 'To' number is not a valid phone number.`,
    ]);
    expect(reasons.find(([to]) => to === null || to === '+393330000013')?.[1]).toBe('deferred');

    await world.advance(30_000);
    expect(twilio.sent.map((sms) => sms.to)).toEqual(['+393330000013']);
  });
});
