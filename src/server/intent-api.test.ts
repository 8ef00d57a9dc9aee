import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type MailWorld, startMailWorld } from '../test-support/api-client.js';
import { BACKENDS } from '../test-support/world.js';

/** A profile's intent over HTTP: what the API says of a score the model's cap holds. */
describe.each(BACKENDS)('intent API on %s', (backend) => {
  let mail: MailWorld;
  const { api, ingest, caughtUp, newProfile } = apiClient(() => mail);

  beforeAll(async () => {
    mail = await startMailWorld(backend);
    const settings = await api<unknown>('PATCH', '/settings', {
      scoring: {
        models: [
          {
            id: 'engagement',
            name: 'Engagement',
            cap: 30,
            rules: [{ id: 'demo', kind: 'event', event: 'Demo Requested', points: 20 }],
          },
        ],
      },
    });
    expect(settings.status).toBe(200);
  });
  afterAll(async () => {
    await mail?.close();
  });

  it('says what the model’s cap holds back, so the explanation adds up to the score', async () => {
    const contact = await newProfile();
    await ingest([
      { type: 'track', userId: contact.userId, event: 'Demo Requested' },
      { type: 'track', userId: contact.userId, event: 'Demo Requested' },
    ]);
    await caughtUp();
    type Score = { score: number; awards: unknown[]; modelCap?: { cap: number; points: number } };
    const intent = await api<{ scores: Score[] }>('GET', `/profiles/${contact.id}/intent`);
    expect(intent.body.scores).toEqual([
      expect.objectContaining({ score: 30, modelCap: { cap: 30, points: -10 } }),
    ]);
    expect(intent.body.scores[0]?.awards).toHaveLength(2);
  });
});
