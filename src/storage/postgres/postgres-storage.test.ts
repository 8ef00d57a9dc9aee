import { describe, expect, it } from 'vitest';
import { createTestSchema } from '../../test-support/postgres.js';
import { runStorageContract } from '../storage.contract.js';
import { createPostgresStorage } from './postgres-storage.js';

describe('PostgreSQL storage', () => {
  describe('contract', () => {
    runStorageContract(async () => {
      const schema = await createTestSchema();
      return {
        storage: await createPostgresStorage({ url: schema.url, schema: schema.schema, poolSize: 4 }),
        cleanup: () => schema.drop(),
      };
    });
  });

  it('lets only one transaction claim the pipeline cursor at a time (SKIP LOCKED)', async () => {
    const schema = await createTestSchema();
    const storage = await createPostgresStorage({ url: schema.url, schema: schema.schema, poolSize: 4 });
    try {
      await storage.migrate();
      await storage.transaction((tx) => tx.pipeline.claimCursor('shared'));
      let releaseFirst: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        releaseFirst = resolve;
      });
      let claimedFirst: () => void = () => undefined;
      const firstHasIt = new Promise<void>((resolve) => {
        claimedFirst = resolve;
      });
      const first = storage.transaction(async (tx) => {
        const position = await tx.pipeline.claimCursor('shared');
        claimedFirst();
        await held;
        return position;
      });
      await firstHasIt;
      const second = await storage.transaction((tx) => tx.pipeline.claimCursor('shared'));
      releaseFirst();
      expect(await first).toBe('0:0');
      expect(second).toBeUndefined();
    } finally {
      await storage.close();
      await schema.drop();
    }
  });

  it('does not skip an event whose transaction commits after a later one', async () => {
    const schema = await createTestSchema();
    const storage = await createPostgresStorage({ url: schema.url, schema: schema.schema, poolSize: 4 });
    const { default: pg } = await import('pg');
    const slow = new pg.Client({ connectionString: schema.url, options: `-c search_path=${schema.schema}` });
    try {
      await storage.migrate();
      await slow.connect();
      // The slow writer takes its id first and commits last.
      await slow.query('begin');
      await slow.query(
        `insert into events (workspace_id, message_id, type, timestamp, received_at, payload) values ('ws', 'slow', 'track', 1, 1, '{}')`,
      );
      await storage.events.append({
        events: [
          {
            workspaceId: 'ws',
            messageId: 'fast',
            type: 'track',
            name: null,
            userId: 'u',
            anonymousId: null,
            timestamp: 2,
            originalTimestamp: null,
            sentAt: null,
            receivedAt: 2,
            payload: '{}',
          },
        ],
        rejected: [],
      });
      const read = () =>
        storage.transaction(async (tx) => {
          const position = await tx.pipeline.claimCursor('order');
          const batch = await tx.pipeline.readAfter(position ?? '0:0', 10);
          await tx.pipeline.saveCursor('order', batch.position, 0);
          return batch.events.map((e) => e.messageId);
        });
      // While the older transaction is open, the younger one's event waits rather than being passed over.
      expect(await read()).toEqual([]);
      await slow.query('commit');
      expect(await read()).toEqual(['slow', 'fast']);
    } finally {
      await slow.end();
      await storage.close();
      await schema.drop();
    }
  });
});
