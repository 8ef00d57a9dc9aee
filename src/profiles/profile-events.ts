import type { GeneratedEvent, NewEvent } from '../core/event.js';
import type { ProfileIdentity } from '../storage/storage.js';

/** A track call Mops writes on a profile (stage changes, hand-offs), under an id it is known by. */
export function profileEvent(options: {
  workspaceId: string;
  identity: ProfileIdentity | undefined;
  name: string;
  key: string;
  properties: Record<string, unknown>;
  at: number;
}): GeneratedEvent | undefined {
  const { workspaceId, identity, name, key, properties, at } = options;
  // A profile always has an identity; one merged away in the meantime has nothing to tell.
  if (!identity) return undefined;
  const messageId = `mops-${name.toLowerCase().replaceAll(' ', '-')}-${key}-${at}`;
  const isUser = identity.kind === 'user';
  const who = isUser ? { userId: identity.value } : { anonymousId: identity.value };
  const event: NewEvent = {
    workspaceId,
    messageId,
    type: 'track',
    name,
    userId: isUser ? identity.value : null,
    anonymousId: isUser ? null : identity.value,
    timestamp: at,
    originalTimestamp: at,
    sentAt: null,
    receivedAt: at,
    payload: JSON.stringify({
      type: 'track',
      event: name,
      messageId,
      timestamp: new Date(at).toISOString(),
      ...who,
      properties,
      context: { library: { name: 'mops' } },
    }),
  };
  return { event, identityId: identity.identityId };
}
