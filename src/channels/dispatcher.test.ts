import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newId } from '../core/ids.js';
import { newMessage } from '../core/journey.js';
import type { WorkspaceSettings } from '../core/workspace-settings.js';
import { ingest } from '../ingest/ingest.js';
import type { Storage } from '../storage/storage.js';
import { saveTemplate } from '../templates/templates.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { runRawSql } from '../test-support/raw-sql.js';
import { refuseWrites } from '../test-support/refusing-trigger.js';
import { identify, track } from '../test-support/segment-calls.js';
import { SmtpSink } from '../test-support/smtp-sink.js';
import { BACKENDS, eventually } from '../test-support/world.js';
import { MAX_ATTEMPTS } from './dispatcher.js';

const HOUR = 3_600_000;

describe.each(BACKENDS)('message dispatcher on %s', (backend) => {
  let world: JourneyWorld;
  let template: string;

  const configure = async (change: Partial<WorkspaceSettings>) => {
    const settings = await world.storage.settings.get(world.workspaceId);
    await world.storage.settings.put(world.workspaceId, { ...settings, ...change }, world.clock.now());
  };
  /** A journey that sends `count` e-mails an hour apart on `topic`. */
  const sender = (
    name: string,
    count: number,
    options: { topic?: string; whenNotAllowed?: 'defer' | 'skip' } = {},
  ) => ({
    name,
    entry: { trigger: { type: 'event', event: name }, reentry: { policy: 'every_time' } },
    start: 'mail-0',
    steps: [
      ...Array.from({ length: count }, (_, i) => [
        {
          id: `mail-${i}`,
          type: 'send_email',
          template,
          topic: options.topic ?? 'marketing',
          whenNotAllowed: options.whenNotAllowed ?? 'defer',
          next: `wait-${i}`,
        },
        { id: `wait-${i}`, type: 'wait', duration: '1h', next: i + 1 < count ? `mail-${i + 1}` : 'end' },
      ]).flat(),
      { id: 'end', type: 'exit' },
    ],
  });
  const messagesOf = async (userId: string) => {
    const profileId = await world.profileOf(userId);
    const page = await world.storage.messages.list(world.workspaceId, { profileId }, { limit: 50 });
    return page.items.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  };

  beforeEach(async () => {
    // 21:00 in Rome.
    world = await startJourneyWorld(backend, Date.parse('2026-11-23T20:00:00Z'));
    template = await world.template({ subject: 'News', mjml: '<p>News for {{ profile.traits.name }}</p>' });
  });
  afterEach(async () => {
    await world.close();
  });

  it('defers the e-mail that would break the frequency cap until the cap allows it', async () => {
    await configure({ frequencyCaps: { email: [{ max: 2, period: '1d' }], sms: [] } });
    await world.publish(sender('Capped', 3));
    await world.send([identify('c', { email: 'c@example.com' }), track('c', 'Capped')]);
    await world.settle();
    await world.advance(HOUR);
    await world.advance(HOUR);
    expect(world.sink.received).toHaveLength(2);
    const third = (await messagesOf('c'))[2];
    expect(third).toMatchObject({ status: 'deferred', reason: 'frequency cap: 2 per 1d' });
    expect(third?.nextAttemptAt).toBe(Date.parse('2026-11-24T20:00:00Z'));
    await world.advance(22 * HOUR);
    expect(world.sink.received).toHaveLength(3);
  });

  it('caps e-mail by address, whatever its case, over every profile that has it', async () => {
    await configure({ frequencyCaps: { email: [{ max: 1, period: '1d' }], sms: [] } });
    await world.publish(sender('Shared', 1));
    await world.send([identify('one', { email: 'family@example.com' }), track('one', 'Shared')]);
    await world.settle();
    expect(world.sink.received).toHaveLength(1);
    // In a later round, from another profile with the same mailbox.
    await world.send([identify('two', { email: 'Family@Example.com' }), track('two', 'Shared')]);
    await world.settle();
    expect(world.sink.received).toHaveLength(1);
    expect(await messagesOf('two')).toMatchObject([
      { status: 'deferred', reason: 'frequency cap: 1 per 1d' },
    ]);
  });

  it('skips instead of deferring when the step says so, and leaves transactional mail uncapped', async () => {
    await configure({ frequencyCaps: { email: [{ max: 1, period: '1d' }], sms: [] } });
    await world.publish(sender('Skippy', 2, { whenNotAllowed: 'skip' }));
    await world.publish(sender('Receipt', 2, { topic: 'transactional' }));
    await world.send([
      identify('s', { email: 's@example.com' }),
      track('s', 'Skippy'),
      track('s', 'Receipt'),
    ]);
    await world.settle();
    await world.advance(HOUR);
    const statuses = (await messagesOf('s')).map((m) => `${m.topic}:${m.status}`).sort();
    expect(statuses).toEqual([
      'marketing:sent',
      'marketing:skipped',
      'transactional:sent',
      'transactional:sent',
    ]);
  });

  it('holds marketing mail during quiet hours in the contact’s time zone', async () => {
    await configure({ quietHours: { start: '20:30', end: '08:00' } });
    await world.publish(sender('Night', 1));
    await world.send([
      identify('rome', { email: 'rome@example.com' }),
      identify('ny', { email: 'ny@example.com', timezone: 'America/New_York' }),
      track('rome', 'Night'),
      track('ny', 'Night'),
    ]);
    await world.settle();
    // 21:00 in Rome is quiet; 15:00 in New York is not.
    expect(world.sink.received.map((mail) => mail.to[0])).toEqual(['ny@example.com']);
    const held = (await messagesOf('rome'))[0];
    expect(held?.status).toBe('deferred');
    expect(held?.reason).toMatch(/quiet hours 20:30–08:00 \(Europe\/Rome\)/);
    expect(held?.nextAttemptAt).toBe(Date.parse('2026-11-24T07:00:00Z'));
    await world.advance(11 * HOUR);
    expect(world.sink.received).toHaveLength(2);
  });

  it('judges held mail again at once when quiet hours or caps change', async () => {
    await configure({ quietHours: { start: '20:30', end: '08:00' } });
    await world.publish(sender('Night', 1));
    await world.send([identify('rome', { email: 'rome@example.com' }), track('rome', 'Night')]);
    await world.settle();
    expect((await messagesOf('rome'))[0]).toMatchObject({ status: 'deferred' });
    // No quiet hours any more (saved as the API saves them): the mail goes now, not at 08:00.
    await world.configure({ quietHours: null });
    await world.settle();
    expect(world.sink.received.map((mail) => mail.to[0])).toEqual(['rome@example.com']);
    expect((await messagesOf('rome'))[0]).toMatchObject({ status: 'sent' });
  });

  it('suppresses an address after a hard bounce and never sends to it again', async () => {
    world.sink.rejectRecipients.add('gone@example.com');
    await world.publish(sender('Bouncy', 2));
    await world.send([identify('g', { email: 'gone@example.com' }), track('g', 'Bouncy')]);
    await world.settle();
    const [first] = await messagesOf('g');
    expect(first?.status).toBe('failed');
    expect(first?.reason).toMatch(/SMTP 550/);
    expect(await world.storage.consent.findSuppression(world.workspaceId, 'email', 'GONE@example.com')).toBe(
      'hard_bounce',
    );
    await world.advance(HOUR);
    expect((await messagesOf('g'))[1]).toMatchObject({
      status: 'suppressed',
      reason: 'address suppressed: hard_bounce',
    });
  });

  it('fails without suppressing an address a receiver refuses for its policy about the sender (5.7.1)', async () => {
    world.sink.refuseSenderFor.add('strict@example.com');
    await world.publish(sender('Strict', 1));
    await world.send([identify('s', { email: 'strict@example.com' }), track('s', 'Strict')]);
    await world.settle();
    const [refused] = await messagesOf('s');
    expect(refused).toMatchObject({ status: 'failed', reason: expect.stringMatching(/SMTP 550: .*5\.7\.1/) });
    expect(
      await world.storage.consent.findSuppression(world.workspaceId, 'email', 'strict@example.com'),
    ).toBe(undefined);
  });

  it('retries with back-off while the SMTP server is down', async () => {
    const port = world.sink.port;
    await configure({
      smtp: {
        host: '127.0.0.1',
        port: 9,
        tls: 'opportunistic',
        verifyCertificate: true,
        from: 'shop@example.com',
        pool: 1,
      },
    });
    await world.publish(sender('Retry', 1));
    await world.send([identify('r', { email: 'r@example.com' }), track('r', 'Retry')]);
    await world.settle();
    const [waiting] = await messagesOf('r');
    expect(waiting?.status).toBe('deferred');
    expect(waiting?.reason).toMatch(/^retrying: /);
    await configure({
      smtp: {
        host: '127.0.0.1',
        port,
        tls: 'opportunistic',
        verifyCertificate: true,
        from: 'shop@example.com',
        pool: 1,
      },
    });
    // The first retry is 30 s later; by then the dispatcher's cached settings (5 s) have expired.
    await world.advance(60_000);
    expect((await messagesOf('r'))[0]?.status).toBe('sent');
    expect(world.sink.received).toHaveLength(1);
  });

  // The second names a field whose error reads like a lost connection's ("timeout").
  it.each([
    ['frequencyCaps', '{"frequencyCaps": "none"}'],
    ['timeoutMs', '{"webhooks": {"timeoutMs": "soon"}}'],
  ])(
    "sends every other workspace's mail while one workspace's stored settings no longer read (%s), and fails that one's with the error",
    async (field, stored) => {
      const { storage, clock } = world;
      const broken = newId('ws');
      await storage.workspaces.create({ id: broken, name: 'Broken', createdAt: clock.now() });
      await storage.settings.put(broken, await storage.settings.get(world.workspaceId), clock.now());
      const brokenTemplate = await saveTemplate(storage, clock, {
        workspaceId: broken,
        template: { name: 'News', subject: 'News', mjml: '<p>News</p>', text: null },
      });
      await world.send([identify('ok', { email: 'ok@example.com' })]);
      await ingest(storage.events, {
        workspaceId: broken,
        endpoint: 'batch',
        body: { batch: [identify('bad', { email: 'bad@example.com' })] },
        receivedAt: clock.now(),
      });
      await world.settle();
      const [badIdentity] = await storage.profiles.findIdentities(broken, [{ kind: 'user', value: 'bad' }]);
      // The broken workspace's message is queued first: every round takes it.
      const mail = (workspaceId: string, profileId: string, templateId: string) =>
        newMessage(
          {
            workspaceId,
            profileId,
            channel: 'email',
            templateId,
            idempotencyKey: `news:${profileId}`,
            context: {},
          },
          clock.now(),
        );
      const bad = mail(broken, badIdentity?.profileId ?? '', brokenTemplate.id);
      await storage.messages.insert(bad);
      clock.advance(1000);
      await storage.messages.insert(mail(world.workspaceId, await world.profileOf('ok'), template));
      // Settings stored by hand, as no save through Mops would store them.
      await runRawSql(world, {
        sqlite: `update workspace_settings set settings = '${stored}' where workspace_id = '${broken}'`,
        postgres: `update workspace_settings set settings = '${stored}' where workspace_id = '${broken}'`,
      });

      await world.background.dispatcher.runOnce();
      expect(world.sink.received.map((received) => received.to)).toEqual([['ok@example.com']]);
      // Retried with back-off, as a failed send is, and failed for good once its attempts are used up.
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) await world.advance(2 * HOUR);
      const found = await storage.messages.find(broken, bad.id);
      expect(found).toMatchObject({ status: 'failed', reason: expect.stringContaining(field) });
      expect(world.sink.received).toHaveLength(1);
    },
  );

  it('records the outcomes beside one the database refuses every time, so that only that one is sent again', async () => {
    const { storage, clock } = world;
    await world.send([
      identify('poison', { email: 'poison@example.com' }),
      identify('ann', { email: 'ann@example.com' }),
    ]);
    await world.settle();
    const poison = await world.profileOf('poison');
    const mail = async (profileId: string) => {
      const message = newMessage(
        {
          workspaceId: world.workspaceId,
          profileId,
          channel: 'email',
          templateId: template,
          idempotencyKey: `news:${profileId}`,
          context: {},
        },
        clock.now(),
      );
      await storage.messages.insert(message);
      return message;
    };
    // Sent one after the other, the refused one first: the other's outcome is written with it.
    const refused = await mail(poison);
    clock.advance(1000);
    const other = await mail(await world.profileOf('ann'));
    await refuseWrites(world, {
      name: 'refuse_outcome',
      table: 'messages',
      on: 'update',
      when: `old.profile_id = '${poison}' and new.status <> 'sending'`,
    });

    // The round tries for as long as its claims last, then gives up on the refused outcome.
    await expect(world.dispatcher({ concurrency: 1, leaseMs: 1500 }).runOnce()).rejects.toThrow();
    expect(world.sink.received.map((received) => received.to)).toEqual([
      ['poison@example.com'],
      ['ann@example.com'],
    ]);
    expect(await storage.messages.find(world.workspaceId, other.id)).toMatchObject({ status: 'sent' });
    expect(await storage.messages.find(world.workspaceId, refused.id)).toMatchObject({ status: 'sending' });
  });

  it('takes nobody to be subscribed to a topic no longer in the settings', async () => {
    const topics = (await world.storage.settings.get(world.workspaceId)).topics;
    await configure({ topics: [...topics, { id: 'deals', name: 'Deals', defaultSubscribed: false }] });
    await world.publish(sender('Deals', 1, { topic: 'deals' }));
    await world.send([identify('bo', { email: 'bo@example.com' }), track('bo', 'Deals')]);
    await world.background.pipeline.drain();
    // The opt-in topic goes while the message waits: bo never opted in, and now could not opt out.
    await configure({ topics });
    await world.settle();
    expect((await messagesOf('bo'))[0]).toMatchObject({
      status: 'suppressed',
      reason: 'unsubscribed from deals',
    });
    expect(world.sink.received).toHaveLength(0);
  });

  it('skips profiles without an e-mail address, and sends nothing when unsubscribed from the topic', async () => {
    await world.publish(sender('Hello', 1));
    await world.send([
      identify('none', { name: 'No mail' }),
      track('none', 'Hello'),
      identify('out', { email: 'out@example.com' }),
    ]);
    await world.settle();
    await world.storage.consent.setSubscription({
      workspaceId: world.workspaceId,
      profileId: await world.profileOf('out'),
      topic: 'marketing',
      isSubscribed: false,
      at: world.clock.now(),
    });
    await world.send([track('out', 'Hello')]);
    await world.settle();
    expect((await messagesOf('none'))[0]).toMatchObject({
      status: 'skipped',
      reason: 'the profile has no e-mail address (trait email)',
    });
    expect((await messagesOf('out'))[0]).toMatchObject({
      status: 'suppressed',
      reason: 'unsubscribed from marketing',
    });
    expect(world.sink.received).toHaveLength(0);
  });

  it('lets only one of two messages to a contact through a cap of one, when both are due at once', async () => {
    await configure({
      frequencyCaps: {
        sms: [],
        email: [
          { max: 1, period: '1d' },
          { max: 5, period: '7d' },
        ],
      },
    });
    await world.publish(sender('Offer A', 1));
    await world.publish(sender('Offer B', 1));
    await world.send([
      identify('d', { email: 'd@example.com' }),
      { type: 'track', userId: 'd', event: 'Offer A' },
      { type: 'track', userId: 'd', event: 'Offer B' },
    ]);
    await world.settle();
    expect(world.sink.received).toHaveLength(1);
    const statuses = (await messagesOf('d')).map((m) => m.status).sort();
    expect(statuses).toEqual(['deferred', 'sent']);
  });

  it('does not count test sends against the cap', async () => {
    await configure({ frequencyCaps: { email: [{ max: 1, period: '1d' }], sms: [] } });
    await world.send([identify('t', { email: 't@example.com', name: 'Tess' })]);
    await world.settle();
    const profile = await world.storage.profiles.find(world.workspaceId, await world.profileOf('t'));
    const stored = await world.storage.templates.find(world.workspaceId, template);
    const { testSend } = await import('./email/test-send.js');
    await testSend(world.background.email, {
      storage: world.storage,
      clock: world.clock,
      template: stored as NonNullable<typeof stored>,
      profile: profile as NonNullable<typeof profile>,
      to: 'tester@example.com',
    });
    await world.publish(sender('After test', 1));
    await world.send([track('t', 'After test')]);
    await world.settle();
    expect(world.sink.received.map((mail) => mail.to[0])).toEqual(['tester@example.com', 't@example.com']);
  });

  it('keeps sending receipts to an address unsubscribed from everything, and nothing else', async () => {
    await world.storage.consent.suppress({
      workspaceId: world.workspaceId,
      channel: 'email',
      address: 'Quiet@Example.com',
      reason: 'unsubscribed',
      at: world.clock.now(),
    });
    await world.publish(sender('Promo', 1));
    await world.publish(sender('Receipt', 1, { topic: 'transactional' }));
    await world.send([
      identify('q', { email: 'quiet@example.com' }),
      track('q', 'Promo'),
      track('q', 'Receipt'),
    ]);
    await world.settle();
    const outcomes = (await messagesOf('q')).map((m) => `${m.topic}:${m.status}`).sort();
    expect(outcomes).toEqual(['marketing:suppressed', 'transactional:sent']);
  });

  it('speaks TLS as configured: implicit TLS, STARTTLS when required, and certificates checked', async () => {
    const implicit = await new SmtpSink({ tls: 'implicit' }).start();
    const plain = world.sink;
    const smtp = (port: number, tls: 'implicit' | 'starttls', verifyCertificate: boolean) => ({
      host: '127.0.0.1',
      port,
      tls,
      verifyCertificate,
      from: 'shop@example.com',
      pool: 1,
    });
    try {
      await world.publish(sender('Secure', 1));
      const sendTo = async (userId: string) => {
        await world.send([identify(userId, { email: `${userId}@example.com` }), track(userId, 'Secure')]);
        await world.settle();
        return (await messagesOf(userId))[0];
      };
      // The relay's self-signed certificate is accepted only when checking is turned off.
      await configure({ smtp: smtp(implicit.port, 'implicit', false) });
      expect((await sendTo('tls'))?.status).toBe('sent');
      expect(implicit.received.map((mail) => [mail.to[0], mail.secure])).toEqual([['tls@example.com', true]]);
      await configure({ smtp: smtp(implicit.port, 'implicit', true) });
      world.clock.advance(10_000); // past the dispatcher's settings cache
      const unverified = await sendTo('checked');
      expect(unverified?.status).toBe('deferred');
      expect(unverified?.reason).toMatch(/certificate/i);
      // STARTTLS required, and the server does not offer it: nothing goes out in the clear.
      await configure({ smtp: smtp(plain.port, 'starttls', true) });
      world.clock.advance(10_000);
      const cleartext = await sendTo('clear');
      expect(cleartext?.status).toBe('deferred');
      expect(cleartext?.reason).toMatch(/STARTTLS/i);
      expect(plain.received).toHaveLength(0);
    } finally {
      await implicit.stop();
    }
  });

  it('stops after the sends it began, giving back the rest of its round untried', async () => {
    const dispatcher = world.dispatcher({ concurrency: 1 });
    await world.publish(sender('Batch', 1));
    const users = ['ann', 'ben', 'cat'];
    await world.send(
      users.flatMap((user) => [identify(user, { email: `${user}@example.com` }), track(user, 'Batch')]),
    );
    await world.background.pipeline.drain();
    world.sink.replyDelayMs = 300;
    const arrived = world.sink.dataArrived;
    const round = dispatcher.runOnce();
    // Stopped once its first send is under way (the sink holds its reply 300 ms).
    await vi.waitFor(() => expect(world.sink.dataArrived).toBe(arrived + 1), {
      timeout: 10_000,
      interval: 5,
    });
    await dispatcher.stop();
    expect(await round).toBe(3);

    expect(world.sink.received).toHaveLength(1);
    const messages = (await Promise.all(users.map(messagesOf))).flat();
    expect(messages.map((message) => [message.status, message.attempts]).sort()).toEqual([
      ['queued', 0],
      ['queued', 0],
      ['sent', 1],
    ]);
    // Due as before: the next worker sends them at once, not after the lease.
    world.sink.replyDelayMs = 0;
    await world.settle();
    expect(world.sink.received).toHaveLength(3);
  });

  it('sends the next round while a receiver that does not answer holds the last one open', async () => {
    // One receiver keeps every call waiting until the test lets it go; the other answers at once.
    const held: ServerResponse[] = [];
    const answered: string[] = [];
    const slow = createServer((_request, response) => held.push(response));
    const fast = createServer((request, response) => {
      answered.push(request.url ?? '');
      response.writeHead(204).end();
    });
    const listen = async (server: typeof slow) => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const dispatcher = world.dispatcher();
    try {
      await configure({
        webhooks: {
          destinations: [
            { id: 'slow', url: await listen(slow) },
            { id: 'fast', url: await listen(fast) },
          ],
          allowPrivateNetworks: true,
          timeoutMs: 60_000,
          maxAttempts: 5,
        },
      });
      const caller = (name: string, destination: string) => ({
        name,
        entry: { trigger: { type: 'event', event: name } },
        start: 'call',
        steps: [
          { id: 'call', type: 'webhook', destination, path: `/${destination}`, next: 'end' },
          { id: 'end', type: 'exit' },
        ],
      });
      await world.publish(caller('Slow Call', 'slow'));
      await world.publish(caller('Fast Call', 'fast'));
      dispatcher.start();
      await world.send([identify('one', {}), track('one', 'Slow Call')]);
      await world.background.pipeline.drain();
      dispatcher.wake();
      await eventually(async () => (held.length === 1 ? true : undefined));

      // Another workspace's call, say: it goes out while the first still waits for its answer.
      await world.send([identify('two', {}), track('two', 'Fast Call')]);
      await world.background.pipeline.drain();
      dispatcher.wake();
      await eventually(async () => (answered.length === 1 ? true : undefined));
      expect(answered).toEqual(['/fast']);
      expect((await messagesOf('one'))[0]?.status).toBe('sending');

      for (const response of held) response.writeHead(204).end();
      await eventually(async () => ((await messagesOf('one'))[0]?.status === 'sent' ? true : undefined));
      expect((await messagesOf('two'))[0]?.status).toBe('sent');
    } finally {
      await dispatcher.stop();
      for (const response of held) if (!response.headersSent) response.writeHead(204).end();
      slow.close();
      fast.close();
    }
  });

  it('keeps a cap exact while the rounds of one process overlap', async () => {
    await configure({ frequencyCaps: { email: [{ max: 1, period: '1d' }], sms: [] } });
    await world.publish(sender('Offer A', 1));
    await world.publish(sender('Offer B', 1));
    const dispatcher = world.dispatcher();
    try {
      dispatcher.start();
      // The first offer stays in flight at the SMTP server while the second is claimed in the next round.
      world.sink.replyDelayMs = 1500;
      await world.send([identify('e', { email: 'e@example.com' }), track('e', 'Offer A')]);
      await world.background.pipeline.drain();
      dispatcher.wake();
      await eventually(async () => ((await messagesOf('e'))[0]?.status === 'sending' ? true : undefined));
      await world.send([track('e', 'Offer B')]);
      await world.background.pipeline.drain();
      dispatcher.wake();
      const [first, second] = await eventually(async () => {
        const messages = await messagesOf('e');
        return messages[0]?.status === 'sent' && messages[1]?.status === 'deferred' ? messages : undefined;
      });
      expect(first?.status).toBe('sent');
      // Judged once the first was recorded: by the cap, as if the rounds had taken turns.
      world.clock.advance(2000);
      dispatcher.wake();
      const judged = await eventually(async () => {
        const later = (await messagesOf('e'))[1];
        return later?.reason?.startsWith('frequency cap') ? later : undefined;
      });
      expect(judged).toMatchObject({ id: second?.id, status: 'deferred', reason: 'frequency cap: 1 per 1d' });
      expect(world.sink.received).toHaveLength(1);
    } finally {
      world.sink.replyDelayMs = 0;
      await dispatcher.stop();
    }
  });

  // SQLite has one sending process; PostgreSQL may have several, each with rounds of its own.
  it.runIf(backend === 'postgres')(
    'keeps a cap exact over worker processes sending from one database',
    async () => {
      await configure({ frequencyCaps: { email: [{ max: 1, period: '1d' }], sms: [] } });
      await world.publish(sender('Offer A', 1));
      await world.publish(sender('Offer B', 1));
      await world.send([identify('w', { email: 'w@example.com' }), track('w', 'Offer A')]);
      await world.background.pipeline.drain();
      // The first worker's send stays in flight at the SMTP server while another worker looks for work.
      const release = world.sink.holdReplies();
      try {
        const firstWorker = world.dispatcher().runOnce();
        await eventually(async () => ((await messagesOf('w'))[0]?.status === 'sending' ? true : undefined));
        await world.send([track('w', 'Offer B')]);
        await world.background.pipeline.drain();
        // Not taken while the first is under way: it would be judged without it.
        expect(await world.dispatcher().runOnce()).toBe(0);
        release();
        expect(await firstWorker).toBe(1);
        expect(await world.dispatcher().runOnce()).toBe(1);
        const [first, second] = await messagesOf('w');
        expect(first?.status).toBe('sent');
        expect(second).toMatchObject({ status: 'deferred', reason: 'frequency cap: 1 per 1d' });
        expect(world.sink.received).toHaveLength(1);
      } finally {
        release();
      }
    },
  );

  it.runIf(backend === 'postgres')(
    'keeps a cap exact over worker processes for two profiles sharing a mailbox',
    async () => {
      await configure({ frequencyCaps: { email: [{ max: 1, period: '1d' }], sms: [] } });
      await world.publish(sender('Shared', 1));
      await world.send([identify('p1', { email: 'family@example.com' }), track('p1', 'Shared')]);
      await world.background.pipeline.drain();
      const release = world.sink.holdReplies();
      try {
        const firstWorker = world.dispatcher().runOnce();
        await eventually(async () => ((await messagesOf('p1'))[0]?.status === 'sending' ? true : undefined));
        await world.send([identify('p2', { email: ' Family@Example.com' }), track('p2', 'Shared')]);
        await world.background.pipeline.drain();
        // Another profile, the same mailbox: not taken while the first send to it is under way.
        expect(await world.dispatcher().runOnce()).toBe(0);
        release();
        expect(await firstWorker).toBe(1);
        expect(await world.dispatcher().runOnce()).toBe(1);
        expect(await messagesOf('p2')).toMatchObject([
          { status: 'deferred', reason: 'frequency cap: 1 per 1d' },
        ]);
        expect(world.sink.received).toHaveLength(1);
      } finally {
        release();
      }
    },
  );

  it.runIf(backend === 'postgres')(
    'waits a poll, not in a loop, while the only due message waits for another round to finish',
    async () => {
      await world.publish(sender('Offer A', 1));
      await world.publish(sender('Offer B', 1));
      await world.send([identify('v', { email: 'v@example.com' }), track('v', 'Offer A')]);
      await world.background.pipeline.drain();
      world.sink.replyDelayMs = 2000;
      const firstWorker = world.dispatcher().runOnce();
      try {
        await eventually(async () => ((await messagesOf('v'))[0]?.status === 'sending' ? true : undefined));
        await world.send([track('v', 'Offer B')]);
        await world.background.pipeline.drain();
        let claims = 0;
        const counting = new Proxy(world.storage, {
          get: (target, property, receiver) =>
            property !== 'messages'
              ? Reflect.get(target, property, receiver)
              : new Proxy(target.messages, {
                  get: (messages, name, messagesReceiver) =>
                    name !== 'claimDue'
                      ? Reflect.get(messages, name, messagesReceiver)
                      : (claim: Parameters<Storage['messages']['claimDue']>[0]) => {
                          claims++;
                          return messages.claimDue(claim);
                        },
                }),
        });
        const second = world.dispatcher({ storage: counting, pollIntervalMs: 1000 });
        second.start();
        await new Promise((resolve) => setTimeout(resolve, 700));
        await second.stop();
        expect(claims).toBeLessThanOrEqual(2);
      } finally {
        await firstWorker;
        world.sink.replyDelayMs = 0;
      }
    },
  );

  it('holds on to a message a slow SMTP server keeps, so that another worker does not send it too', async () => {
    const leaseMs = 300;
    const worker = () => world.dispatcher({ leaseMs });
    await world.publish(sender('Slow', 1));
    await world.send([identify('slow', { email: 'slow@example.com' }), track('slow', 'Slow')]);
    await world.background.pipeline.drain();
    world.sink.replyDelayMs = 1500;
    const sending = worker().runOnce();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Far past the first lease; the sender renews its claim while the SMTP server thinks.
    world.clock.advance(10 * leaseMs);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await worker().runOnce()).toBe(0);
    expect(await sending).toBe(1);
    expect(world.sink.received).toHaveLength(1);
    expect((await messagesOf('slow'))[0]?.status).toBe('sent');
  });

  it('records what it sent when a write of outcomes fails midway, and sends nothing twice', async () => {
    await world.publish(sender('Batch', 1));
    const users = ['ann', 'ben'];
    await world.send(
      users.flatMap((user) => [identify(user, { email: `${user}@example.com` }), track(user, 'Batch')]),
    );
    await world.background.pipeline.drain();
    // The database goes away for the first write of the round, while the second send is under way.
    let isFailing = true;
    const storage = withSettleAll(world.storage, (settleAll) => async (...args) => {
      if (isFailing) {
        isFailing = false;
        throw new Error('database connection reset');
      }
      return settleAll(...args);
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const dispatcher = world.dispatcher({ storage, concurrency: 1 });
      world.sink.replyDelayMs = 200;
      expect(await dispatcher.runOnce()).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    expect(isFailing).toBe(false);
    const sent = (await Promise.all(users.map(messagesOf))).flat();
    expect(sent.map((message) => [message.status, message.attempts])).toEqual([
      ['sent', 1],
      ['sent', 1],
    ]);
    // Nothing is left to send again once the claims run out.
    world.sink.replyDelayMs = 0;
    world.clock.advance(HOUR);
    await world.settle();
    expect(world.sink.received).toHaveLength(2);
  });

  it('counts what it sent when a write of outcomes committed but its answer was lost', async () => {
    await world.publish(sender('Lost answer', 1));
    await world.send([identify('lia', { email: 'lia@example.com' }), track('lia', 'Lost answer')]);
    await world.background.pipeline.drain();
    let isLosingAnswer = true;
    const storage = withSettleAll(world.storage, (settleAll) => async (...args) => {
      const written = await settleAll(...args);
      if (isLosingAnswer) {
        isLosingAnswer = false;
        throw new Error('connection reset after the commit');
      }
      return written;
    });
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line).msg) });
    const dispatcher = world.dispatcher({ storage, logger });
    expect(await dispatcher.runOnce()).toBe(1);
    expect(isLosingAnswer).toBe(false);
    expect(dispatcher.sentCount).toBe(1);
    expect(warnings.filter((msg) => msg.includes('claimed by another'))).toEqual([]);
    expect((await messagesOf('lia'))[0]?.status).toBe('sent');
    expect(world.sink.received).toHaveLength(1);
  });
});

type SettleAll = Storage['messages']['settleAll'];

/** The storage with its `settleAll` wrapped: a database failing around the dispatcher’s writes. */
function withSettleAll(storage: Storage, wrap: (settleAll: SettleAll) => SettleAll): Storage {
  const settleAll = wrap((...args) => storage.messages.settleAll(...args));
  const messages = new Proxy(storage.messages, {
    get: (target, key, receiver) => (key === 'settleAll' ? settleAll : Reflect.get(target, key, receiver)),
  });
  return new Proxy(storage, {
    get: (target, key, receiver) => (key === 'messages' ? messages : Reflect.get(target, key, receiver)),
  });
}
