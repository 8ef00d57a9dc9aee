/** Segment calls as clients send them, for tests that feed the real ingest path. */
export const identify = (userId: string, traits: Record<string, unknown>) => ({
  type: 'identify',
  userId,
  traits,
});

export const track = (
  userId: string,
  event: string,
  properties: Record<string, unknown> = {},
  timestamp?: number,
) => ({
  type: 'track',
  userId,
  event,
  properties,
  ...(timestamp === undefined ? {} : { timestamp: new Date(timestamp).toISOString() }),
});
