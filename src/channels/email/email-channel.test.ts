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

  it('retries an e-mail, connecting to nothing, while the stored SMTP password does not decrypt under the current MOPS_SECRET, and sends it once entered again', async () => {
    await publishNews();
    await saveRelay('another-mops-secret-another-mops-secret');
    await world.send([identify('ada', { email: 'ada@example.com' }), track('ada', 'Signed Up')]);
    await world.settle();
    const emails = async () =>
      (
        await world.storage.messages.list(world.workspaceId, { channel: 'email' }, { limit: 50 })
      ).items.filter((message) => message.topic === 'marketing');
    // Deferred, not failed: e-mail has no re-drive, so a failed one would be lost for good.
    expect(await emails()).toMatchObject([
      { status: 'deferred', attempts: 1, reason: `retrying: ${UNREADABLE}` },
    ]);
    await world.advance(30_000);
    await world.advance(60_000);
    expect(await emails()).toMatchObject([
      { status: 'deferred', attempts: 3, reason: `retrying: ${UNREADABLE}` },
    ]);
    expect(relay.received).toHaveLength(0);

    // A test send is not retried: it says why at once, sending nothing.
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

    // Entered again, the waiting e-mail goes at its next attempt.
    await saveRelay(SECRET);
    await world.advance(HOUR);
    await relay.waitFor(1);
    expect(relay.received.map((mail) => mail.to)).toEqual([['ada@example.com']]);
    expect(await emails()).toMatchObject([{ status: 'sent', attempts: 4, toAddress: 'ada@example.com' }]);
  });
});
