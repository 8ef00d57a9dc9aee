import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../test-support/world.js';
import { type ImportFormat, ImportStoppedError, importEventsFile } from './import-file.js';

const WORKSPACE = 'ws_import';

/** Files that are not quite what they should be: what is imported, what is kept as rejected, what stops. */
describe.each(BACKENDS)('importing a file of events on %s', (backend) => {
  let database: TestDatabase;
  let storage: Storage;

  beforeEach(async () => {
    database = await createTestDatabase(backend);
    storage = await openStorage(loadConfig(database.env));
    await storage.migrate();
  });
  afterEach(async () => {
    await storage.close();
    await database.cleanup();
  });

  const importText = (name: string, text: string, format: ImportFormat) => {
    const file = path.join(database.dataDir, name);
    writeFileSync(file, text);
    return importEventsFile(storage, { workspaceId: WORKSPACE, file, format, now: () => Date.now() });
  };
  const storedEvents = async () =>
    (await storage.events.list(WORKSPACE, { limit: 500 })).items.map((event) => ({
      name: event.name,
      userId: event.userId,
      payload: event.payload,
    }));
  const rejectedPayloads = async () =>
    (await storage.events.listRejected(WORKSPACE, { limit: 500 })).items.map((row) => row.payload);

  it('reads a gzip file as the calls it holds, its progress counted in the file’s own bytes', async () => {
    const file = path.join(database.dataDir, 'calls.jsonl.gz');
    const lines = ['a', 'b'].map((userId) => JSON.stringify({ type: 'track', event: 'Opened', userId }));
    writeFileSync(file, gzipSync(`${lines.join('\n')}\n`));
    const summary = await importEventsFile(storage, {
      workspaceId: WORKSPACE,
      file,
      format: 'jsonl',
      now: () => Date.now(),
    });
    expect(summary).toMatchObject({ rows: 2, stored: 2, rejected: 0, bytesRead: statSync(file).size });
    expect((await storedEvents()).map((event) => event.userId).sort()).toEqual(['a', 'b']);
  });

  it("reads a contacts file's plain columns as traits, and an event row's as properties", async () => {
    const summary = await importText(
      'contacts.csv',
      'userId,email,title,event,employees\nz001,zed@example.com,VP Sales,,40\nz001,,,Demo Requested,3\n',
      'csv',
    );
    expect(summary).toMatchObject({ stored: 2, rejected: 0 });
    const [identify, track] = (await storedEvents()).sort((a, b) =>
      (a.name ?? '').localeCompare(b.name ?? ''),
    );
    expect(identify?.payload).toMatchObject({
      type: 'identify',
      traits: { email: 'zed@example.com', title: 'VP Sales', employees: 40 },
    });
    expect(identify?.payload).not.toHaveProperty('properties');
    expect(track?.payload).toMatchObject({
      type: 'track',
      event: 'Demo Requested',
      properties: { employees: 3 },
    });
  });

  it('rejects a line nested too deep to write out again alone, importing the lines around it', async () => {
    const line = (userId: string, extra = '') =>
      `{"type":"track","event":"Opened","userId":"${userId}"${extra}}`;
    const deep = `,"properties":{"x":${'['.repeat(12_000)}${']'.repeat(12_000)}}`;
    const summary = await importText(
      'deep.jsonl',
      [line('a'), line('b', deep), line('c')].join('\n'),
      'jsonl',
    );
    expect(summary).toMatchObject({ rows: 3, stored: 2, rejected: 1 });
    expect(summary.rejectedRows).toEqual([
      { line: 2, reason: expect.stringContaining('properties.x[0]'), field: expect.any(String) },
    ]);
  });

  it('rejects a number with more decimal places than a database keeps, as the API does, not storing 0', async () => {
    const line = (userId: string, total: string) =>
      `{"type":"track","event":"Paid","userId":"${userId}","properties":{"total":${total}}}`;
    const summary = await importText(
      'tiny.jsonl',
      [line('a', '12.5'), line('b', '1e-20000'), line('c', '3')].join('\n'),
      'jsonl',
    );
    expect(summary).toMatchObject({ rows: 3, stored: 2, rejected: 1 });
    expect(summary.rejectedRows).toEqual([
      { line: 2, reason: expect.any(String), field: 'properties.total' },
    ]);
    // In CSV, a fraction longer than a number keeps stays the text it was.
    const long = `0.${'1'.repeat(40)}`;
    await importText('long.csv', `userId,event,total\nd,Paid,${long}\n`, 'csv');
    const paid = (await storedEvents()).find((event) => event.userId === 'd');
    expect(paid?.payload).toMatchObject({ properties: { total: long } });
  });

  it('stops where a file is not UTF-8 (Latin-1), keeping the rows before, instead of storing U+FFFD', async () => {
    const file = path.join(database.dataDir, 'latin1.jsonl');
    const line = (name: string) => `{"type":"identify","userId":"l1","traits":{"name":"${name}"}}\n`;
    writeFileSync(file, Buffer.concat([Buffer.from(line('Ada')), Buffer.from(line('Zoë Müller'), 'latin1')]));
    const stopped = importEventsFile(storage, {
      workspaceId: WORKSPACE,
      file,
      format: 'jsonl',
      now: () => Date.now(),
    });
    await expect(stopped).rejects.toBeInstanceOf(ImportStoppedError);
    await expect(stopped).rejects.toThrow(/not UTF-8/);
    expect(JSON.stringify(await storedEvents())).not.toContain('\uFFFD');
    // Saved as UTF-8, both are read as written.
    writeFileSync(file, line('Ada') + line('Zoë Müller'));
    const summary = await importEventsFile(storage, {
      workspaceId: WORKSPACE,
      file,
      format: 'jsonl',
      now: () => Date.now(),
    });
    expect(summary).toMatchObject({ rejected: 0 });
    expect(JSON.stringify(await storedEvents())).toContain('Zoë Müller');
  });

  it('stops at once, saying what to do, on UTF-16 JSON Lines or a JSON array', async () => {
    const line = JSON.stringify({ type: 'track', event: 'Opened', userId: 'u1' });
    const file = path.join(database.dataDir, 'utf16.jsonl');
    writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${line}\n`, 'utf16le')]));
    const utf16 = importEventsFile(storage, {
      workspaceId: WORKSPACE,
      file,
      format: 'jsonl',
      now: () => Date.now(),
    });
    await expect(utf16).rejects.toThrow(/UTF-16 text: save it as UTF-8/);
    await expect(importText('export.json', `[\n  ${line}\n]\n`, 'jsonl')).rejects.toThrow(
      /a JSON array, not JSON Lines/,
    );
    expect(await storedEvents()).toEqual([]);
    expect(await rejectedPayloads()).toEqual([]);
  });

  it('refuses a column reaching into the prototype, importing nothing', async () => {
    const csv =
      'type,event,anonymousId,properties.__proto__.userId\ntrack,Clicked,anon-1,victim\ntrack,Clicked,anon-2,\n';
    await expect(importText('proto.csv', csv, 'csv')).rejects.toThrow(
      /column properties\.__proto__\.userId names __proto__/,
    );
    expect(({} as Record<string, unknown>).userId).toBeUndefined();
    expect(await storedEvents()).toEqual([]);
  });

  it('stops at a quote never closed, keeping the rows before it and saying where it opened', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => `track,Viewed,u${i}`);
    const csv = ['type,event,userId', 'track,A,u-a', 'track,"B,u2', ...rows].join('\n');
    const stopped = importText('quote.csv', csv, 'csv');
    await expect(stopped).rejects.toBeInstanceOf(ImportStoppedError);
    await expect(stopped).rejects.toThrow(
      /a quote opened in the row after line 2 is never closed\. Nothing after it was imported/,
    );
    expect((await storedEvents()).map((event) => event.name)).toEqual(['A']);
  });

  it('stops at the header of a file that says of no row whose it is, importing nothing', async () => {
    const csv = 'email,phone,company\nzed@example.com,+393330000001,Acme\n';
    const stopped = importText('contacts.csv', csv, 'csv');
    await expect(stopped).rejects.toBeInstanceOf(ImportStoppedError);
    await expect(stopped).rejects.toThrow(
      /the header has no userId or anonymousId column \(it has email, phone, company\): every row needs one/,
    );
    expect(await storedEvents()).toEqual([]);
    expect(await rejectedPayloads()).toEqual([]);
  });

  it('keeps a malformed CSV line as rejected with the text it had', async () => {
    const csv = 'type,event,userId\ntrack,A,u1\ntrack,Too,Many,Columns\n';
    const summary = await importText('columns.csv', csv, 'csv');
    expect(summary).toMatchObject({ rows: 2, stored: 1, rejected: 1 });
    expect(await rejectedPayloads()).toEqual([expect.stringContaining('track,Too,Many,Columns')]);
  });

  it('keeps each rejected row once when the same file is imported again', async () => {
    const lines = [
      JSON.stringify({ type: 'track', event: 'Fine', userId: 'u1' }),
      '{"type": "track", broken',
      JSON.stringify({ type: 'track', event: 'No one' }),
      JSON.stringify({ type: 'track', event: 'Also no one', messageId: 'given-1' }),
      JSON.stringify({ type: 'track', event: 'Null id', userId: 'u2', messageId: null }),
      JSON.stringify({
        type: 'track',
        event: 'Too big',
        userId: 'u3',
        properties: { x: 'x'.repeat(40_000) },
      }),
    ].join('\n');
    expect(await importText('again.jsonl', lines, 'jsonl')).toMatchObject({ stored: 2, rejected: 4 });
    expect(await importText('again.jsonl', lines, 'jsonl')).toMatchObject({ duplicates: 2, rejected: 4 });
    expect((await storedEvents()).filter((event) => event.name === 'Null id')).toHaveLength(1);
    expect(await rejectedPayloads()).toHaveLength(4);
  });

  it('stores nothing twice when the file is imported again with its bad line deleted', async () => {
    const identify = JSON.stringify({ type: 'identify', userId: 'u1', traits: { plan: 'pro' } });
    const opened = JSON.stringify({ type: 'track', event: 'Opened', userId: 'u1' });
    // The same call twice, without message ids: two events, each kept once however the lines move.
    const lines = [opened, '{"type": "track", broken', identify, opened];
    expect(await importText('edited.jsonl', lines.join('\n'), 'jsonl')).toMatchObject({
      stored: 3,
      rejected: 1,
    });
    lines.splice(1, 1);
    expect(await importText('edited.jsonl', lines.join('\n'), 'jsonl')).toMatchObject({
      rows: 3,
      stored: 0,
      duplicates: 3,
      rejected: 0,
    });
    expect((await storedEvents()).filter((event) => event.name === 'Opened')).toHaveLength(2);
  });

  it('reads JSON Lines saved with a byte-order mark', async () => {
    const line = JSON.stringify({ type: 'track', event: 'First', userId: 'u1' });
    const summary = await importText('bom.jsonl', `\uFEFF${line}\n`, 'jsonl');
    expect(summary).toMatchObject({ rows: 1, stored: 1, rejected: 0 });
    expect((await storedEvents()).map((event) => event.name)).toEqual(['First']);
  });
});
