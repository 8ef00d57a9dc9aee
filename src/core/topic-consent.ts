/**
 * A contact's consent to a topic, per channel. A choice made for a topic holds on every channel (the
 * admin's, a form's); one made on a channel (an e-mail's unsubscribe link: "no more marketing
 * e-mails") holds on that channel alone and goes before it. Both are kept as topic subscriptions: a
 * channel's choice under the key `topic@channel`, which no topic id can be (ids are `[a-z0-9_-]`).
 */

/** The channels a contact gives or withdraws consent on. */
export const CONSENT_CHANNELS = ['email', 'sms'] as const;
export type ConsentChannel = (typeof CONSENT_CHANNELS)[number];

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
