import type { Clock } from '../../core/clock.js';
import { emailAddressOf } from '../../core/email-address.js';
import { AppError } from '../../core/errors.js';
import type { NewEvent } from '../../core/event.js';
import type { Message } from '../../core/journey.js';
import { channelChoiceKey, TRANSACTIONAL_TOPIC } from '../../core/topic-consent.js';
import { TEST_TOPIC } from '../../core/workspace-settings.js';
import type { Storage } from '../../storage/storage.js';
import type { ClickPayload, LinkSigner, MessagePayload } from './signed-links.js';

/** What an e-mail's recipient did, as the events on the profile name it. */
export const EMAIL_OPENED = 'Email Opened';
export const EMAIL_LINK_CLICKED = 'Email Link Clicked';
export const EMAIL_UNSUBSCRIBED = 'Unsubscribed';
export const EMAIL_BOUNCED = 'Email Bounced';
export const EMAIL_MARKED_AS_SPAM = 'Email Marked as Spam';

/** Appends events to the log; the server passes its appender (the log thread). */
export type Append = (input: { events: NewEvent[]; rejected: [] }) => Promise<unknown>;

/**
 * A test send went to a tester, not to the profile it was personalised for: what becomes of it (an
 * open, a click, a delivery report) is recorded on the message only, never as an event of the
 * profile's, where it would move scores, segments and journeys.
 */
export function isTestSend(message: Pick<Message, 'topic'>): boolean {
  return message.topic === TEST_TOPIC;
}

interface Deps {
  storage: Storage;
  clock: Clock;
  signer: LinkSigner;
  append: Append;
}

/**
 * Opens, clicks, unsubscribes and bounces come back as events on the profile (`Email Opened`,
 * `Email Link Clicked`, `Unsubscribed`, `Email Bounced`), so journeys can wait for them and branch on
 * them, and they are recorded on the message for reports.
 */
export async function recordOpen(deps: Deps, token: string): Promise<void> {
  const payload = deps.signer.verify<MessagePayload>('open', token);
  if (!payload?.m) throw new AppError('invalid_input', 'this tracking link is not valid');
  const message = await deps.storage.messages.findById(payload.m);
  if (!message) return;
  const now = deps.clock.now();
  if (await deps.storage.messages.markFirst(message.id, 'opened_at', now)) {
    await emit(deps, message, EMAIL_OPENED, `open:${message.id}`, {});
  }
}

/** Records the click and answers the URL to redirect to; only URLs we signed are ever redirected to. */
export async function recordClick(deps: Deps, token: string): Promise<string> {
  const { message, target } = await clickedLink(deps, token);
  const now = deps.clock.now();
  await deps.storage.messages.markFirst(message.id, 'clicked_at', now);
  // A click means it was opened, even by a client that blocked the tracking image.
  if (await deps.storage.messages.markFirst(message.id, 'opened_at', now)) {
    await emit(deps, message, EMAIL_OPENED, `open:${message.id}`, {});
  }
  await emit(deps, message, EMAIL_LINK_CLICKED, `click:${message.id}:${target}`, { url: target });
  return target;
}

/** Where a click link goes, nothing recorded (a link scanner's HEAD); refused as a click would be. */
export async function clickTarget(deps: Pick<Deps, 'storage' | 'signer'>, token: string): Promise<string> {
  return (await clickedLink(deps, token)).target;
}

async function clickedLink(
  deps: Pick<Deps, 'storage' | 'signer'>,
  token: string,
): Promise<{ message: Message; target: string }> {
  const payload = deps.signer.verify<ClickPayload>('click', token);
  if (!payload?.m || typeof payload.u !== 'string' || !/^https?:\/\//i.test(payload.u)) {
    throw new AppError('invalid_input', 'this link is not valid');
  }
  // Only a message that was sent redirects: a preview's links are signed too, and one answering for
  // any member's URL would make the tracking domain an open redirect.
  const message = await deps.storage.messages.findById(payload.m);
  if (!message) throw new AppError('not_found', 'this link refers to no message that was sent');
  return { message, target: payload.u };
}

/**
 * Unsubscribes the recipient of a message from its topic, or from every e-mail but transactional ones
 * (`everything`: the address goes on the suppression list). A receipt's link, or its mail client's
 * one-click button, leaves everything but receipts: nobody opts out of being told what they bought.
 * A test send changes nothing: it went to a tester, not to the profile it was personalised for.
 */
export async function unsubscribe(
  deps: Deps,
  input: { token: string; everything?: boolean },
): Promise<{ topic: string; message: Message; isTest: boolean; everything: boolean }> {
  const payload = deps.signer.verify<MessagePayload>('unsubscribe', input.token);
  if (!payload?.m) throw new AppError('invalid_input', 'this unsubscribe link is not valid');
  const message = await deps.storage.messages.findById(payload.m);
  if (!message) throw new AppError('not_found', 'this unsubscribe link refers to no message');
  const topic = message.topic ?? 'marketing';
  const everything = input.everything === true || topic === TRANSACTIONAL_TOPIC;
  if (isTestSend(message)) return { topic, message, isTest: true, everything };
  const now = deps.clock.now();
  if (topic !== TRANSACTIONAL_TOPIC)
    await deps.storage.transaction(async (tx) => {
      // The recipient may have been merged into another profile since (or be being merged now, which
      // this waits for): the choice belongs to the survivor.
      await tx.profiles.holdOffMerges();
      const profile = await tx.profiles.find(message.workspaceId, message.profileId);
      // The link is an e-mail's: the contact leaves the topic's e-mails, not its texts.
      await tx.consent.setSubscription({
        workspaceId: message.workspaceId,
        profileId: profile?.id ?? message.profileId,
        topic: channelChoiceKey(topic, 'email'),
        isSubscribed: false,
        at: now,
      });
    });
  const address = everything ? await recipientAddress(deps, message) : undefined;
  if (address) {
    await deps.storage.consent.suppress({
      workspaceId: message.workspaceId,
      channel: 'email',
      address,
      reason: 'unsubscribed',
      at: now,
    });
  }
  if (await deps.storage.messages.markFirst(message.id, 'unsubscribed_at', now)) {
    await emit(deps, message, EMAIL_UNSUBSCRIBED, `unsubscribe:${message.id}`, {
      topic,
      channel: 'email',
      everything,
    });
  }
  return { topic, message, isTest: false, everything };
}

