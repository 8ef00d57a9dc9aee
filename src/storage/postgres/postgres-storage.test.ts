import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { trackEvent } from '../../test-support/events.js';
import { createTestSchema } from '../../test-support/postgres.js';
import { untilEventsReadable } from '../../test-support/readable-events.js';
import { runAudienceContract } from '../audience.contract.js';
import { runStorageContract } from '../storage.contract.js';
import { createPostgresStorage } from './postgres-storage.js';

describe('PostgreSQL storage', () => {
  const newStorage = async () => {
    const schema = await createTestSchema();
    return {
      storage: await createPostgresStorage({ url: schema.url, schema: schema.schema, poolSize: 4 }),
      cleanup: () => schema.drop(),
    };
  };
  describe('contract', () => {
    runStorageContract(newStorage);
  });
  describe('audience contract', () => {
    runAudienceContract(newStorage);
  });

  it('warns about a server running without autovacuum, and only then', async () => {
    const schema = await createTestSchema();
    const storage = await createPostgresStorage({ url: schema.url, schema: schema.schema, poolSize: 2 });
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ setting: string }>(
        `select current_setting('autovacuum') as setting`,
      );
      const warnings = await storage.checkServer();
      if (rows[0]?.setting === 'off') expect(warnings).toEqual([expect.stringMatching(/autovacuum is off/)]);
      else expect(warnings).toEqual([]);
    } finally {
      await client.end();
      await storage.close();
      await schema.drop();
    }
  });

  it('asks the server to end transactions left idle, and to probe connections gone quiet, whatever the URL holds', async () => {
    const schema = await createTestSchema();
    const observer = new pg.Client({ connectionString: schema.url });
    await observer.connect();
    // Each workspace written records the settings of the session writing it: one of the storage's own.
    await observer.query(`
      create table ${schema.schema}.seen_settings (workspace_id text, name text, setting text);
      create function ${schema.schema}.record_settings() returns trigger language plpgsql as $$
      begin
        insert into ${schema.schema}.seen_settings
          select new.id, name, setting from pg_settings
          where name in ('idle_in_transaction_session_timeout', 'tcp_keepalives_idle',
                         'tcp_keepalives_interval', 'tcp_keepalives_count');
        return new;
      end $$`);
    const opened = [
      // The schema given beside the URL, and the URL carrying options of its own (its search_path).
      await createPostgresStorage({
        url: schema.url,
        schema: schema.schema,
        idleInTransactionTimeoutMs: 45_000,
      }),
      await createPostgresStorage({ url: schema.urlWithSchema, idleInTransactionTimeoutMs: 45_000 }),
      // No limit (behind a pooler that refuses startup options): none of these is asked for.
      await createPostgresStorage({ url: schema.urlWithSchema, idleInTransactionTimeoutMs: 0 }),
    ];
    try {
      const [first] = opened;
      await first?.migrate();
      await observer.query(`
        create trigger record_settings after insert on ${schema.schema}.workspaces
        for each row execute function ${schema.schema}.record_settings()`);
      for (const [index, storage] of opened.entries()) {
        await storage.workspaces.create({ id: `ws${index}`, name: 'Shop', createdAt: 0 });
        const { rows } = await observer.query<{ name: string; setting: string }>(
          `select name, setting from ${schema.schema}.seen_settings where workspace_id = $1 order by name`,
          [`ws${index}`],
        );
        const seen = Object.fromEntries(rows.map((row) => [row.name, row.setting]));
        if (index === 2) {
          expect(seen.idle_in_transaction_session_timeout).toBe('0');
          expect(seen.tcp_keepalives_idle).not.toBe('30');
          continue;
        }
        expect(seen).toEqual({
          idle_in_transaction_session_timeout: '45000',
          tcp_keepalives_count: '6',
          tcp_keepalives_idle: '30',
          tcp_keepalives_interval: '10',
        });
      }
    } finally {
      for (const storage of opened) await storage.close();
      await observer.end();
      await schema.drop();
    }
  });

  it('lets another process take a cursor up once the process holding it froze mid-batch', async () => {
    const schema = await createTestSchema();
    const frozen = await createPostgresStorage({
      url: schema.url,
      schema: schema.schema,
      poolSize: 2,
      idleInTransactionTimeoutMs: 500,
    });
    const healthy = await createPostgresStorage({ url: schema.url, schema: schema.schema, poolSize: 2 });
    let thaw: () => void = () => undefined;
    try {
      await frozen.migrate();
      await frozen.events.append({
        events: [trackEvent({ workspaceId: 'ws', messageId: 'm1', name: 'm1' })],
        rejected: [],
      });
      await untilEventsReadable(frozen);
      let signalStarted: () => void = () => undefined;
      const started = new Promise<void>((resolve) => {
        signalStarted = resolve;
      });
      const stuck = frozen.runPipelineBatch(
        'shared',
        10,
        {
          async prepare(events) {
            signalStarted();
            // Frozen with its transaction open, between two statements.
            await new Promise<void>((resolve) => {
              thaw = resolve;
            });
            return async () => events.map((event) => event.messageId);
          },
        },
        0,
      );
      const stuckOutcome = stuck.catch((error: unknown) => error);
      await started;
      const takeUp = () =>
        healthy.runPipelineBatch(
          'shared',
          10,
          { prepare: async (events) => async () => events.map((event) => event.messageId) },
          0,
        );
      expect(await takeUp()).toEqual({ status: 'busy' });
      // The server ends the idle transaction, and with it the cursor's row lock.
      await vi.waitFor(async () => expect(await takeUp()).toMatchObject({ status: 'done', result: ['m1'] }), {
        timeout: 15_000,
        interval: 100,
      });
      thaw();
      // The frozen process's batch, coming back to life, cannot write what was taken up meanwhile.
      expect(await stuckOutcome).toBeInstanceOf(Error);
      expect(await takeUp()).toEqual({ status: 'idle' });
    } finally {
      thaw();
      await frozen.close();
      await healthy.close();
      await schema.drop();
    }
  });

  it('lets only one process run a cursor at a time (SKIP LOCKED)', async () => {
    const schema = await createTestSchema();
    const storage = await createPostgresStorage({ url: schema.url, schema: schema.schema, poolSize: 4 });
    const track = (messageId: string) => trackEvent({ workspaceId: 'ws', messageId, name: messageId });
    try {
      await storage.migrate();
      await storage.events.append({ events: [track('m1')], rejected: [] });
      await untilEventsReadable(storage);
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let signalStarted: () => void = () => undefined;
      const started = new Promise<void>((resolve) => {
        signalStarted = resolve;
      });
      const slow = storage.runPipelineBatch(
        'shared',
        10,
        {
          async prepare(events) {
            signalStarted();
            await held;
            return async () => events.length;
          },
        },
        0,
      );
      await started;
      const second = await storage.runPipelineBatch('shared', 10, { prepare: async () => async () => 0 }, 0);
      release();
      expect(second).toEqual({ status: 'busy' });
      expect(await slow).toMatchObject({ status: 'done', result: 1 });
    } finally {
      await storage.close();
      await schema.drop();
    }
  });

  it('runs work under a key in one process at a time, and lets go when that process dies', async () => {
    const schema = await createTestSchema();
    const open = () => createPostgresStorage({ url: schema.url, schema: schema.schema, poolSize: 2 });
    const [first, second] = [await open(), await open()];
    const observer = new pg.Client({ connectionString: schema.url });
    await observer.connect();
    try {
      let finishFirst: () => void = () => undefined;
      let firstStarted: () => void = () => undefined;
      const hasFirstStarted = new Promise<void>((resolve) => {
        firstStarted = resolve;
      });
      const firstRun = first.runAlone('backfill/a', async () => {
        firstStarted();
        await new Promise<void>((resolve) => {
          finishFirst = resolve;
        });
        return 'first';
      });
      await hasFirstStarted;
      expect(await second.runAlone('backfill/a', async () => 'second')).toEqual({ ran: false });
      // Another key is another piece of work.
      expect(await second.runAlone('backfill/b', async () => 'other')).toEqual({ ran: true, value: 'other' });
      finishFirst();
      expect(await firstRun).toEqual({ ran: true, value: 'first' });
      expect(await second.runAlone('backfill/a', async () => 'second')).toEqual({
        ran: true,
        value: 'second',
      });

      // Work that throws lets go of the key too.
      await expect(
        first.runAlone('backfill/a', async () => {
          throw new Error('failed');
        }),
      ).rejects.toThrow('failed');
      expect(await second.runAlone('backfill/a', async () => 'again')).toEqual({ ran: true, value: 'again' });

      // A process that dies holding the key: its connection ends, and with it the lock.
      let dyingStarted: () => void = () => undefined;
      const hasDyingStarted = new Promise<void>((resolve) => {
        dyingStarted = resolve;
      });
      void first
        .runAlone('backfill/a', async () => {
          dyingStarted();
          await new Promise(() => undefined);
        })
        .catch(() => undefined);
      await hasDyingStarted;
      expect(await second.runAlone('backfill/a', async () => 'blocked')).toEqual({ ran: false });
      const heldLock = `from pg_locks, hashtextextended($1 || '/' || $2, 0) as h
         where locktype = 'advisory' and granted
           and classid::bigint = (h >> 32) & 4294967295 and objid::bigint = h & 4294967295`;
      const { rowCount } = await observer.query(`select pg_terminate_backend(pid) ${heldLock}`, [
        schema.schema,
        'backfill/a',
      ]);
      expect(rowCount).toBe(1);
      // pg_terminate_backend only signals the backend; the lock goes when that process has exited.
      await vi.waitFor(
        async () => {
          const { rows } = await observer.query(`select 1 ${heldLock}`, [schema.schema, 'backfill/a']);
          expect(rows).toHaveLength(0);
        },
        { timeout: 10_000, interval: 20 },
      );
      expect(await second.runAlone('backfill/a', async () => 'taken up')).toEqual({
        ran: true,
        value: 'taken up',
      });
    } finally {
      await observer.end();
      await first.close();
      await second.close();
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
        events: [trackEvent({ workspaceId: 'ws', messageId: 'fast' })],
        rejected: [],
      });
      const read = async () => {
        const outcome = await storage.runPipelineBatch(
          'order',
          10,
          { prepare: async (events) => async () => events.map((e) => e.messageId) },
          0,
        );
        return outcome.status === 'done' ? outcome.result : [];
      };
      // While the older transaction is open, the younger one's event waits rather than being passed over.
      expect(await read()).toEqual([]);
      await slow.query('commit');
      await untilEventsReadable(storage);
      expect(await read()).toEqual(['slow', 'fast']);
    } finally {
      await slow.end();
      await storage.close();
      await schema.drop();
    }
  });
});
