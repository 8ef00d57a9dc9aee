import { gzipSync } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiError,
  apiClient,
  type InstanceJson,
  type MailWorld,
  startMailWorld,
  unique,
} from '../test-support/api-client.js';
import { memberSessionCookie } from '../test-support/member-session.js';
import { BACKENDS, eventually } from '../test-support/world.js';

interface SegmentJson {
  id: string;
  status: string;
  version: number;
  members: number;
  backfill: { total: number; done: number; finishedAt: string | null };
}

/** The settings with one score model, `engagement`, of one rule. */
const withEngagementRule = (settings: Record<string, unknown>, rule: Record<string, unknown>) => ({
  ...settings,
  scoring: { models: [{ id: 'engagement', name: 'Engagement', rules: [rule] }] },
});

/** Segments and intent over HTTP, against a running server with its own background work. */
describe.each(BACKENDS)('segment API on %s', (backend) => {
  let mailWorld: MailWorld;
  const { api, ingest, caughtUp, metric, newProfile, publish } = apiClient(() => mailWorld);

  beforeAll(async () => {
    mailWorld = await startMailWorld(backend);
  });
  afterAll(async () => {
    await mailWorld?.close();
  });

  it('refuses text no column takes (a NUL, half a surrogate pair) and cursors no page gave, naming the field', async () => {
    const rule = { type: 'trait', path: 'plan', op: 'exists' };
    for (const [method, path, body, field] of [
      ['POST', '/segments', { name: 'a\u0000b', rule }, 'name'],
      [
        'POST',
        '/segments',
        { name: 'Cut', rule: { all: [rule, { ...rule, path: 'x\ud800' }] } },
        'rule.all.1.path',
      ],
      ['POST', '/segments/preview', { rule: { type: 'event', event: 'Sign\u0000ed Up' } }, 'rule.event'],
      ['GET', '/segments/seg_a%00b', undefined, 'segmentId'],
      ['GET', '/hand-offs?profileId=a%00b', undefined, 'profileId'],
      [
        'GET',
        `/messages?cursor=${Buffer.from(JSON.stringify('a\u0000')).toString('base64url')}`,
        undefined,
        'cursor',
      ],
      // Numbers no id or time is: PostgreSQL's bigint would refuse them.
      ['GET', `/events?cursor=${Buffer.from('1.5').toString('base64url')}`, undefined, 'cursor'],
      ['GET', `/set-aside-events?cursor=${Buffer.from('1e+300').toString('base64url')}`, undefined, 'cursor'],
      ['GET', `/rejected-events?cursor=${Buffer.from('-1.5').toString('base64url')}`, undefined, 'cursor'],
    ] as const) {
      const refused = await api<ApiError>(method, path, body);
      expect({ path, status: refused.status, field: refused.body.error?.field }).toEqual({
        path,
        status: 400,
        field,
      });
    }
    // Written as text: JSON.stringify could write neither.
    const { world } = mailWorld;
    const sendText = (path: string, body: string) =>
      fetch(`${world.url}/api/workspaces/${world.workspaceId}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${world.secretKey}`, 'content-type': 'application/json' },
        body,
      });
    // Nesting far past any rule and past what a recursive walk takes: refused naming where, before a
    // schema meets it; from a caller without a key, refused before it is read at all.
    const nested = `${'{"not":'.repeat(5000)}{"type":"trait","path":"plan","op":"exists"}${'}'.repeat(5000)}`;
    for (const [authorization, status] of [
      [`Bearer ${world.secretKey}`, 400],
      ['', 401],
    ] as const) {
      const deep = await fetch(`${world.url}/api/workspaces/${world.workspaceId}/segments/preview`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: `{"rule":${nested}}`,
      });
      expect(deep.status).toBe(status);
      const refusal = ((await deep.json()) as ApiError).error;
      expect(refusal?.message).toMatch(
        status === 400 ? /^rule(\.not)+ nests deeper than 100 levels$/ : /log in or send a secret API key/,
      );
    }
    // A number past what JSON holds is read as Infinity, and would be stored as null.
    const infinite = await sendText(
      '/segments',
      `{"name":"Infinite","rule":{"type":"trait","path":"plan","op":"eq","value":1e400}}`,
    );
    expect(infinite.status).toBe(400);
    expect(((await infinite.json()) as ApiError).error?.field).toBe('rule.value');
    // Latin-1 from an old client: refused, not stored with U+FFFD where its é was.
    const latin1 = await fetch(`${world.url}/api/workspaces/${world.workspaceId}/segments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${world.secretKey}`, 'content-type': 'application/json' },
      body: Buffer.from('{"name":"Caf\xe9 list","kind":"static"}', 'latin1'),
    });
    expect(latin1.status).toBe(400);
    expect(((await latin1.json()) as ApiError).error).toMatchObject({
      field: 'body',
      message: expect.stringContaining('not UTF-8'),
    });
    expect((await api('GET', '/segments')).body).toMatchObject({ items: [] });
  });

  it('refuses a bad rule naming the field, previews, saves and backfills with progress shown', async () => {
    const plan = unique('plan');
    const bad = await api<ApiError>('POST', '/segments', {
      name: 'Broken',
      rule: { type: 'event', event: 'Order Completed', atLeast: 3, atMost: 1 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toContain('atMost');
    // A window past ten years: refused with a reason the console words in its language.
    const tooLong = await api<ApiError>('POST', '/segments', {
      name: 'Forever',
      rule: { type: 'event', event: 'Order Completed', within: '99999d', atLeast: 1 },
    });
    expect(tooLong.body.error).toMatchObject({
      field: 'rule.within',
      issue: { code: 'refused', reason: 'duration_too_long' },
    });
    expect((await api('GET', '/segments')).body).toMatchObject({ items: [] });

    const ada = await newProfile({ plan });
    await newProfile({ plan: 'free' });
    await caughtUp();
    const rule = { type: 'trait', path: 'plan', op: 'eq', value: plan };
    const preview = await api<{ count: number; sample: Array<{ id: string; traits: { plan: string } }> }>(
      'POST',
      '/segments/preview',
      { rule },
    );
    expect(preview.body).toMatchObject({ count: 1, sample: [{ id: ada.id, traits: { plan } }] });

    const created = await api<SegmentJson>('POST', '/segments', { name: 'Planners', rule });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'backfilling', version: 1 });
    const ready = await eventually(async () => {
      const segment = (await api<SegmentJson>('GET', `/segments/${created.body.id}`)).body;
      return segment.status === 'ready' ? segment : undefined;
    });
    expect(ready).toMatchObject({ members: 1 });
    expect(ready.backfill.done).toBe(ready.backfill.total);
    const members = await api<{ items: Array<{ profileId: string; traits: Record<string, unknown> }> }>(
      'GET',
      `/segments/${created.body.id}/members`,
    );
    expect(members.body.items.map((item) => item.profileId)).toEqual([ada.id]);
    // With their traits, to tell who they are.
    expect(members.body.items[0]?.traits).toMatchObject({ plan });

    // A new matching profile joins on its identify call, and shows the segment on its page.
    const bo = await newProfile({ plan });
    const segments = await eventually(async () => {
      const page = await api<{ items: Array<{ segmentId: string; name: string }> }>(
        'GET',
        `/profiles/${bo.id}/segments`,
      );
      return page.body.items.length > 0 ? page.body.items : undefined;
    });
    expect(segments).toEqual([expect.objectContaining({ segmentId: created.body.id, name: 'Planners' })]);
  });

  it('uploads a static list as CSV and answers matched contacts, unmatched and repeated rows', async () => {
    const cy = await newProfile();
    const list = await api<SegmentJson>('POST', '/segments', { name: 'Fair visitors', kind: 'static' });
    const { world } = mailWorld;
    const response = await fetch(
      `${world.url}/api/workspaces/${world.workspaceId}/segments/${list.body.id}/members`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${world.secretKey}`, 'content-type': 'text/csv' },
        // Cy by user id, then by e-mail, then by user id again: one contact, two rows repeating it.
        body: `user_id,email\n${cy.userId},\nnobody-${cy.userId},\n,${cy.email}\n${cy.userId},\n`,
      },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      rows: 4,
      matched: 1,
      unmatched: 1,
      duplicates: 2,
      added: 1,
    });
    expect((await api<SegmentJson>('GET', `/segments/${list.body.id}`)).body.members).toBe(1);

    // Compressed, it is read as the CSV it holds; an encoding it cannot read is named.
    const dee = await newProfile();
    const upload = (body: Buffer, encoding?: string) =>
      fetch(`${world.url}/api/workspaces/${world.workspaceId}/segments/${list.body.id}/members`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${world.secretKey}`,
          'content-type': 'text/csv',
          ...(encoding ? { 'content-encoding': encoding } : {}),
        },
        body,
      });
    const gzipped = await upload(gzipSync(`user_id\n${dee.userId}\n`), 'gzip');
    expect(gzipped.status).toBe(200);
    expect(await gzipped.json()).toMatchObject({ rows: 1, matched: 1, added: 1 });
    // A gzip file sent as it is, without saying so, is read as the list it holds too.
    const unsaid = await upload(gzipSync(`user_id\n${dee.userId}\n`));
    expect(unsaid.status).toBe(200);
    expect(await unsaid.json()).toMatchObject({ rows: 1, matched: 1, added: 0 });
    const unknown = await upload(Buffer.from(`user_id\n${dee.userId}\n`), 'zstd');
    expect(unknown.status).toBe(415);
    expect(((await unknown.json()) as ApiError).error.message).toMatch(
      /Content-Encoding zstd is not supported/,
    );
  });

  it('exports a segment’s members as CSV with the traits asked for, safe to open in a spreadsheet', async () => {
    const { world } = mailWorld;
    const tag = unique('export');
    const jose = await newProfile({
      tag,
      first_name: 'José',
      phone: '+39 347 000 3333',
      company: '=HYPERLINK("http://evil.example","x")',
      address: { city: 'Milano' },
    });
    const bo = await newProfile({ tag, first_name: 'Bo', company: 'Acme, "Inc."' });
    await newProfile({ tag: 'other' });
    await caughtUp();
    const created = await api<SegmentJson>('POST', '/segments', {
      name: 'Export me — ôk',
      rule: { type: 'trait', path: 'tag', op: 'eq', value: tag },
    });
    await eventually(async () => {
      const segment = await api<SegmentJson>('GET', `/segments/${created.body.id}`);
      return segment.body.status === 'ready' && segment.body.members === 2 ? true : undefined;
    });
    const download = (query = '', authorization = `Bearer ${world.secretKey}`) =>
      fetch(`${world.url}/api/workspaces/${world.workspaceId}/segments/${created.body.id}/export${query}`, {
        headers: { authorization },
      });
    const rowsOf = async (response: Response) => {
      const bytes = Buffer.from(await response.arrayBuffer());
      // Excel reads UTF-8 only after its byte-order mark.
      expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      const rows = parseCsv(bytes, { bom: true, columns: true }) as Array<Record<string, string>>;
      return rows.sort((a, b) => (a.first_name ?? '').localeCompare(b.first_name ?? ''));
    };

    const response = await download();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="Export-me-ok.csv"');
    const rows = await rowsOf(response);
    expect(
      rows.map((row) => ({ ...row, entered_at: Number.isNaN(Date.parse(row.entered_at ?? '')) })),
    ).toEqual([
      {
        profile_id: bo.id,
        user_id: bo.userId,
        anonymous_id: '',
        entered_at: false,
        email: bo.email,
        first_name: 'Bo',
        last_name: '',
        phone: '',
        company: 'Acme, "Inc."',
      },
      {
        profile_id: jose.id,
        user_id: jose.userId,
        anonymous_id: '',
        entered_at: false,
        email: jose.email,
        first_name: 'José',
        last_name: '',
        // A phone number stays as it is: only what a spreadsheet would run is quoted.
        phone: '+39 347 000 3333',
        // A formula is shown as text, not run.
        company: `'=HYPERLINK("http://evil.example","x")`,
      },
    ]);
    const chosen = await rowsOf(await download('?traits=first_name,address,tag'));
    expect(
      chosen.map(({ first_name, address, tag: value }) => ({ first_name, address, tag: value })),
    ).toEqual([
      { first_name: 'Bo', address: '', tag },
      { first_name: 'José', address: '{"city":"Milano"}', tag },
    ]);

    const refused = await download('?traits=email,,phone');
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as ApiError).error.field).toBe('traits');
    expect((await api('GET', '/segments/seg_missing/export')).status).toBe(404);
    const cookie = await memberSessionCookie(world);
    const member = await fetch(
      `${world.url}/api/workspaces/${world.workspaceId}/segments/${created.body.id}/export`,
      { headers: { cookie } },
    );
    expect(member.status).toBe(403);
  });

  it('keeps the description of a segment changed without one, and clears it on null', async () => {
    const rule = { type: 'trait', path: 'plan', op: 'exists' };
    const created = await api<SegmentJson>('POST', '/segments', {
      name: unique('Planners'),
      description: 'Anyone on a plan',
      rule,
    });
    const description = async () =>
      (await api<{ description: string | null }>('GET', `/segments/${created.body.id}`)).body.description;
    const renamed = await api('PUT', `/segments/${created.body.id}`, { name: 'On a plan', rule });
    expect(renamed.status).toBe(200);
    expect(await description()).toBe('Anyone on a plan');
    const cleared = await api('PUT', `/segments/${created.body.id}`, {
      name: 'On a plan',
      description: null,
      rule,
    });
    expect(cleared.status).toBe(200);
    expect(await description()).toBeNull();
  });

  it('renames a segment sent without its kind, which stays what it is; a rule for a list is refused', async () => {
    const list = await api<SegmentJson>('POST', '/segments', { name: unique('Fair'), kind: 'static' });
    const renamed = await api<SegmentJson & { name: string }>('PUT', `/segments/${list.body.id}`, {
      name: 'Fair visitors 2026',
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Fair visitors 2026', kind: 'static' });
    const rule = { type: 'trait', path: 'plan', op: 'exists' };
    for (const [body, field, message] of [
      [{ name: 'With a rule', rule }, 'rule', 'a static segment has no rule'],
      [{ name: 'Live now', kind: 'live', rule }, 'kind', 'cannot become live'],
    ] as const) {
      const refused = await api<ApiError>('PUT', `/segments/${list.body.id}`, body);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ field, message: expect.stringContaining(message) });
    }
    const live = await api<SegmentJson>('POST', '/segments', { name: unique('Planners'), rule });
    const ruleless = await api<ApiError>('PUT', `/segments/${live.body.id}`, { name: 'No rule' });
    expect(ruleless.status).toBe(400);
    expect(ruleless.body.error).toMatchObject({
      field: 'rule',
      message: expect.stringContaining('needs a rule'),
    });
    expect((await api<{ name: string }>('GET', `/segments/${list.body.id}`)).body.name).toBe(
      'Fair visitors 2026',
    );
  });

  it('refuses a list that is not UTF-8 (a Latin-1 é) and adds none of its rows; reads UTF-16 with its mark', async () => {
    const eve = await newProfile();
    const fay = await newProfile();
    const list = await api<SegmentJson>('POST', '/segments', { name: unique('Fair'), kind: 'static' });
    const { world } = mailWorld;
    const upload = (body: Buffer) =>
      fetch(`${world.url}/api/workspaces/${world.workspaceId}/segments/${list.body.id}/members`, {
        method: 'POST',
        headers: { authorization: `Bearer ${world.secretKey}`, 'content-type': 'text/csv' },
        body,
      });
    // Read as UTF-8, josé would become jos\ufffd: unmatched, while the rows around it were added.
    const latin1 = await upload(Buffer.from(`user_id,name\n${eve.userId},Eve\njosé,José\n`, 'latin1'));
    expect(latin1.status).toBe(400);
    expect(((await latin1.json()) as ApiError).error).toMatchObject({
      field: 'body',
      message: expect.stringMatching(/not UTF-8 .*save it as UTF-8/),
    });
    expect((await api<SegmentJson>('GET', `/segments/${list.body.id}`)).body.members).toBe(0);
    // UTF-16 big-endian, which the CSV reader cannot decode: said so, not a header of NULs.
    const bigEndian = await upload(Buffer.from(`\ufeffuser_id\n${fay.userId}\n`, 'utf16le').swap16());
    expect(bigEndian.status).toBe(400);
    expect(((await bigEndian.json()) as ApiError).error).toMatchObject({
      field: 'body',
      message: expect.stringMatching(/UTF-16 big-endian.*save it as UTF-8/),
    });
    // As spreadsheets save "Unicode text".
    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`user_id\n${fay.userId}\n`, 'utf16le'),
    ]);
    const read = await upload(utf16);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ rows: 1, matched: 1, added: 1 });
  });

  it('ends the instances of a journey entered on a segment when the contact leaves it, where the journey asks to', async () => {
    const cartOpen = await api<SegmentJson>('POST', '/segments', {
      name: unique('Cart open'),
      rule: {
        all: [
          { type: 'event', event: 'Product Added', within: '7d' },
          { not: { type: 'event', event: 'Order Completed', within: '7d' } },
        ],
      },
    });
    await eventually(async () =>
      (await api<SegmentJson>('GET', `/segments/${cartOpen.body.id}`)).body.status === 'ready'
        ? true
        : undefined,
    );
    const cartReminder = (trigger: Record<string, unknown>) =>
      publish({
        name: unique('cart reminder'),
        entry: { trigger: { type: 'segment', segment: cartOpen.body.id, ...trigger } },
        start: 'wait',
        steps: [
          { id: 'wait', type: 'wait', duration: '1d', next: 'done' },
          { id: 'done', type: 'exit' },
        ],
      });
    const ending = await cartReminder({ exitOnSegmentExit: true });
    const staying = await cartReminder({});
    const shopper = await newProfile();
    const instancesOf = async () =>
      new Map(
        (await api<{ items: InstanceJson[] }>('GET', `/profiles/${shopper.id}/journeys`)).body.items.map(
          (instance) => [instance.journeyId, instance],
        ),
      );

    await ingest([{ type: 'track', userId: shopper.userId, event: 'Product Added' }]);
    await eventually(async () => ((await instancesOf()).size === 2 ? true : undefined));
    // A client's look-alike of the event Mops writes ends nothing.
    await ingest([
      {
        type: 'track',
        userId: shopper.userId,
        event: 'Segment Exited',
        properties: { segment_id: cartOpen.body.id },
      },
    ]);
    await caughtUp();
    expect((await instancesOf()).get(ending)).toMatchObject({ status: 'active' });
    await ingest([{ type: 'track', userId: shopper.userId, event: 'Order Completed' }]);
    await caughtUp();
    const instances = await instancesOf();
    expect(instances.get(ending)).toMatchObject({ status: 'exited', endReason: 'left the entry segment' });
    expect(instances.get(staying)).toMatchObject({ status: 'active', stepId: 'wait', endReason: null });

    // Leaving is what enters a journey on leaving: it cannot also end it.
    const refused = await api<ApiError>('POST', '/journeys', {
      definition: {
        name: unique('win back'),
        entry: {
          trigger: { type: 'segment', segment: cartOpen.body.id, on: 'exited', exitOnSegmentExit: true },
        },
        start: 'done',
        steps: [{ id: 'done', type: 'exit' }],
      },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.field).toBe('definition.entry.trigger.exitOnSegmentExit');
  });

  it('refuses to delete a segment another segment or a journey uses, naming them', async () => {
    const base = await api<SegmentJson>('POST', '/segments', {
      name: 'Planned',
      rule: { type: 'trait', path: 'plan', op: 'exists' },
    });
    const derived = await api<SegmentJson>('POST', '/segments', {
      name: 'Derived from planned',
      rule: { type: 'segment', segment: base.body.id },
    });
    const journeyName = unique('welcome-planned');
    const journeyId = await publish({
      name: journeyName,
      entry: { trigger: { type: 'segment', segment: base.body.id } },
      start: 'done',
      steps: [{ id: 'done', type: 'exit' }],
    });
    const refused = await api<ApiError>('DELETE', `/segments/${base.body.id}`);
    expect(refused.status).toBe(409);
    // Named as the console shows them, not by id.
    expect(refused.body.error.message).toBe(
      `the segment "Planned" is used by the segment "Derived from planned" and the journey "${journeyName}": change those first`,
    );

    expect((await api('DELETE', `/segments/${derived.body.id}`)).status).toBe(204);
    const stillUsed = await api<ApiError>('DELETE', `/segments/${base.body.id}`);
    expect(stillUsed.status).toBe(409);
    expect(stillUsed.body.error.message).toContain(journeyName);
    expect((await api('GET', `/segments/${base.body.id}`)).status).toBe(200);

    // An archived journey enters no one: the segment can go.
    expect((await api('POST', `/journeys/${journeyId}/archive`)).status).toBe(200);
    expect((await api('DELETE', `/segments/${base.body.id}`)).status).toBe(204);
    expect((await api('GET', `/segments/${base.body.id}`)).status).toBe(404);

    // A segment that does not exist is not found, though a draft names it.
    const draft = await api('POST', '/journeys', {
      definition: {
        name: unique('draft-naming-nothing'),
        entry: { trigger: { type: 'segment', segment: 'seg_nope' } },
        start: 'done',
        steps: [{ id: 'done', type: 'exit' }],
      },
    });
    expect(draft.status).toBe(201);
    expect((await api('DELETE', '/segments/seg_nope')).status).toBe(404);
  });

  it('refuses a rule whose in lists hold over 5,000 values in all, naming the rule', async () => {
    const postcodes = (count: number, from = 0) =>
      Array.from({ length: count }, (_, i) => String(10_000 + from + i).padStart(5, '0'));
    const postcodeIn = (values: string[]) => ({ type: 'trait', path: 'postcode', op: 'in', value: values });
    const ordersFrom = (values: string[]) => ({
      type: 'event',
      event: 'Order Completed',
      where: [{ path: 'postcode', op: 'in', value: values }],
    });
    const tooMany = [
      postcodeIn(postcodes(5001)),
      { any: [postcodeIn(postcodes(2500)), { not: postcodeIn(postcodes(2501, 2500)) }] },
      { all: [postcodeIn(postcodes(4000)), ordersFrom(postcodes(1001, 4000))] },
    ];
    const rule = { type: 'trait', path: 'plan', op: 'exists' };
    const live = await api<SegmentJson>('POST', '/segments', { name: unique('Postcodes'), rule });
    for (const refusedRule of tooMany) {
      for (const [method, path] of [
        ['POST', '/segments'],
        ['PUT', `/segments/${live.body.id}`],
        ['POST', '/segments/preview'],
      ] as const) {
        const refused = await api<ApiError>(method, path, { name: 'Postcodes', rule: refusedRule });
        expect({ path, status: refused.status }).toEqual({ path, status: 400 });
        expect(refused.body.error).toMatchObject({
          field: 'rule',
          message: expect.stringContaining('at most 5000 values'),
        });
      }
    }
    const fiveThousand = { all: [postcodeIn(postcodes(4000)), ordersFrom(postcodes(1000, 4000))] };
    expect((await api('POST', '/segments/preview', { rule: fiveThousand })).status).toBe(200);
    expect(
      (await api('PUT', `/segments/${live.body.id}`, { name: 'Postcodes', rule: fiveThousand })).status,
    ).toBe(200);
  });

  it('refuses rules and settings no server could hold, with a 400 naming the field', async () => {
    let deep: unknown = { type: 'trait', path: 'plan', op: 'exists' };
    for (let level = 0; level < 40; level++) deep = { not: deep };
    const nested = await api<ApiError>('POST', '/segments/preview', { rule: deep });
    expect(nested.status).toBe(400);
    expect(nested.body.error.message).toContain('nest at most 20');
    // A rule of a thousand conditions would hold the server up for every profile it is decided for.
    const leaf = (i: number) => ({ type: 'trait', path: 'email', op: 'contains', value: `q${i}` });
    const many = {
      any: Array.from({ length: 10 }, (_, i) => ({
        any: Array.from({ length: 11 }, (_, j) => leaf(i * 11 + j)),
      })),
    };
    for (const path of ['/segments', '/segments/preview']) {
      const refused = await api<ApiError>('POST', path, { name: 'Everyone', rule: many });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({
        field: 'rule',
        message: expect.stringContaining('at most 100 conditions'),
      });
    }
    const hundred = {
      any: many.any
        .slice(0, 9)
        .map((group) => ({ any: group.any.slice(0, 11) }))
        .concat({ any: many.any[9]?.any.slice(0, 1) ?? [] }),
    };
    expect((await api('POST', '/segments/preview', { rule: hundred })).status).toBe(200);

    const century = { type: 'trait', path: 'signed_up_at', op: 'within_last', value: '100000000000w' };
    for (const path of ['/segments', '/segments/preview']) {
      const refused = await api<ApiError>('POST', path, { name: 'Ever', rule: century });
      expect(refused.status).toBe(400);
      expect(refused.body.error.field).toContain('value');
    }
    const window = await api<ApiError>('POST', '/segments/preview', {
      rule: { type: 'event', event: 'Order Completed', within: '9999999d', atLeast: 1 },
    });
    expect(window.status).toBe(400);
    expect(window.body.error.field).toContain('within');
    // A misspelt key of the segment itself too.
    const rules = await api<ApiError>('POST', '/segments', { name: 'Ever', rules: century });
    expect(rules.status).toBe(400);
    expect(rules.body.error).toMatchObject({ field: 'rules', message: 'rules: is not a known field' });
    const saved = (await api<{ items: Array<{ name: string }> }>('GET', '/segments')).body.items;
    expect(saved.map((segment) => segment.name)).not.toContain('Ever');

    const settings = (await api<Record<string, unknown>>('GET', '/settings')).body;
    const slow = await api<ApiError>('PUT', '/settings', {
      ...settings,
      lifecycle: {
        stages: ['lead', 'mql'],
        rules: [],
      },
      handOff: {
        stage: 'mql',
        owners: [{ id: 'sam', name: 'Sam', email: 'sam@example.com' }],
        acceptWithin: '20000000w',
      },
    });
    expect(slow.status).toBe(400);
    expect(slow.body.error.field).toContain('acceptWithin');

    // A misspelt key is refused rather than dropped: `half_life` would quietly take decay away.
    const misspelt = await api<ApiError>(
      'PUT',
      '/settings',
      withEngagementRule(settings, {
        id: 'visit',
        kind: 'event',
        event: 'Pricing Viewed',
        points: 5,
        half_life: '7d',
      }),
    );
    expect(misspelt.status).toBe(400);
    expect(misspelt.body.error).toMatchObject({
      field: 'scoring.models.0.rules.0.half_life',
      message: 'scoring.models.0.rules.0.half_life: is not a known field',
    });
    expect((await api<Record<string, unknown>>('GET', '/settings')).body).toEqual(settings);

    const bucket = await api<ApiError>('GET', '/scoring/models/engagement/distribution?bucket=5e-324');
    expect(bucket.status).toBe(400);
    expect(bucket.body.error.field).toContain('bucket');
  });

  it('names the field of a mistake deep in a rule, refusing misspelt keys and rules that could never hold', async () => {
    const refusals: Array<[unknown, string, string]> = [
      [
        {
          all: [
            { type: 'trait', path: 'plan', op: 'exists' },
            { type: 'trait', path: 'a', op: 'equals' },
          ],
        },
        'rule.all.1.op',
        'expected one of',
      ],
      [{ any: [{ not: { type: 'evnt', event: 'x' } }] }, 'rule.any.0.not.type', "Expected 'trait'"],
      // Misspelt, not silently dropped (this would have been "ever, at least once").
      [{ type: 'event', event: 'Order Completed', window: '30d', atleast: 3 }, 'rule.window', 'not a known'],
      [{ type: 'event', event: 'Order Completed', within: '0d' }, 'rule.within', 'longer than 0'],
      [
        { type: 'event_time', event: 'Order Completed', which: 'first', op: 'before', value: 'March 5' },
        'rule.value',
        'ISO date',
      ],
      [
        {
          type: 'event_time',
          event: 'Order Completed',
          which: 'last',
          op: 'after',
          value: '2026-03-01T09:00',
        },
        'rule.value',
        'offset',
      ],
      // A day that does not exist, not rolled over into March.
      [
        { type: 'event_time', event: 'Order Completed', which: 'last', op: 'before', value: '2026-02-30' },
        'rule.value',
        'ISO date',
      ],
      [{ type: 'score', model: 'engagement', min: 50, max: 10 }, 'rule.max', 'below min'],
      [{ type: 'subscription', topic: 'newsletter', subscribed: true }, 'rule.topic', 'no topic newsletter'],
      [
        {
          all: [
            { type: 'trait', path: 'plan', op: 'exists' },
            { type: 'segment', segment: 'seg_nope', is: 'in' },
          ],
        },
        'rule.all.1.segment',
        'segment seg_nope does not exist',
      ],
      // Nothing to order by: no trait is ever "more than" a word, an object or a day that does not exist.
      [{ type: 'trait', path: 'plan', op: 'gt', value: 'pro' }, 'rule.value', 'a number or an ISO date'],
      [{ type: 'account_trait', path: 'size', op: 'lte', value: { max: 50 } }, 'rule.value', 'a number'],
      [{ type: 'trait', path: 'renews_on', op: 'gte', value: '2026-02-30' }, 'rule.value', 'ISO date'],
      // Nor a code that only looks like a number: a postcode with its leading zero.
      [{ type: 'trait', path: 'zip', op: 'gte', value: '00100' }, 'rule.value', 'is a code, not a number'],
      [
        { type: 'event', event: 'Order Completed', where: [{ path: 'total', op: 'lt', value: true }] },
        'rule.where.0.value',
        'a number',
      ],
      // In none of no choices.
      [{ type: 'trait', path: 'country', op: 'in', value: [] }, 'rule.value', 'at least one'],
      // A path with an empty part (`a..b`) names nothing a profile can hold.
      [{ type: 'trait', path: 'address..city', op: 'exists' }, 'rule.path', 'empty part'],
    ];
    for (const [rule, field, message] of refusals) {
      const refused = await api<ApiError>('POST', '/segments/preview', { rule });
      expect(refused.status, field).toBe(400);
      expect(refused.body.error).toMatchObject({ field, message: expect.stringContaining(message) });
      const saved = await api<ApiError>('POST', '/segments', { name: unique('Never'), rule });
      expect({ field, status: saved.status }).toEqual({ field, status: 400 });
    }
    for (const rule of [
      { type: 'event_time', event: 'Order Completed', which: 'last', op: 'after', value: '2026-03-01' },
      { type: 'trait', path: 'seats', op: 'gte', value: '10' },
      { type: 'trait', path: 'ratio', op: 'lt', value: '0.5' },
      { type: 'trait', path: 'signed_up_at', op: 'lt', value: '2026-03-01T09:00' },
      { type: 'trait', path: 'country', op: 'in', value: ['IT'] },
    ]) {
      const accepted = await api('POST', '/segments/preview', { rule });
      expect(accepted.status).toBe(200);
    }

    const settings = (await api<Record<string, unknown>>('GET', '/settings')).body;
    const instant = await api<ApiError>(
      'PUT',
      '/settings',
      withEngagementRule(settings, {
        id: 'seen',
        kind: 'event',
        event: 'Page Viewed',
        points: 1,
        halfLife: '0d',
      }),
    );
    expect(instant.status).toBe(400);
    expect(instant.body.error).toMatchObject({
      field: 'scoring.models.0.rules.0.halfLife',
      message: expect.stringContaining('at least 1m'),
    });
    // A cap over nothing caps nothing; an SLA of nothing is missed at once; one topic id names one topic.
    const topics = settings.topics as Array<{ id: string; name: string }>;
    for (const [patch, field] of [
      [{ frequencyCaps: { email: [{ max: 1, period: '0d' }], sms: [] } }, 'frequencyCaps.email.0.period'],
      [{ topics: [...topics, { ...topics[0], name: 'Again' }] }, `topics.${topics.length}.id`],
    ] as const) {
      const refused = await api<ApiError>('PUT', '/settings', { ...settings, ...patch });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ field });
    }
    expect((await api<Record<string, unknown>>('GET', '/settings')).body.topics).toEqual(topics);
  });

  it('refuses fit, filter and assignment conditions that could never hold when settings are saved; one stored before still reads and saves', async () => {
    const settings = (await api<Record<string, unknown>>('GET', '/settings')).body;
    const visit = { id: 'visit', kind: 'event', event: 'Pricing Viewed', points: 1 };
    const size = { type: 'account_trait', path: 'employees', op: 'gte', value: 50 };
    const valid = {
      ...settings,
      scoring: {
        models: [
          { id: 'fit', name: 'Fit', rules: [visit, { id: 'size', kind: 'fit', when: size, points: 20 }] },
        ],
      },
      lifecycle: {
        stages: ['lead', 'mql', 'sql'],
        rules: [
          {
            kind: 'event',
            to: 'mql',
            event: 'Demo Requested',
            where: [{ path: 'seats', op: 'gte', value: 10 }],
          },
        ],
        recycleTo: 'lead',
      },
      handOff: {
        stage: 'mql',
        owners: [{ id: 'sam', name: 'Sam', email: 'sam@example.com' }],
        assignment: [{ when: { type: 'trait', path: 'country', op: 'in', value: ['IT'] }, owner: 'sam' }],
      },
    };
    const withFit = (when: Record<string, unknown>) => ({
      models: [{ id: 'fit', name: 'Fit', rules: [visit, { id: 'size', kind: 'fit', when, points: 20 }] }],
    });
    const refusals: Array<[Record<string, unknown>, string, string]> = [
      // No trait is ever "more than" a word.
      [
        { scoring: withFit({ type: 'trait', path: 'plan', op: 'gt', value: 'pro' }) },
        'scoring.models.0.rules.1.when.value',
        'a number or an ISO date',
      ],
      [
        {
          scoring: {
            models: [
              {
                id: 'fit',
                name: 'Fit',
                rules: [{ ...visit, where: [{ path: 'plan', op: 'in', value: [] }] }],
              },
            ],
          },
        },
        'scoring.models.0.rules.0.where.0.value',
        'at least one',
      ],
      [
        {
          lifecycle: {
            ...valid.lifecycle,
            rules: [
              {
                kind: 'event',
                to: 'mql',
                event: 'Demo Requested',
                where: [{ path: 'plan..tier', op: 'exists' }],
              },
            ],
          },
        },
        'lifecycle.rules.0.where.0.path',
        'empty part',
      ],
      [
        {
          handOff: {
            ...valid.handOff,
            assignment: [{ when: { ...size, op: 'lte', value: { max: 50 } }, owner: 'sam' }],
          },
        },
        'handOff.assignment.0.when.value',
        'a number or an ISO date',
      ],
    ];
    // PATCH with the intent sections alone (the others as stored), PUT with the whole settings.
    const { scoring, lifecycle, handOff } = valid;
    for (const [change, field, message] of refusals)
      for (const method of ['PUT', 'PATCH']) {
        const refused = await api<ApiError>(method, '/settings', {
          ...(method === 'PUT' ? valid : { scoring, lifecycle, handOff }),
          ...change,
        });
        expect({ field, method, status: refused.status }).toEqual({ field, method, status: 400 });
        expect(refused.body.error).toMatchObject({ field, message: expect.stringContaining(message) });
      }
    expect((await api('GET', '/settings')).body).toEqual(settings);

    const saved = await api<Record<string, unknown>>('PUT', '/settings', valid);
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ scoring: valid.scoring, handOff: valid.handOff });

    // Stored before this check, as no save now would store it: it still reads, and the rest still saves.
    const { storage } = mailWorld.world.mops;
    const workspaceId = mailWorld.world.workspaceId;
    const stored = await storage.settings.get(workspaceId);
    const never = { type: 'trait', path: 'plan', op: 'gt', value: 'pro' } as const;
    await storage.settings.put(
      workspaceId,
      { ...stored, scoring: withFit(never) as typeof stored.scoring },
      Date.now(),
    );
    const legacy = await api<Record<string, unknown>>('GET', '/settings');
    expect(legacy.status).toBe(200);
    expect(legacy.body.scoring).toMatchObject(withFit(never));
    const definitions = await api<{ models: unknown[] }>('GET', '/scoring/definitions');
    expect(definitions.status).toBe(200);
    expect(definitions.body).toMatchObject(withFit(never));
    expect((await api('PUT', '/settings', { ...legacy.body, timezone: 'Europe/Rome' })).status).toBe(200);
    expect((await api('PATCH', '/settings', { timezone: 'UTC' })).status).toBe(200);
    // Another such condition is refused all the same.
    const another = await api<ApiError>('PUT', '/settings', {
      ...legacy.body,
      handOff: refusals[3]?.[0].handOff,
    });
    expect(another.body.error).toMatchObject({ field: 'handOff.assignment.0.when.value' });

    expect((await api('PUT', '/settings', settings)).status).toBe(200);
  });

  it('takes a profile out of a subscription segment when an admin unsubscribes it, and says so on its timeline', async () => {
    const plan = unique('plan');
    const ada = await newProfile({ plan });
    await caughtUp();
    const created = await api<SegmentJson>('POST', '/segments', {
      name: unique('Subscribers'),
      rule: {
        all: [
          { type: 'trait', path: 'plan', op: 'eq', value: plan },
          { type: 'subscription', topic: 'marketing', subscribed: true },
        ],
      },
    });
    const membersOf = async () => (await api<SegmentJson>('GET', `/segments/${created.body.id}`)).body;
    expect(
      await eventually(async () => ((await membersOf()).status === 'ready' ? membersOf() : undefined)),
    ).toMatchObject({ members: 1 });

    // A journey follows the change: Subscriptions Changed is an ordinary event, not a look-alike of Mops's own.
    const followUp = await publish({
      name: unique('Unsubscribed'),
      entry: { trigger: { type: 'event', event: 'Subscriptions Changed' } },
      start: 'tag',
      steps: [
        { id: 'tag', type: 'update_traits', set: { asked_why: true }, next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    const put = await api('PUT', `/profiles/${ada.id}/subscriptions`, { topics: { marketing: false } });
    expect(put.status).toBe(204);
    await eventually(async () => {
      const report = await api<{ entered: number }>('GET', `/journeys/${followUp}/report`);
      return report.body.entered === 1 ? true : undefined;
    });
    await eventually(async () => ((await membersOf()).members === 0 ? true : undefined));
    const timeline = await eventually(async () => {
      const page = await api<{ items: Array<{ name: string | null; properties?: unknown }> }>(
        'GET',
        `/profiles/${ada.id}/events`,
      );
      const names = page.body.items.map((event) => event.name);
      return names.includes('Segment Exited') ? names : undefined;
    });
    expect(timeline).toContain('Subscriptions Changed');
  });

  it('keeps a contact who left a topic on e-mail in the segment of those who take its texts', async () => {
    const plan = unique('plan');
    const ada = await newProfile({ plan });
    await caughtUp();
    const segmentOn = async (channel: 'email' | 'sms') =>
      (
        await api<SegmentJson>('POST', '/segments', {
          name: unique(`Marketing ${channel}`),
          rule: {
            all: [
              { type: 'trait', path: 'plan', op: 'eq', value: plan },
              { type: 'subscription', topic: 'marketing', channel },
            ],
          },
        })
      ).body.id;
    const [byEmail, byText] = [await segmentOn('email'), await segmentOn('sms')];
    const membersOf = async (id: string) => {
      const segment = (await api<SegmentJson>('GET', `/segments/${id}`)).body;
      return segment.status === 'ready' ? segment.members : undefined;
    };
    expect(await eventually(() => membersOf(byEmail))).toBe(1);
    expect(await eventually(() => membersOf(byText))).toBe(1);

    const put = await api('PUT', `/profiles/${ada.id}/subscriptions`, {
      channels: { email: { marketing: false } },
    });
    expect(put.status).toBe(204);
    await eventually(async () => ((await membersOf(byEmail)) === 0 ? true : undefined));
    expect(await membersOf(byText)).toBe(1);
  });

  it('recycles a lead with no body sent, and keeps the order of the stages profiles are at', async () => {
    const settings = (await api<Record<string, unknown>>('GET', '/settings')).body;
    const lifecycle = {
      stages: ['subscriber', 'lead', 'mql', 'sql'],
      rules: [
        { kind: 'event', to: 'mql', event: 'Demo Requested' },
        { kind: 'event', to: 'sql', event: 'Sales Accepted' },
      ],
      recycleTo: 'lead',
    };
    expect((await api('PUT', '/settings', { ...settings, lifecycle })).status).toBe(200);
    const [lead, won] = [await newProfile(), await newProfile()];
    await ingest([
      { type: 'track', userId: lead.userId, event: 'Demo Requested' },
      { type: 'track', userId: won.userId, event: 'Sales Accepted' },
    ]);
    await caughtUp();

    const recycled = await api<{ from: string; to: string }>(
      'POST',
      `/profiles/${lead.id}/lifecycle/recycle`,
    );
    expect(recycled).toEqual({ status: 200, body: { from: 'mql', to: 'lead' } });

    // Profiles are at lead and sql. A stage the one at sql has passed (lead, or mql, nobody's now) put
    // after sql would move it "forward" back there, and hand it to sales again.
    for (const [stages, message, passed] of [
      [['subscriber', 'sql', 'mql', 'lead'], 'profiles at sql have passed lead, mql', 'lead, mql'],
      [['subscriber', 'lead', 'sql', 'mql'], 'profiles at sql have passed mql', 'mql'],
    ] as const) {
      const reordered = await api<ApiError>('PUT', '/settings', {
        ...settings,
        lifecycle: { ...lifecycle, stages },
      });
      expect(reordered.status).toBe(400);
      expect(reordered.body.error).toMatchObject({
        field: 'lifecycle.stages',
        message: expect.stringContaining(message),
        // Named for the console to word in the user's language.
        issue: { code: 'refused', reason: 'stages_held_keep_order', params: { stage: 'sql', passed } },
      });
    }
    // Nor can a stage someone is at go from the list.
    const dropped = await api<ApiError>('PUT', '/settings', {
      ...settings,
      lifecycle: { ...lifecycle, stages: ['subscriber', 'lead', 'mql'], rules: lifecycle.rules.slice(0, 1) },
    });
    expect(dropped).toMatchObject({
      status: 400,
      body: {
        error: {
          field: 'lifecycle.stages',
          message: 'lifecycle.stages: profiles are at sql, which the list must keep',
          issue: { code: 'refused', reason: 'stages_held_keep_stages', params: { stages: 'sql' } },
        },
      },
    });
    // Nor can the lifecycle go, to come back in another order: it would have no earlier order to keep.
    const { lifecycle: _kept, ...withoutLifecycle } = settings;
    const removed = await api<ApiError>('PUT', '/settings', withoutLifecycle);
    expect(removed.status).toBe(400);
    expect(removed.body.error).toMatchObject({
      field: 'lifecycle',
      message: expect.stringMatching(/profiles are at (lead, sql|sql, lead), so the lifecycle must stay/),
      issue: {
        code: 'refused',
        reason: 'stages_held_keep_lifecycle',
        params: { stages: expect.stringMatching(/^(lead, sql|sql, lead)$/) },
      },
    });
    // Settings an older version saved without their lifecycle, stages held all the same, stay savable.
    const { storage } = mailWorld.world.mops;
    const workspaceId = mailWorld.world.workspaceId;
    const { lifecycle: _stored, ...storedWithout } = await storage.settings.get(workspaceId);
    await storage.settings.put(workspaceId, storedWithout, Date.now());
    const legacy = (await api<Record<string, unknown>>('GET', '/settings')).body;
    expect((await api('PUT', '/settings', { ...legacy, timezone: 'Europe/Rome' })).status).toBe(200);
    expect((await api('PUT', '/settings', { ...legacy, lifecycle })).status).toBe(200);
    // A stage after all those profiles are at may move, and new ones come in anywhere.
    const widened = await api('PUT', '/settings', {
      ...settings,
      lifecycle: { ...lifecycle, stages: ['subscriber', 'onboarding', 'lead', 'mql', 'opportunity', 'sql'] },
    });
    expect(widened.status).toBe(200);
  });

  it('lists a hand-off a purchase took past the stage with nothing to accept it by', async () => {
    const settings = (await api<Record<string, unknown>>('GET', '/settings')).body;
    const saved = await api('PUT', '/settings', {
      ...settings,
      lifecycle: {
        stages: ['lead', 'mql', 'sql', 'customer'],
        rules: [
          { kind: 'event', to: 'mql', event: 'Demo Requested' },
          { kind: 'event', to: 'customer', event: 'Order Completed' },
        ],
        recycleTo: 'lead',
      },
      handOff: { stage: 'mql', owners: [{ id: 'sam', name: 'Sam', email: 'sam@example.com' }] },
    });
    expect(saved.status).toBe(200);
    const handOffs = (status: string) => metric(`mops_hand_offs{status="${status}"}`);
    const [passedBefore, pendingBefore] = [await handOffs('passed'), await handOffs('pending')];
    const [buyer, lead] = [await newProfile(), await newProfile()];
    await ingest([
      { type: 'track', userId: buyer.userId, event: 'Order Completed' },
      { type: 'track', userId: lead.userId, event: 'Demo Requested' },
    ]);
    await caughtUp();

    type HandOffPage = { items: Array<{ profileId: string; status: string; acceptBy: string | null }> };
    const passed = await api<HandOffPage>('GET', '/hand-offs?status=passed');
    expect(passed.body.items).toEqual([
      expect.objectContaining({ profileId: buyer.id, owner: 'sam', acceptBy: null }),
    ]);
    const pending = await api<HandOffPage>('GET', `/hand-offs?profileId=${lead.id}`);
    expect(pending.body.items).toEqual([
      expect.objectContaining({ status: 'pending', acceptBy: expect.any(String) }),
    ]);
    const intent = await api<{ stage: string; handOffs: HandOffPage['items'] }>(
      'GET',
      `/profiles/${buyer.id}/intent`,
    );
    expect(intent.body).toMatchObject({
      stage: 'customer',
      handOffs: [{ status: 'passed', acceptBy: null }],
    });
    expect([await handOffs('passed'), await handOffs('pending')]).toEqual([
      passedBefore + 1,
      pendingBefore + 1,
    ]);
  });

  it('applies a score model to past events over HTTP, showing how far it has got', async () => {
    const attendee = await newProfile();
    const webinar = unique('Webinar Attended');
    await ingest([
      { type: 'track', userId: attendee.userId, event: webinar },
      { type: 'track', userId: attendee.userId, event: webinar },
    ]);
    await caughtUp();
    const settings = (await api<Record<string, unknown>>('GET', '/settings')).body;
    const rule = { id: 'webinar', kind: 'event', event: webinar, points: 7 };
    expect((await api('PUT', '/settings', withEngagementRule(settings, rule))).status).toBe(200);

    const badSince = await api<ApiError>('POST', '/scoring/models/engagement/replays', {
      since: 'last week',
    });
    expect(badSince.status).toBe(400);
    expect(badSince.body.error.field).toBe('since');
    const future = await api<ApiError>('POST', '/scoring/models/engagement/replays', {
      since: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect(future.status).toBe(400);
    expect(future.body.error.field).toBe('since');
    const unknown = await api<ApiError>('POST', '/scoring/models/nothing-like-it/replays', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.field).toBe('model');
    // Nor are a misspelt model's replays an empty list: there is no such model to have any.
    const unknownListed = await api<ApiError>('GET', '/scoring/models/nothing-like-it/replays');
    expect(unknownListed.status).toBe(404);
    expect(unknownListed.body.error.field).toBe('model');

    type Replay = { id: string; status: string; profilesScored: number; awards: number; points: number };
    const started = await api<Replay>('POST', '/scoring/models/engagement/replays', { since: '30d' });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: 'running', since: expect.any(String) });
    const done = await eventually(async () => {
      const replay = await api<Replay>('GET', `/scoring/replays/${started.body.id}`);
      return replay.body.status === 'done' ? replay.body : undefined;
    }, 20_000);
    expect(done).toMatchObject({ profilesScored: 1, awards: 2, points: 14 });
    const finished = await api<ApiError>('POST', `/scoring/replays/${started.body.id}/cancel`);
    expect(finished.status).toBe(409);
    expect(finished.body.error.field).toBe('replayId');
    expect((await api<ApiError>('POST', '/scoring/replays/srp_nothing/cancel')).status).toBe(404);
    const listed = await api<{ items: Replay[] }>('GET', '/scoring/models/engagement/replays');
    expect(listed.body.items[0]).toMatchObject({ id: started.body.id, status: 'done' });
    const intent = await api<{ scores: Array<{ model: string; score: number }> }>(
      'GET',
      `/profiles/${attendee.id}/intent`,
    );
    expect(intent.body.scores).toEqual([expect.objectContaining({ model: 'engagement', score: 14 })]);
  });

  it('takes a contact out of an account over HTTP', async () => {
    const contact = await newProfile();
    const groupId = unique('initech');
    await ingest([{ type: 'group', userId: contact.userId, groupId, traits: { name: 'Initech' } }]);
    await caughtUp();
    const details = await api<{ accounts: Array<{ id: string }> }>('GET', `/profiles/${contact.id}`);
    const [account] = details.body.accounts;
    const path = `/profiles/${contact.id}/accounts/${account?.id}`;
    expect((await api('DELETE', path)).status).toBe(204);
    expect((await api<{ accounts: unknown[] }>('GET', `/profiles/${contact.id}`)).body.accounts).toEqual([]);
    const again = await api<ApiError>('DELETE', path);
    expect(again.status).toBe(404);
    expect(again.body.error.field).toBe('accountId');
  });

  it('explains a profile’s score from its ledger over HTTP', async () => {
    const settings = (await api<Record<string, unknown>>('GET', '/settings')).body;
    const saved = await api(
      'PUT',
      '/settings',
      withEngagementRule(settings, { id: 'visit', kind: 'event', event: 'Pricing Viewed', points: 5 }),
    );
    expect(saved.status).toBe(200);
    const di = await newProfile();
    const groupId = unique('acme');
    await ingest([
      { type: 'track', userId: di.userId, event: 'Pricing Viewed' },
      { type: 'track', userId: di.userId, event: 'Pricing Viewed' },
      { type: 'group', userId: di.userId, groupId, traits: { name: 'Acme' } },
    ]);
    await caughtUp();
    const intent = await api<{ scores: Array<{ model: string; score: number; awards: unknown[] }> }>(
      'GET',
      `/profiles/${di.id}/intent`,
    );
    expect(intent.body.scores).toEqual([expect.objectContaining({ model: 'engagement', score: 10 })]);
    expect(intent.body.scores[0]?.awards).toHaveLength(2);

    const profile = await api<{ accounts: Array<{ id: string; groupId: string }> }>(
      'GET',
      `/profiles/${di.id}`,
    );
    const account = profile.body.accounts.find((candidate) => candidate.groupId === groupId);
    const scores = await api<{ items: unknown[] }>('GET', `/accounts/${account?.id}/scores`);
    expect(scores.body.items).toEqual([
      { model: 'engagement', total: 10, average: 10, max: 10, contacts: 1 },
    ]);
    expect((await api('GET', `/accounts/${groupId}/scores`)).body).toEqual(scores.body);
    const unknown = await api<ApiError>('GET', '/accounts/no-such-account/scores');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ field: 'accountId' });
  });
});