/**
 * Where the e-mail went. The dispatcher records it once the mail server has answered, and a recipient
 * can click before that (the server takes its time over the rest of the round): until then it is the
 * address the profile has now, the one the e-mail was just sent to.
 */
async function recipientAddress(deps: Pick<Deps, 'storage'>, message: Message): Promise<string | undefined> {
  if (message.toAddress) return message.toAddress;
  const profile = await deps.storage.profiles.find(message.workspaceId, message.profileId);
  return profile ? emailAddressOf(profile) : undefined;
}

/**
 * A bounce or complaint reported by the mail provider: hard bounces and complaints suppress the
 * address for good; soft bounces are only recorded.
 */
export async function recordBounce(
  deps: Deps,
  input: {
    workspaceId: string;
    address: string;
    type: 'hard' | 'soft' | 'complaint';
    messageId?: string | undefined;
  },
): Promise<void> {
  const now = deps.clock.now();
  // Checked before anything is written: a mistyped id would otherwise pass for a recorded bounce, and
  // another channel's message, or one to someone else, would be marked bounced on its contact.
  const message = input.messageId
    ? await deps.storage.messages.find(input.workspaceId, input.messageId)
    : undefined;
  if (
    input.messageId &&
    (message?.channel !== 'email' || message.toAddress?.toLowerCase() !== input.address.toLowerCase())
  )
    throw new AppError(
      'invalid_input',
      `messageId: no e-mail of this workspace to ${input.address} has the id ${input.messageId}`,
      { field: 'messageId' },
    );
  if (input.type !== 'soft') {
    await deps.storage.consent.suppress({
      workspaceId: input.workspaceId,
      channel: 'email',
      address: input.address,
      reason: input.type === 'hard' ? 'hard_bounce' : 'complaint',
      at: now,
    });
  }
  if (!message) return;
  const field = input.type === 'complaint' ? 'complained_at' : 'bounced_at';
  if (await deps.storage.messages.markFirst(message.id, field, now)) {
    const name = input.type === 'complaint' ? EMAIL_MARKED_AS_SPAM : EMAIL_BOUNCED;
    await emit(deps, message, name, `${field}:${message.id}`, { bounce_type: input.type });
  }
}

async function emit(
  deps: Deps,
  message: Message,
  name: string,
  messageId: string,
  extra: Record<string, unknown>,
): Promise<void> {
  if (isTestSend(message)) return;
  await appendProfileEvent(deps, {
    workspaceId: message.workspaceId,
    profileId: message.profileId,
    name,
    messageId,
    properties: {
      message_id: message.id,
      journey_id: message.journeyId,
      step_id: message.stepId,
      template_id: message.templateId,
      ...extra,
    },
  });
}

/**
 * A `track` event on a profile, as its own client would send it (under its user id, or an anonymous
 * id of it), so that what happened to it outside its events (an unsubscribe, an admin's change of its
 * subscriptions) reaches the pipeline: segments decide it again, journeys may enter or branch on it,
 * and its timeline shows it. `messageId` dedupes a repeat.
 */
export async function appendProfileEvent(
  deps: Pick<Deps, 'storage' | 'clock' | 'append'>,
  event: {
    workspaceId: string;
    profileId: string;
    name: string;
    messageId: string;
    properties: Record<string, unknown>;
  },
): Promise<void> {
  const identity = await identityOf(deps.storage, event.workspaceId, event.profileId);
  if (!identity) return;
  const now = deps.clock.now();
  const call = {
    type: 'track',
    event: event.name,
    messageId: event.messageId,
    ...identity,
    properties: event.properties,
    timestamp: new Date(now).toISOString(),
  };
  await deps.append({
    events: [
      {
        workspaceId: event.workspaceId,
        messageId: event.messageId,
        type: 'track',
        name: event.name,
        userId: identity.userId ?? null,
        anonymousId: identity.anonymousId ?? null,
        timestamp: now,
        originalTimestamp: now,
        sentAt: null,
        receivedAt: now,
        payload: JSON.stringify(call),
      },
    ],
    rejected: [],
  });
}

async function identityOf(
  storage: Storage,
  workspaceId: string,
  profileId: string,
): Promise<{ userId?: string; anonymousId?: string } | undefined> {
  const profile = await storage.profiles.find(workspaceId, profileId);
  if (!profile) return undefined;
  if (profile.userId) return { userId: profile.userId };
  const identities = await storage.profiles.listIdentities(profile.id);
  const anonymous = identities.find((identity) => identity.kind === 'anonymous');
  return anonymous ? { anonymousId: anonymous.value } : undefined;
}
