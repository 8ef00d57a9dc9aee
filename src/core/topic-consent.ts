/**
 * A contact's consent to a topic, per channel. A choice made for a topic holds on every channel (the
 * admin's, a form's); one made on a channel (an e-mail's unsubscribe link: "no more marketing
 * e-mails") holds on that channel alone and goes before it. Both are kept as topic subscriptions: a
 * channel's choice under the key `topic@channel`, which no topic id can be (ids are `[a-z0-9_-]`).
 */

/** The channels a contact gives or withdraws consent on. */
export const CONSENT_CHANNELS = ['email', 'sms'] as const;
export type ConsentChannel = (typeof CONSENT_CHANNELS)[number];

/**
 * Why an address is on a channel's suppression list: `added_by_hand` is an admin's (a contact who
 * asked by phone, a list brought from a former provider), and stops everything, as a bounce does.
 */
export const SUPPRESSION_REASONS = ['unsubscribed', 'hard_bounce', 'complaint', 'added_by_hand'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** Topics whose mail is exempt from frequency caps and quiet hours, and sent to those unsubscribed from every e-mail. */
export const TRANSACTIONAL_TOPIC = 'transactional';

/**
 * Whether an address suppressed for `reason` gets none of the topic's messages on the channel, whatever
 * its subscriptions say. Unsubscribing from every e-mail still lets receipts through; a bounce, a
 * complaint or an admin's hand stops all mail. A text's STOP stops every text from the sender, receipts too (carriers'
 * rules, TCPA). `isHeldBySuppression({ channel: 'email', reason: 'unsubscribed', topic: 'transactional' })`
 * is false.
 */
export function isHeldBySuppression(suppression: {
  channel: ConsentChannel;
  reason: SuppressionReason;
  topic: string;
}): boolean {
  const { channel, reason, topic } = suppression;
  return !(channel === 'email' && reason === 'unsubscribed' && topic === TRANSACTIONAL_TOPIC);
}

/** The key a choice made on one channel is kept under. */
export function channelChoiceKey(topic: string, channel: ConsentChannel): string {
  return `${topic}@${channel}`;
}

/** Whether a contact, with the choices it made (`chosen`), is subscribed to a topic on a channel. */
export function isSubscribedOn(
  chosen: Readonly<Record<string, boolean>>,
  topic: string,
  channel: ConsentChannel,
  defaultSubscribed: boolean,
): boolean {
  return chosen[channelChoiceKey(topic, channel)] ?? chosen[topic] ?? defaultSubscribed;
}

/** Whether it is subscribed to a topic on every channel (withdrawn on none). */
export function isSubscribedEverywhere(
  chosen: Readonly<Record<string, boolean>>,
  topic: string,
  defaultSubscribed: boolean,
): boolean {
  return CONSENT_CHANNELS.every((channel) => isSubscribedOn(chosen, topic, channel, defaultSubscribed));
}
