import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../core/ids.js';
import { createTestSchema } from '../test-support/postgres.js';
import { BACKENDS, type Backend } from '../test-support/world.js';
import { createPostgresStorage } from './postgres/postgres-storage.js';
import { createSqliteStorage } from './sqlite/sqlite-storage.js';
import type { Storage } from './storage.js';

const NOW = Date.UTC(2026, 11, 5, 9, 0, 0);

/** Two storages on one database, as two processes would have: one reads while the other writes. */
async function twoConnections(backend: Backend) {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'mops-snapshot-'));
    const file = path.join(dir, 'mops.db');
    const reader = await createSqliteStorage({ path: file });
    await reader.migrate();
    const writer = await createSqliteStorage({ path: file });
    return {
      reader,
      writer,
      async close() {
        await reader.close();
        await writer.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = await createTestSchema();
  const reader = await createPostgresStorage({ url: schema.url, schema: schema.schema, poolSize: 2 });
  await reader.migrate();
  const writer = await createPostgresStorage({ url: schema.url, schema: schema.schema, poolSize: 2 });
  return {
    reader,
    writer,
    async close() {
      await reader.close();
      await writer.close();
      await schema.drop();
    },
  };
}

describe.each(BACKENDS)('a read snapshot (%s)', (backend) => {
  let reader: Storage;
  let writer: Storage;
  let close: () => Promise<void>;
  const workspaceId = newId('ws');
  const profileId = newId('prf');

  beforeEach(async () => {
    ({ reader, writer, close } = await twoConnections(backend));
    await reader.workspaces.create({ id: workspaceId, name: 'Shop', createdAt: NOW });
    await writer.scoring.setStages([
      { workspaceId, profileId, from: null, to: 'lead', reason: 'signed up', at: NOW },
    ]);
  });
  afterEach(() => close());

  it('reads a stage and its history as they stood together, whatever commits between its reads', async () => {
    const seen = await reader.readSnapshot(async (snapshot) => {
      const stage = (await snapshot.scoring.stages([profileId])).get(profileId);
      // Another process moves the profile on between the two reads.
      await writer.scoring.setStages([
        { workspaceId, profileId, from: 'lead', to: 'mql', reason: 'score', at: NOW + 1 },
      ]);
      const history = await snapshot.scoring.stageHistory(profileId);
      return { stage, history: history.map((change) => change.to) };
    });
    expect(seen).toEqual({ stage: 'lead', history: ['lead'] });

    // Once it ends, the move shows.
    expect((await reader.scoring.stages([profileId])).get(profileId)).toBe('mql');
    expect((await reader.scoring.stageHistory(profileId)).map((change) => change.to)).toEqual([
      'lead',
      'mql',
    ]);
  });

  it('refuses a write, and the reader goes on working after it', async () => {
    await expect(
      reader.readSnapshot((snapshot) =>
        snapshot.scoring.setStages([
          { workspaceId, profileId, from: 'lead', to: 'sql', reason: 'x', at: NOW + 2 },
        ]),
      ),
    ).rejects.toThrow(/read.only|readonly/i);
    expect((await reader.scoring.stages([profileId])).get(profileId)).toBe('lead');
    await reader.scoring.setStages([
      { workspaceId, profileId, from: 'lead', to: 'mql', reason: 'score', at: NOW + 3 },
    ]);
    expect((await writer.scoring.stages([profileId])).get(profileId)).toBe('mql');
  });
});
