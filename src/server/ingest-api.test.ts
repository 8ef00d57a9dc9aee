import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, basicAuth, eventually, startTestWorld, type TestWorld } from '../test-support/world.js';

describe.each(BACKENDS)('Segment ingest API on %s', (backend) => {
  let world: TestWorld;

  beforeAll(async () => {
    world = await startTestWorld(backend);
  });
  afterAll(async () => {
    await world?.close();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${world.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(world.writeKey), ...headers },
      body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    });
  const admin = async (path: string) => {
    const response = await fetch(`${world.url}${path}`, {
      headers: { authorization: `Bearer ${world.secretKey}` },
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown> & { items: Array<Record<string, unknown>> },
    };
  };
  const eventsWith = async (messageIds: string[]) => {
    const page = await admin(`/api/workspaces/${world.workspaceId}/events?limit=500`);
    return page.body.items.filter((e) => messageIds.includes(e.messageId as string));
  };

  it('stores a batch and answers like Segment', async () => {
    const response = await post('/v1/batch', {
      batch: [
        { type: 'identify', userId: 'ada', traits: { email: 'ada@example.com' }, messageId: 'b1-1' },
        {
          type: 'track',
          userId: 'ada',
          event: 'Order Completed',
          properties: { total: 42 },
          messageId: 'b1-2',
        },
      ],
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true, stored: 2, duplicates: 0, rejected: [] });
    expect(await eventsWith(['b1-1', 'b1-2'])).toHaveLength(2);
  });

  it('offers the names of the events received, most frequent first, then those Mops knows', async () => {
    const response = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'nia', event: 'Webinar Joined', messageId: 'names-1' },
        { type: 'track', userId: 'nia', event: 'Webinar Joined', messageId: 'names-2' },
        { type: 'track', userId: 'nia', event: 'Webinar Joined', messageId: 'names-3' },
        { type: 'track', userId: 'nia', event: 'Brochure Downloaded', messageId: 'names-4' },
      ],
    });
    expect(response.status).toBe(200);
    const offered = await admin(`/api/workspaces/${world.workspaceId}/event-names`);
    expect(offered.status).toBe(200);
    const names = offered.body.items.map((item) => item.name);
    expect(names.indexOf('Webinar Joined')).toBeLessThan(names.indexOf('Brochure Downloaded'));
    expect(offered.body.items).toContainEqual({ name: 'Webinar Joined', recentCount: 3 });
    // Mops's own, for a journey waiting for the first reply to its first text.
    expect(offered.body.items).toContainEqual({ name: 'SMS Received', recentCount: 0 });
    expect(names.indexOf('SMS Received')).toBeGreaterThan(names.indexOf('Brochure Downloaded'));
    expect(new Set(names).size).toBe(names.length);
  });

  it('takes the write key from the body when there is no Authorization header', async () => {
    const response = await fetch(`${world.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        writeKey: world.writeKey,
        userId: 'bob',
        event: 'Signed Up',
        messageId: 'body-key-1',
      }),
    });
    expect(response.status).toBe(200);
    const [stored] = await eventsWith(['body-key-1']);
    expect(stored?.type).toBe('track');
    // The key is a secret: it is never stored with the event.
    expect(JSON.stringify(stored)).not.toContain(world.writeKey);
  });

  it('refuses a missing or wrong write key with 401 and stores nothing', async () => {
    const noKey = await fetch(`${world.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'x', event: 'E', messageId: 'nokey-1' }),
    });
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { error: { message: string } }).error.message).toMatch(
      /write key is required/,
    );
    const wrong = await post(
      '/v1/track',
      { userId: 'x', event: 'E', messageId: 'wrongkey-1' },
      { authorization: basicAuth('wk_nope') },
    );
    expect(wrong.status).toBe(401);
    const secretAsWrite = await post(
      '/v1/track',
      { userId: 'x', event: 'E', messageId: 'secret-1' },
      { authorization: basicAuth(world.secretKey) },
    );
    expect(secretAsWrite.status).toBe(401);
    expect(await eventsWith(['nokey-1', 'wrongkey-1', 'secret-1'])).toHaveLength(0);
  });

  it('checks a write key before reading the body, and refuses a body it cannot read as holding no key', async () => {
    const bomb = gzipSync(
      JSON.stringify({
        batch: [{ type: 'track', userId: 'u', event: 'E', messageId: 'unread-1', pad: 'x'.repeat(600_000) }],
      }),
    );
    for (const [body, headers] of [
      ['{"batch": [ {"type": "track", "messageId": "unread-2", } ]}', {}],
      [bomb, { 'content-encoding': 'gzip' }],
      [Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' }],
    ] as const) {
      const wrong = await post('/v1/batch', body, { ...headers, authorization: basicAuth('wk_nope') });
      expect(wrong.status).toBe(401);
      expect(((await wrong.json()) as { error: { message: string } }).error.message).toMatch(
        /write key is not valid/,
      );
      // No key in the header: the body was the only place for one.
      const none = await post('/v1/batch', body, { ...headers, authorization: '' });
      expect(none.status).toBe(401);
      expect(((await none.json()) as { error: { message: string } }).error.message).toMatch(
        /write key is required.*\(the body could not be read: /,
      );
    }
    expect(await eventsWith(['unread-1', 'unread-2'])).toHaveLength(0);
  });

  it('decodes gzip by Content-Encoding whatever the Content-Type says', async () => {
    const body = gzipSync(
      JSON.stringify({
        batch: [{ type: 'track', anonymousId: 'anon-gz', event: 'Zipped', messageId: 'gz-1' }],
      }),
    );
    const response = await post('/v1/batch', body, {
      'content-type': 'application/x-www-form-urlencoded',
      'content-encoding': 'gzip',
    });
    expect(response.status).toBe(200);
    expect(await eventsWith(['gz-1'])).toHaveLength(1);
  });

  it('stores the valid events of a batch and keeps the invalid ones as rejected, listed in the response and the API', async () => {
    const response = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'ada', event: 'Good', messageId: 'mixed-1' },
        { type: 'track', event: 'No Id', messageId: 'mixed-2' },
        { type: 'teleport', userId: 'ada', messageId: 'mixed-3' },
        { type: 'identify', userId: 'ada', traits: 'not an object', messageId: 'mixed-4' },
      ],
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      stored: number;
      rejected: Array<{ index: number; field: string; reason: string }>;
    };
    expect(body.stored).toBe(1);
    expect(body.rejected.map((r) => [r.index, r.field])).toEqual([
      [1, 'batch[1].userId'],
      [2, 'batch[2].type'],
      [3, 'batch[3].traits'],
    ]);
    const rejected = await admin(`/api/workspaces/${world.workspaceId}/rejected-events?limit=50`);
    const ours = rejected.body.items.filter((r) => String(r.messageId).startsWith('mixed-'));
    expect(ours.map((r) => r.messageId).sort()).toEqual(['mixed-2', 'mixed-3', 'mixed-4']);
    expect(ours.find((r) => r.messageId === 'mixed-2')?.reason).toMatch(/userId or anonymousId is required/);
    expect(JSON.parse(String(ours.find((r) => r.messageId === 'mixed-3')?.payload))).toMatchObject({
      type: 'teleport',
    });
  });

  it('refuses only the calls holding text no database takes (NUL, half an emoji) or nesting too deep, naming where', async () => {
    const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    // Written by hand: JSON.stringify would write the same escapes, but this is what a client sends.
    const body = `{"batch":[
      {"type":"track","userId":"ada","event":"Fine","messageId":"nul-1"},
      {"type":"track","userId":"ada","event":"Note","messageId":"nul-2","properties":{"note":"a\\u0000b"}},
      {"type":"track","userId":"a\\u0000da","event":"Id","messageId":"nul-3"},
      {"type":"track","userId":"ada","event":"Cut","messageId":"nul-4","properties":{"title":["ok","Hi \\ud83d"]}},
      {"type":"track","userId":"ada","event":"Emoji","messageId":"nul-5","properties":{"title":"Hi \\ud83d\\ude00"}},
      {"type":"track","userId":"ada","event":"Key","messageId":"nul-6","properties":{"k\\u0000":1}},
      {"type":"track","userId":"ada","event":"Escaped","messageId":"nul-7","properties":{"path":"C:\\\\u0000"}},
      {"type":"track","userId":"ada","event":"Deep","messageId":"nul-8","properties":${nested(150)}},
      {"type":"track","userId":"ada","event":"Deep","messageId":"nul-9","properties":{"t":"\\u00e9","n":${nested(5000)}}},
      {"type":"track","userId":"ada","event":"Nested","messageId":"nul-10","properties":${nested(90)}}
    ]}`;
    const response = await post('/v1/batch', body);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as {
      stored: number;
      rejected: Array<{ index: number; field: string; reason: string }>;
    };
    expect(answer.rejected.map((r) => [r.index, r.field])).toEqual([
      [1, 'batch[1].properties.note'],
      [2, 'batch[2].userId'],
      [3, 'batch[3].properties.title[1]'],
      [5, 'batch[5].properties.k\uFFFD'],
      [7, `batch[7].properties${'.a'.repeat(55)}`],
      [8, `batch[8].properties.n${'.a'.repeat(54)}`],
    ]);
    expect(answer.rejected[0]?.reason).toContain('NUL');
    expect(answer.rejected[2]?.reason).toContain('half of a character');
    expect(answer.rejected[4]?.reason).toContain('nests deeper than 100 levels');
    expect(answer.stored).toBe(4);
    const stored = await eventsWith(['nul-1', 'nul-5', 'nul-7', 'nul-10']);
    expect(stored).toHaveLength(4);
    const rejected = await admin(`/api/workspaces/${world.workspaceId}/rejected-events?limit=50`);
    expect(
      rejected.body.items
        .filter((r) => String(r.messageId).startsWith('nul-'))
        .map((r) => r.messageId)
        .sort(),
    ).toEqual(['nul-2', 'nul-3', 'nul-4', 'nul-6', 'nul-8', 'nul-9']);
  });

  it('refuses a call nested too deep for JSON.stringify (small all the same) alone, keeping the others', async () => {
    // No messageId: one is given it, so the call is written out again rather than kept as sent.
    const deep = `${'['.repeat(12_000)}${']'.repeat(12_000)}`;
    const body = `{"batch":[
      {"type":"track","userId":"ada","event":"Fine","messageId":"deep-1"},
      {"type":"track","userId":"ada","event":"Deep","properties":{"x":${deep}}}
    ]}`;
    const response = await post('/v1/batch', body);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as {
      stored: number;
      rejected: Array<{ index: number; field: string }>;
    };
    expect(answer.stored).toBe(1);
    expect(answer.rejected).toEqual([
      expect.objectContaining({ index: 1, field: expect.stringMatching(/^batch\[1\]\.properties\.x\[0\]/) }),
    ]);
    expect(await eventsWith(['deep-1'])).toHaveLength(1);
  });

  it('refuses a number past what JSON holds, and a numeric id it would not keep exactly, naming the field', async () => {
    const body = `{"batch":[
      {"type":"identify","userId":"big-1","messageId":"big-1","traits":{"score":1e400}},
      {"type":"track","userId":9007199254740993,"event":"Id","messageId":"big-2"},
      {"type":"track","userId":42,"event":"Fine","messageId":"big-3","properties":{"total":1e300}}
    ]}`;
    const response = await post('/v1/batch', body);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as {
      stored: number;
      rejected: Array<{ index: number; field: string }>;
    };
    expect(answer.rejected.map((r) => [r.index, r.field])).toEqual([
      [0, 'batch[0].traits.score'],
      [1, 'batch[1].userId'],
    ]);
    expect(answer.stored).toBe(1);
    expect(await eventsWith(['big-3'])).toHaveLength(1);
  });

  it('refuses a number with more decimal places than a database keeps (1e-20000, a long fraction), naming the field, and keeps the rest of the batch', async () => {
    // JSON.parse reads 1e-20000 as 0; PostgreSQL refused the text as sent, failing the whole batch.
    const response = await post(
      '/v1/batch',
      `{"batch":[
        {"type":"track","userId":"ada","event":"Fine","messageId":"tiny-1","properties":{"rate":1.5e-300}},
        {"type":"track","userId":"ada","event":"Tiny","messageId":"tiny-2","properties":{"x":1e-20000}}
      ]}`,
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      stored: 1,
      rejected: [
        { index: 1, field: 'batch[1].properties.x', reason: expect.stringMatching(/decimal places/) },
      ],
    });
    expect((await eventsWith(['tiny-1', 'tiny-2'])).map((event) => event.messageId)).toEqual(['tiny-1']);

    // Written out again (the batch's context is merged in), such a number would be kept as 0: refused
    // all the same, wherever it stands, as one past what JSON holds is.
    const longFraction = `0.${'3'.repeat(16_400)}`;
    const merged = await post(
      '/v1/batch',
      `{"batch":[
        {"type":"track","userId":"ada","event":"Long","messageId":"tiny-3","properties":{"list":[1, ${longFraction}]}},
        {"type":"track","userId":"ada","event":"Context","messageId":"tiny-4"},
        {"type":"track","userId":"ada","event":"Own","messageId":"tiny-5","context":{"scale":1}},
        {"type":"track","userId":"ada","event":"All own","messageId":"tiny-5b","context":{"scale":1},"integrations":{"X":true}}
      ],"context":{"ip":"10.0.0.1","scale":{"v":-2E-16400}},"integrations":{"X":{"v":1e-20000}}}`,
    );
    expect(merged.status).toBe(200);
    const answer = (await merged.json()) as {
      stored: number;
      rejected: Array<{ index: number; field: string }>;
    };
    expect(answer.rejected.map((r) => [r.index, r.field])).toEqual([
      [0, 'batch[0].properties.list[1]'],
      [1, 'batch[1].context.scale.v'],
      [2, 'batch[2].integrations.X.v'],
    ]);
    expect(answer.stored).toBe(1);

    const single = await post(
      '/v1/track',
      '{"userId":"ada","event":"Tiny","messageId":"tiny-6","properties":{"x":1e-20000}}',
    );
    expect(single.status).toBe(400);
    expect(await single.json()).toMatchObject({ error: { code: 'invalid_input', field: 'properties.x' } });
  });

  it("merges the batch's context and integrations under each call's own, the call's winning", async () => {
    const response = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'ada', event: 'Plain', messageId: 'merge-1' },
        {
          type: 'track',
          userId: 'ada',
          event: 'Own',
          messageId: 'merge-2',
          context: { ip: '10.0.0.2' },
          integrations: { Mixpanel: true },
        },
      ],
      context: { ip: '10.0.0.1', library: { name: 'analytics-python' } },
      integrations: { All: false, Mixpanel: false },
    });
    expect(response.status).toBe(200);
    const stored = await eventsWith(['merge-1', 'merge-2']);
    const payloadOf = (messageId: string) =>
      stored.find((event) => event.messageId === messageId)?.payload as Record<string, unknown>;
    expect(payloadOf('merge-1')).toMatchObject({
      context: { ip: '10.0.0.1', library: { name: 'analytics-python' } },
      integrations: { All: false, Mixpanel: false },
    });
    expect(payloadOf('merge-2')).toMatchObject({
      context: { ip: '10.0.0.2', library: { name: 'analytics-python' } },
      integrations: { All: false, Mixpanel: true },
    });
  });

  it('refuses a timestamp naming a day that does not exist, and reads one without an offset as UTC', async () => {
    const response = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'ada', event: 'Feb', messageId: 'day-1', timestamp: '2026-02-30T10:00:00Z' },
        {
          type: 'track',
          userId: 'ada',
          event: 'Hour',
          messageId: 'day-2',
          timestamp: '2026-01-05T24:30:00Z',
        },
        {
          type: 'track',
          userId: 'ada',
          event: 'Local',
          messageId: 'day-3',
          timestamp: '2026-01-05T10:00:00',
        },
      ],
    });
    const answer = (await response.json()) as { rejected: Array<{ index: number; field: string }> };
    expect(answer.rejected.map((r) => [r.index, r.field])).toEqual([
      [0, 'batch[0].timestamp'],
      [1, 'batch[1].timestamp'],
    ]);
    const [local] = await eventsWith(['day-3']);
    expect(local?.timestamp).toBe('2026-01-05T10:00:00.000Z');
  });

  it('answers 400 naming the field for an invalid single call, and keeps it as rejected', async () => {
    const response = await post('/v1/track', { userId: 'ada', messageId: 'single-bad-1' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: 'invalid_input', message: expect.stringMatching(/event is required/), field: 'event' },
    });
    const rejected = await admin(`/api/workspaces/${world.workspaceId}/rejected-events?limit=50`);
    expect(rejected.body.items.some((r) => r.messageId === 'single-bad-1')).toBe(true);
    // Only those received in a range, when one is asked for; a bad bound is named.
    const rejectedPath = `/api/workspaces/${world.workspaceId}/rejected-events?limit=50`;
    const lastHour = await admin(`${rejectedPath}&from=${new Date(Date.now() - 3_600_000).toISOString()}`);
    expect(lastHour.body.items.some((r) => r.messageId === 'single-bad-1')).toBe(true);
    const yesterday = await admin(`${rejectedPath}&to=${new Date(Date.now() - 86_400_000).toISOString()}`);
    expect(yesterday.body.items).toEqual([]);
    const bad = await admin(`${rejectedPath}&from=yesterday`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { field: 'from' } });
  });

  it.each([
    ['malformed JSON', '{"batch": [ {"type": "track", } ]}', /malformed JSON/],
    [
      'a batch over 2,500 events',
      {
        batch: Array.from({ length: 2501 }, (_, i) => ({
          type: 'track',
          userId: 'u',
          event: 'E',
          messageId: `many-${i}`,
        })),
      },
      /2501 events, over the limit of 2500/,
    ],
    [
      'an event over 32 KB',
      {
        batch: [
          { type: 'track', userId: 'u', event: 'E', messageId: 'big-0' },
          {
            type: 'track',
            userId: 'u',
            event: 'E',
            messageId: 'big-1',
            properties: { blob: 'x'.repeat(40_000) },
          },
        ],
      },
      /batch\[1\] is \d+ KB, over the 32 KB per-event limit/,
    ],
    [
      'a batch over 500 KB',
      {
        batch: Array.from({ length: 30 }, (_, i) => ({
          type: 'track',
          userId: 'u',
          event: 'E',
          messageId: `huge-${i}`,
          properties: { blob: 'x'.repeat(20_000) },
        })),
      },
      /exceeds the 500 KB limit/,
    ],
    ['a body that is not an object', '[1, 2]', /must be a JSON object/],
    ['a batch that is not an array', { batch: { type: 'track' } }, /batch must be an array/],
  ])('refuses %s with 400 and stores nothing of it', async (_name, body, message) => {
    const response = await post('/v1/batch', body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(message);
    expect(await eventsWith(['many-0', 'big-0', 'huge-0'])).toHaveLength(0);
  });

  it.each([
    ['an empty body', '', {}, 400, 'body'],
    ['malformed JSON', '{"batch": [', {}, 400, 'body'],
    ['a body that is not the gzip it says', 'not gzip', { 'content-encoding': 'gzip' }, 400, 'body'],
    ['an encoding it cannot read', '{"batch":[]}', { 'content-encoding': 'zstd' }, 415, 'content-encoding'],
    [
      'a body past 500 KB',
      JSON.stringify({
        batch: [{ type: 'track', userId: 'u', event: 'E', properties: { pad: 'x'.repeat(600_000) } }],
      }),
      {},
      400,
      'body',
    ],
  ])('refuses %s naming what is wrong', async (_name, body, headers, status, field) => {
    const response = await post('/v1/batch', body, headers);
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error: { field } });
  });

  it('refuses a gzip body that expands past 500 KB', async () => {
    const bomb = gzipSync(
      JSON.stringify({
        batch: [{ type: 'track', userId: 'u', event: 'E', properties: { pad: 'x'.repeat(600_000) } }],
      }),
    );
    const response = await post('/v1/batch', bomb, { 'content-encoding': 'gzip' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: {
        code: 'payload_too_large',
        field: 'body',
        message: expect.stringMatching(/exceeds the 500 KB limit/),
      },
    });
  });

  it('stores a retried event once (messageId)', async () => {
    const call = { type: 'track', userId: 'ada', event: 'Retried', messageId: 'retry-1' };
    expect(await (await post('/v1/batch', { batch: [call] })).json()).toMatchObject({
      stored: 1,
      duplicates: 0,
    });
    expect(await (await post('/v1/batch', { batch: [call] })).json()).toMatchObject({
      stored: 0,
      duplicates: 1,
    });
    expect(await (await post('/v1/track', call)).json()).toMatchObject({ stored: 0, duplicates: 1 });
    expect(await eventsWith(['retry-1'])).toHaveLength(1);
  });

  it('corrects timestamps for client clock skew and records receivedAt', async () => {
    const skewedNow = new Date(Date.now() + 3_600_000);
    const happened = new Date(skewedNow.getTime() - 10_000);
    const before = Date.now();
    await post('/v1/batch', {
      sentAt: skewedNow.toISOString(),
      batch: [
        {
          type: 'track',
          userId: 'ada',
          event: 'Skewed',
          messageId: 'skew-1',
          timestamp: happened.toISOString(),
        },
      ],
    });
    const [event] = await eventsWith(['skew-1']);
    const receivedAt = Date.parse(String(event?.receivedAt));
    expect(receivedAt).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(String(event?.timestamp))).toBe(receivedAt - 10_000);
  });

  it('accepts every single-call endpoint', async () => {
    const calls: Array<[string, Record<string, unknown>]> = [
      ['identify', { userId: 'carl', traits: { name: 'Carl' } }],
      ['track', { userId: 'carl', event: 'Clicked' }],
      ['page', { userId: 'carl', name: 'Home' }],
      ['screen', { userId: 'carl', name: 'Cart' }],
      ['group', { userId: 'carl', groupId: 'acme', traits: { name: 'Acme' } }],
      ['alias', { userId: 'carl', previousId: 'carl-old' }],
    ];
    for (const [type, body] of calls) {
      const response = await post(`/v1/${type}`, { ...body, messageId: `single-${type}` });
      expect(response.status, type).toBe(200);
    }
    const stored = await eventsWith(calls.map(([type]) => `single-${type}`));
    expect(stored.map((e) => e.type).sort()).toEqual([
      'alias',
      'group',
      'identify',
      'page',
      'screen',
      'track',
    ]);
  });

  it("takes analytics.js's calls: a text/plain body on its short paths, the write key inside", async () => {
    const browserPost = (path: string, body: Record<string, unknown>) =>
      fetch(`${world.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: 'https://shop.example.com' },
        body: JSON.stringify({ ...body, writeKey: world.writeKey }),
      });
    const track = await browserPost('/v1/t', {
      type: 'track',
      anonymousId: 'browser-1',
      event: 'Product Viewed',
      messageId: 'browser-t-1',
    });
    expect(track.status).toBe(200);
    expect(track.headers.get('access-control-allow-origin')).toBe('*');
    const batch = await browserPost('/v1/b', {
      batch: [
        { type: 'page', anonymousId: 'browser-1', messageId: 'browser-b-1' },
        { type: 'identify', anonymousId: 'browser-1', userId: 'eve', messageId: 'browser-b-2' },
      ],
    });
    expect(batch.status).toBe(200);
    for (const [path, type] of [
      ['/v1/i', 'identify'],
      ['/v1/p', 'page'],
      ['/v1/s', 'screen'],
      ['/v1/g', 'group'],
      ['/v1/a', 'alias'],
    ] as const) {
      const response = await browserPost(path, {
        type,
        userId: 'eve',
        groupId: 'acme',
        previousId: 'browser-1',
        messageId: `browser-${type}`,
      });
      expect(response.status, path).toBe(200);
    }
    const stored = await eventsWith([
      'browser-t-1',
      'browser-b-1',
      'browser-b-2',
      ...['identify', 'page', 'screen', 'group', 'alias'].map((type) => `browser-${type}`),
    ]);
    expect(Object.fromEntries(stored.map((event) => [event.messageId, event.type]))).toEqual({
      'browser-t-1': 'track',
      'browser-b-1': 'page',
      'browser-b-2': 'identify',
      'browser-identify': 'identify',
      'browser-page': 'page',
      'browser-screen': 'screen',
      'browser-group': 'group',
      'browser-alias': 'alias',
    });
    // An alias is validated as its route is, and the key is never stored.
    const bad = await browserPost('/v1/t', { anonymousId: 'browser-1', messageId: 'browser-t-bad' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { field: 'event' } });
    expect(JSON.stringify(stored)).not.toContain(world.writeKey);

    const openapi = (await (await fetch(`${world.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(openapi.paths)).toContain('/v1/track');
    expect(Object.keys(openapi.paths)).not.toContain('/v1/t');
  });

  it('lets any web page send events (CORS on the ingest routes), but not call the admin API', async () => {
    const preflight = (path: string) =>
      fetch(`${world.url}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://shop.example.com',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
    for (const path of ['/v1/track', '/v1/batch', '/v1/t', '/v1/b']) {
      const response = await preflight(path);
      expect(response.status, path).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('access-control-allow-methods')).toBe('POST');
      expect(response.headers.get('access-control-allow-headers')).toBe(
        'Authorization, Content-Type, Content-Encoding',
      );
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    }
    // An error answer reaches the page too, so that the library can tell why.
    const refused = await post(
      '/v1/track',
      { userId: 'x', event: 'E' },
      {
        authorization: basicAuth('wk_nope'),
        origin: 'https://shop.example.com',
      },
    );
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');

    const adminPreflight = await preflight(`/api/workspaces/${world.workspaceId}/profiles`);
    expect(adminPreflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(adminPreflight.headers.get('access-control-allow-methods')).toBeNull();
    const adminCall = await fetch(`${world.url}/api/workspaces`, {
      headers: { authorization: `Bearer ${world.secretKey}`, origin: 'https://shop.example.com' },
    });
    expect(adminCall.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('builds profiles from the events: traits, identities, accounts and a timeline', async () => {
    await post('/v1/batch', {
      batch: [
        {
          type: 'page',
          anonymousId: 'visitor-7',
          name: 'Pricing',
          messageId: 'p7-1',
          timestamp: '2026-11-20T10:00:00Z',
        },
        {
          type: 'identify',
          anonymousId: 'visitor-7',
          userId: 'dora',
          traits: { email: 'dora@example.com', plan: 'trial' },
          messageId: 'p7-2',
          timestamp: '2026-11-20T10:01:00Z',
        },
        {
          type: 'group',
          userId: 'dora',
          groupId: 'initech',
          traits: { industry: 'software' },
          messageId: 'p7-3',
          timestamp: '2026-11-20T10:02:00Z',
        },
        {
          type: 'track',
          userId: 'dora',
          event: 'Trial Started',
          messageId: 'p7-4',
          timestamp: '2026-11-20T10:03:00Z',
        },
      ],
    });
    const found = await eventually(async () => {
      const page = await admin(`/api/workspaces/${world.workspaceId}/profiles?q=dora@example.com`);
      return page.body.items.length === 1 ? page.body.items[0] : undefined;
    });
    const profile = (await admin(`/api/workspaces/${world.workspaceId}/profiles/${found.id}`)).body;
    expect(profile).toMatchObject({ userId: 'dora', traits: { email: 'dora@example.com', plan: 'trial' } });
    expect((profile.identities as Array<{ value: string }>).map((i) => i.value).sort()).toEqual([
      'dora',
      'visitor-7',
    ]);
    expect(profile.accounts).toEqual([
      expect.objectContaining({ groupId: 'initech', traits: { industry: 'software' } }),
    ]);
    const timeline = await admin(`/api/workspaces/${world.workspaceId}/profiles/${found.id}/events?limit=3`);
    expect(timeline.body.items.map((e) => e.messageId)).toEqual(['p7-4', 'p7-3', 'p7-2']);
    const rest = await admin(
      `/api/workspaces/${world.workspaceId}/profiles/${found.id}/events?limit=3&cursor=${timeline.body.nextCursor}`,
    );
    expect(rest.body.items.map((e) => e.messageId)).toEqual(['p7-1']);
  });

  it("sets a profile's traits from an identify call that sends them only in context.traits, as RudderStack's SDKs do", async () => {
    const response = await post('/v1/identify', {
      userId: 'rudder-1',
      anonymousId: 'rudder-device-1',
      context: {
        traits: { email: 'rudder@example.com', plan: 'trial' },
        library: { name: 'RudderLabs JavaScript SDK' },
      },
      messageId: 'rudder-identify-1',
    });
    expect(response.status).toBe(200);
    const listed = await eventually(async () => {
      const page = await admin(`/api/workspaces/${world.workspaceId}/profiles?q=rudder@example.com`);
      return page.body.items[0];
    });
    const profile = (await admin(`/api/workspaces/${world.workspaceId}/profiles/${listed.id}`)).body;
    expect(profile).toMatchObject({
      userId: 'rudder-1',
      traits: { email: 'rudder@example.com', plan: 'trial' },
    });
  });

  it('answers a trait named __proto__ as stored, on the profile and in the list', async () => {
    // Written by hand: an object literal's `__proto__` would set the prototype, not a key.
    const response = await post(
      '/v1/identify',
      '{"userId":"proto-trait","traits":{"__proto__":{"plan":"gold"},"email":"proto@example.com"},"messageId":"proto-1"}',
    );
    expect(response.status).toBe(200);
    const listed = await eventually(async () => {
      const page = await admin(`/api/workspaces/${world.workspaceId}/profiles?q=proto@example.com`);
      return page.body.items[0];
    });
    const traitsOf = (profile: Record<string, unknown>) => profile.traits as Record<string, unknown>;
    expect(Object.hasOwn(traitsOf(listed), '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(traitsOf(listed), '__proto__')?.value).toEqual({ plan: 'gold' });
    const profile = (await admin(`/api/workspaces/${world.workspaceId}/profiles/${listed.id}`)).body;
    expect(Object.getOwnPropertyDescriptor(traitsOf(profile), '__proto__')?.value).toEqual({ plan: 'gold' });
    expect(traitsOf(profile).email).toBe('proto@example.com');
  });
});
