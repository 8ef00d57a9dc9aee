import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type MailWorld, startMailWorld } from '../test-support/api-client.js';
import { BACKENDS, eventually } from '../test-support/world.js';

/** How long after signing up a contact counts as settled here: seconds, so that a running server's clock gets there. */
const SETTLED_AFTER_S = 4;

/**
 * A running server, its background work on its own threads and the real clock: a lead's stage moves
 * once a penalty has faded enough, with no event to move it.
 */
describe.each(BACKENDS)('stages moved by time alone in a running server on %s', (backend) => {
  let mail: MailWorld;
  const { api, ingest, newProfile } = apiClient(() => mail);

  beforeAll(async () => {
    mail = await startMailWorld(backend);
    const settings = await api<unknown>('PATCH', '/settings', {
      scoring: {
        models: [
          {
            id: 'engagement',
            name: 'Engagement',
            rules: [
              { id: 'demo', kind: 'event', event: 'Demo Requested', points: 20 },
              {
                id: 'settled',
                kind: 'fit',
                when: {
                  type: 'trait',
                  path: 'signed_up_at',
                  op: 'not_within_last',
                  value: `${SETTLED_AFTER_S}s`,
                },
                points: 15,
              },
            ],
          },
        ],
      },
      lifecycle: {
        stages: ['lead', 'mql', 'sql'],
        rules: [{ kind: 'score', to: 'mql', model: 'engagement', atLeast: 30 }],
        recycleTo: 'lead',
      },
    });
    if (settings.status !== 200) throw new Error(JSON.stringify(settings.body));
    expect(settings.status).toBe(200);
  });
  afterAll(async () => {
    await mail?.close();
  });

  it('makes an MQL of a lead once a fit rule starts to hold, with no event', async () => {
    const signedUpAt = Date.now();
    const lead = await newProfile({ signed_up_at: new Date(signedUpAt).toISOString() });
    // 20 for the demo now, 15 more once signed up a few seconds: 35, over the threshold of 30.
    await ingest([{ type: 'track', userId: lead.userId, event: 'Demo Requested' }]);
    type Intent = {
      stage: string | null;
      stageHistory: Array<{ from: string | null; to: string; reason: string; at: string }>;
    };
    const intent = await eventually(async () => {
      const { body } = await api<Intent>('GET', `/profiles/${lead.id}/intent`);
      return body.stage === 'mql' ? body : undefined;
    }, 30_000);

    expect(intent.stageHistory).toHaveLength(1);
    const [move] = intent.stageHistory;
    expect(move).toMatchObject({ from: null, to: 'mql', reason: 'score engagement reached 35' });
    // Moved by time, when the rule started to hold, not at the demo request.
    expect(Date.parse(move?.at ?? '')).toBeGreaterThanOrEqual(signedUpAt + SETTLED_AFTER_S * 1000);
  });

  it('lists contacts by score, highest first, a page at a time, and names a model it does not have', async () => {
    const team = `rank-${Date.now()}`;
    const [low, high, none] = await Promise.all([
      newProfile({ team }),
      newProfile({ team }),
      newProfile({ team }),
    ]);
    await ingest([
      { type: 'track', userId: low.userId, event: 'Demo Requested' },
      { type: 'track', userId: high.userId, event: 'Demo Requested' },
      { type: 'track', userId: high.userId, event: 'Demo Requested' },
    ]);
    type Contact = { id: string; scores: Array<{ model: string; score: number }> };
    const pages = async () => {
      const listed: Contact[] = [];
      let cursor = '';
      do {
        const page = await api<{ items: Contact[]; nextCursor: string | null }>(
          'GET',
          `/profiles?q=${team}&byScore=engagement&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(page.status).toBe(200);
        listed.push(...page.body.items);
        cursor = page.body.nextCursor ?? '';
      } while (cursor);
      return listed;
    };
    const ranked = await eventually(async () => {
      const listed = await pages();
      return listed[0]?.scores[0]?.score === 40 && listed.length === 3 ? listed : undefined;
    });
    expect(ranked.map((contact) => contact.id)).toEqual([high.id, low.id, none.id]);

    const unknown = await api<{ error: { field: string; message: string } }>(
      'GET',
      '/profiles?byScore=intent',
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({
      field: 'byScore',
      message: expect.stringContaining('engagement'),
    });
    // A place in the newest-first list is no place in the list by score.
    const newest = await api<{ nextCursor: string }>('GET', `/profiles?q=${team}&limit=1`);
    const mixed = await api<{ error: { field: string } }>(
      'GET',
      `/profiles?byScore=engagement&cursor=${newest.body.nextCursor}`,
    );
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.field).toBe('cursor');
  });
});
