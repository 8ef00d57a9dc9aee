import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberSessionCookie } from '../test-support/member-session.js';
import { BACKENDS, eventually, startTestWorld, type TestWorld } from '../test-support/world.js';

interface ApiError {
  error: { code: string; message: string; field?: string };
}
interface ImportSummary {
  rows: number;
  stored: number;
  duplicates: number;
  rejected: number;
  rejectedRows: Array<{ line: number; reason: string }>;
}

/** A trade-show list as an Italian Excel saves it: semicolons, a decimal comma, a note column. */
const TRADE_SHOW_LIST = [
  'E-mail;First Name;Mobile;Employees;Revenue;Notes',
  'giulia@example.com;Giulia;3471234567;250;"1,5";met at the booth',
  'marco@example.com;Marco;;40;;',
  ';Nobody;3470000000;1;;no address',
  'extra@example.com;Extra;1;2;3;4;5',
  '',
].join('\r\n');

describe.each(BACKENDS)('contact import API on %s', (backend) => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await startTestWorld(backend);
  });
  afterAll(async () => {
    await world?.close();
  });

  const post = async <T>(path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${world.url}/api/workspaces/${world.workspaceId}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${world.secretKey}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  };
  const traitsOf = async (email: string) =>
    eventually(async () => {
      const response = await fetch(
        `${world.url}/api/workspaces/${world.workspaceId}/profiles?q=${encodeURIComponent(email)}`,
        { headers: { authorization: `Bearer ${world.secretKey}` } },
      );
      const page = (await response.json()) as { items: Array<{ traits: Record<string, unknown> }> };
      return page.items[0]?.traits;
    });
  const profileCount = async () =>
    (await world.mops.storage.profiles.list(world.workspaceId, { limit: 1000 })).items.length;

  it('reads a file’s columns with a few values each, suggests traits and the column naming each contact', async () => {
    const preview = await post('/profiles/import/preview', { csv: TRADE_SHOW_LIST });
    expect(preview.status).toBe(200);
    expect(preview.body).toEqual({
      rows: 4,
      idColumn: 'E-mail',
      columns: [
        {
          name: 'E-mail',
          trait: 'email',
          samples: ['giulia@example.com', 'marco@example.com', 'extra@example.com'],
        },
        { name: 'First Name', trait: 'first_name', samples: ['Giulia', 'Marco', 'Nobody'] },
        { name: 'Mobile', trait: 'phone', samples: ['3471234567', '3470000000', '1'] },
        { name: 'Employees', trait: 'employees', samples: ['250', '40', '1'] },
        { name: 'Revenue', trait: 'revenue', samples: ['1,5', '3'] },
        { name: 'Notes', trait: 'notes', samples: ['met at the booth', 'no address', '4'] },
      ],
    });
    // Nothing is stored by a preview.
    expect(await profileCount()).toBe(0);
  });

  it('imports each row as a contact with the traits mapped, rejects rows naming no one, and stores nothing twice', async () => {
    const mapping = {
      idColumn: 'E-mail',
      columns: {
        'E-mail': 'email',
        'First Name': 'first_name',
        Mobile: 'phone',
        Employees: 'employees',
        Revenue: 'revenue',
        Notes: null,
      },
    };
    const imported = await post<ImportSummary>('/profiles/import', { csv: TRADE_SHOW_LIST, ...mapping });
    expect(imported.status).toBe(200);
    expect(imported.body).toEqual({
      rows: 4,
      stored: 2,
      duplicates: 0,
      rejected: 2,
      rejectedRows: [
        { line: 4, reason: 'names no contact: E-mail is empty' },
        { line: 5, reason: 'has 7 cells; the header has 6' },
      ],
      listAddition: null,
    });
    // A phone number stays text, a count is a number; a note left out, an empty cell sets nothing.
    expect(await traitsOf('giulia@example.com')).toEqual({
      email: 'giulia@example.com',
      first_name: 'Giulia',
      phone: '3471234567',
      employees: 250,
      revenue: '1,5',
    });
    expect(await traitsOf('marco@example.com')).toEqual({
      email: 'marco@example.com',
      first_name: 'Marco',
      employees: 40,
    });
    // Rejected rows are kept with the rejected events, as a client's would be.
    const rejected = await fetch(
      `${world.url}/api/workspaces/${world.workspaceId}/rejected-events?limit=10`,
      {
        headers: { authorization: `Bearer ${world.secretKey}` },
      },
    );
    const rejectedEvents = (await rejected.json()) as { items: Array<{ reason: string }> };
    expect(rejectedEvents.items.map((event) => event.reason)).toEqual(
      expect.arrayContaining(['line 4: names no contact: E-mail is empty']),
    );

    const again = await post<ImportSummary>('/profiles/import', { csv: TRADE_SHOW_LIST, ...mapping });
    expect(again.body).toMatchObject({ rows: 4, stored: 0, duplicates: 2, rejected: 2 });
    // A later file sets what it has and leaves the rest: Giulia's phone stays.
    const update = await post<ImportSummary>('/profiles/import', {
      csv: 'email,company\ngiulia@example.com,Acme\n',
      idColumn: 'email',
    });
    expect(update.body).toMatchObject({ stored: 1, rejected: 0 });
    await eventually(async () =>
      (await traitsOf('giulia@example.com'))?.company === 'Acme' ? true : undefined,
    );
    expect(await traitsOf('giulia@example.com')).toMatchObject({ phone: '3471234567', company: 'Acme' });
  });

  it('rejects a row whose e-mail no mail can reach, and takes an international address', async () => {
    const csv = ['email;name', 'bob@example;Bob', 'josé@exämple.it;José', 'ann@example.org;Ann', ''].join(
      '\n',
    );
    const imported = await post<ImportSummary>('/profiles/import', { csv, idColumn: 'email' });
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({
      rows: 3,
      stored: 2,
      rejected: 1,
      rejectedRows: [{ line: 2, reason: 'email: bob@example is not an e-mail address' }],
    });
    expect(await traitsOf('josé@exämple.it')).toMatchObject({ email: 'josé@exämple.it' });
  });

  it('refuses a file or a mapping it cannot import, naming the field, before storing anything', async () => {
    const before = await profileCount();
    const csv = 'email,name\nnew@example.com,New\n';
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ csv, idColumn: 'id' }, 'idColumn', 'id is not a column of the file (it has email, name)'],
      [{ csv, idColumn: 'email', columns: { phone: 'phone' } }, 'columns.phone', 'not a column of the file'],
      [
        { csv, idColumn: 'email', columns: { name: 'email' } },
        'columns.name',
        'email is imported as email already',
      ],
      [{ csv, idColumn: 'email', columns: { name: 'a.b' } }, 'columns.name', 'without a dot'],
      [{ csv: 'email,email\nx@example.com,y\n', idColumn: 'email' }, 'csv', 'the header names email twice'],
      [{ csv: 'email\n"never closed\n', idColumn: 'email' }, 'csv', 'Quote Not Closed'],
      [{ csv: '\n\n', idColumn: 'email' }, 'csv', 'the file is empty'],
      [{ idColumn: 'email' }, 'csv', ''],
    ];
    for (const [body, field, message] of cases) {
      const refused = await post<ApiError>('/profiles/import', body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.error.field).toBe(field);
      expect(refused.body.error.message).toContain(message);
    }
    expect(await profileCount()).toBe(before);
  });

  it('adds the imported contacts to a static list once they are profiles, and refuses a live segment first', async () => {
    const segment = async (body: unknown) => (await post<{ id: string }>('/segments', body)).body.id;
    const list = await segment({ name: 'Fiera di Milano', kind: 'static' });
    const live = await segment({ name: 'Everyone', rule: { type: 'trait', path: 'email', op: 'exists' } });
    const csv = 'email,name\nlia@example.com,Lia\nleo@example.com,Leo\n';
    const before = await profileCount();
    for (const [segmentId, message] of [
      [live, 'list: Everyone is a live segment, which follows its rule; choose a static one'],
      ['seg_missing', 'list: segment seg_missing does not exist'],
    ] as const) {
      const refused = await post<ApiError>('/profiles/import', { csv, idColumn: 'email', list: segmentId });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ field: 'list', message });
    }
    expect(await profileCount()).toBe(before);

    const imported = await post<ImportSummary & { listAddition: { id: string; status: string } }>(
      '/profiles/import',
      { csv, idColumn: 'email', list },
    );
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({ stored: 2, listAddition: { segmentId: list, contacts: 2 } });
    const addition = await eventually(async () => {
      const response = await fetch(
        `${world.url}/api/workspaces/${world.workspaceId}/list-additions/${imported.body.listAddition.id}`,
        { headers: { authorization: `Bearer ${world.secretKey}` } },
      );
      const body = (await response.json()) as { status: string };
      return body.status === 'done' ? body : undefined;
    });
    expect(addition).toMatchObject({ matched: 2, unmatched: 0, added: 2, reason: null });
    const members = await fetch(`${world.url}/api/workspaces/${world.workspaceId}/segments/${list}`, {
      headers: { authorization: `Bearer ${world.secretKey}` },
    });
    expect(((await members.json()) as { members: number }).members).toBe(2);
  });

  it('is for admins: a member may not import contacts', async () => {
    const cookie = await memberSessionCookie(world);
    const response = await fetch(`${world.url}/api/workspaces/${world.workspaceId}/profiles/import`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ csv: 'email\nm@example.com\n', idColumn: 'email' }),
    });
    expect(response.status).toBe(403);
  });
});
