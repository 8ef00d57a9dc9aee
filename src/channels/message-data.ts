import type { Message } from '../core/journey.js';
import type { Profile } from '../core/profile.js';
import type { LifecycleData } from '../templates/email-template.js';

/**
 * What a message's Liquid (an SMS text, a webhook body) sees: the profile, the entry event, the
 * journey, the message, and the contact's `lifecycle` when the Liquid names it (see `lifecycleDataFor`).
 */
export function messageTemplateData(
  message: Pick<Message, 'id' | 'context'>,
  profile: Pick<Profile, 'id' | 'userId' | 'traits'>,
  lifecycle?: LifecycleData,
): Record<string, unknown> {
  return {
    profile: { id: profile.id, userId: profile.userId, traits: profile.traits },
    event: message.context.event,
    journey: message.context.journey,
    message: { id: message.id },
    ...(lifecycle ? { lifecycle } : {}),
  };
}
