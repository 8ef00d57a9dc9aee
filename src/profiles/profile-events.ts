import type { NewEvent } from '../core/event.js';

/** A track call Mops writes on a profile (stage changes, hand-offs), under an id it is known by. */
export function profileEvent(options: {
  workspaceId: string;
  ids: { userId: string | null; anonymousId: string | null } | undefined;
  name: string;
  key: string;
  properties: Record<string, unknown>;
  at: number;
}): NewEvent | undefined {
  const { workspaceId, ids, name, key, properties, at } = options;
  if (!ids || (ids.userId === null && ids.anonymousId === null)) return undefined;
  const messageId = `mops-${name.toLowerCase().replaceAll(' ', '-')}-${key}-${at}`;
  const who = ids.userId !== null ? { userId: ids.userId } : { anonymousId: ids.anonymousId };
  return {
    workspaceId,
    messageId,
    type: 'track',
    name,
    userId: ids.userId,
    anonymousId: ids.userId === null ? ids.anonymousId : null,
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
}
