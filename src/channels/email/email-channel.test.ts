import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type JourneyWorld, SECRET, startJourneyWorld } from '../../test-support/journey-world.js';
import { identify, track } from '../../test-support/segment-calls.js';
import { SmtpSink } from '../../test-support/smtp-sink.js';
import { BACKENDS } from '../../test-support/world.js';
import { SecretBox, saveSettings } from '../settings.js';
import { testSend } from './test-send.js';

const HOUR = 3_600_000;
const UNREADABLE =
  "the SMTP server's stored password cannot be decrypted under the current MOPS_SECRET (it was stored under another one); enter it again in Settings → E-mail (SMTP)";

describe.each(BACKENDS)('e-mail channel on %s', (backend) => {
  let world: JourneyWorld;
  /** A relay that takes mail from `shop` with its password only. */
  let relay: SmtpSink;
  let template: string;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
    relay = await new SmtpSink({ users: { shop: 'smtp-password' } }).start();
    template = await world.template({ subject: 'News', mjml: '<p>News</p>' });
  });
  afterEach(async () => {
    // The world's pooled connections close first: the relay waits for them to.
    await world.close();
    await relay.stop();
  });

  /** Saves the relay's settings, its password sealed by a server started with `mopsSecret`. */
  const saveRelay = async (mopsSecret: string) => {
    const stored = await world.storage.settings.get(world.workspaceId);
    await saveSettings(world.storage, new SecretBox(mopsSecret), {
      workspaceId: world.workspaceId,
      settings: {
        ...stored,
        smtp: { ...stored.smtp, port: relay.port, user: 'shop', password: 'smtp-password' },
      },
      at: world.clock.now(),
      privateNetworksAllowed: true,
    });
  };

  const publishNews = () =>
    world.publish({
      name: 'News',
      entry: { trigger: { type: 'event', event: 'Signed Up' }, reentry: { policy: 'every_time' } },
      start: 'mail',
      steps: [
        { id: 'mail', type: 'send_email', template, topic: 'marketing', next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });

  it('fails an e-mail at once, connecting to nothing, when the stored SMTP password does not decrypt under the current MOPS_SECRET', async () => {
    await publishNews();
    await saveRelay('another-mops-secret-another-mops-secret');
    await world.send([identify('ada', { email: 'ada@example.com' }), track('ada', 'Signed Up')]);
    await world.settle();
    const emails = async () =>
      (await world.storage.messages.list(world.workspaceId, { channel: 'email' }, { limit: 50 })).items;
    // Not retried: no attempt would mend it, and the SMTP server is not to blame.
    expect(await emails()).toMatchObject([
      { status: 'failed', attempts: 1, toAddress: 'ada@example.com', reason: UNREADABLE },
    ]);
    await world.advance(HOUR);
    expect(await emails()).toMatchObject([{ status: 'failed', attempts: 1 }]);
    expect(relay.received).toHaveLength(0);

    // A test send says the same, sending nothing either.
    const stored = await world.storage.templates.find(world.workspaceId, template);
    const ada = await world.storage.profiles.find(world.workspaceId, await world.profileOf('ada'));
    if (!stored || !ada) throw new Error('the template and Ada are stored');
    const tested = await testSend(world.background.email, {
      storage: world.storage,
      clock: world.clock,
      template: stored,
      profile: ada,
      to: 'tester@example.com',
    });
    expect(tested).toMatchObject({ status: 'failed', reason: UNREADABLE });
    expect(relay.received).toHaveLength(0);

    // Entered again, mail goes.
    await saveRelay(SECRET);
    await world.send([identify('bob', { email: 'bob@example.com' }), track('bob', 'Signed Up')]);
    await world.settle();
    await relay.waitFor(1);
    expect(relay.received.map((mail) => mail.to)).toEqual([['bob@example.com']]);
  });
});
