import { afterEach, describe, expect, it } from 'vitest';
import { killHard, runCli, startServerProcess } from '../test-support/cli.js';
import {
  BACKENDS,
  basicAuth,
  createTestDatabase,
  PROCESS_TEST_TIMEOUT_MS,
  type TestDatabase,
} from '../test-support/world.js';

/** An acknowledged event is durable: kill -9 right after the 2xx, restart, and it is there. */
describe.each(BACKENDS)('kill -9 after acknowledgement on %s', (backend) => {
  let database: TestDatabase | undefined;

  afterEach(async () => {
    await database?.cleanup();
  });

  it(
    'keeps every event that got a 2xx, even with requests in flight when the process dies',
    async () => {
      database = await createTestDatabase(backend);
      const env = database.env;
      const created = await runCli(['keys', 'create', '--kind', 'write', '--name', 'crash', '--json'], env);
      const writeKey = JSON.parse(created.stdout).key as string;
      const secret = JSON.parse(
        (await runCli(['keys', 'create', '--kind', 'secret', '--name', 'crash', '--json'], env)).stdout,
      ).key as string;

      const server = await startServerProcess({ ...env, MOPS_PORT: '0' });
      const acknowledged: string[] = [];
      let killed = false;
      let sent = 0;
      // Four senders keep requests in flight; the process is killed the moment the 25th batch is acknowledged.
      const sender = async (lane: number) => {
        for (let round = 0; !killed; round++) {
          const ids = Array.from({ length: 20 }, (_, i) => `crash-${lane}-${round}-${i}`);
          sent++;
          try {
            const response = await fetch(`${server.url}/v1/batch`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: basicAuth(writeKey) },
              body: JSON.stringify({
                batch: ids.map((messageId) => ({
                  type: 'track',
                  userId: `u${lane}`,
                  event: 'Tick',
                  messageId,
                })),
              }),
            });
            if (response.status !== 200)
              throw new Error(`unexpected ${response.status}: ${await response.text()}\n${server.output()}`);
            acknowledged.push(...ids);
            if (acknowledged.length >= 25 * 20 && !killed) {
              killed = true;
              await killHard(server.child);
            }
          } catch (error) {
            if (!killed) throw error;
          }
        }
      };
      await Promise.all([0, 1, 2, 3].map(sender));
      expect(sent).toBeGreaterThan(25);

      const restarted = await startServerProcess({ ...env, MOPS_PORT: '0' });
      try {
        const stored = new Set<string>();
        for (let cursor: string | null = ''; cursor !== null; ) {
          const response: Response = await fetch(
            `${restarted.url}/api/workspaces/${await workspaceId(restarted.url as string, secret)}/events?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
            { headers: { authorization: `Bearer ${secret}` } },
          );
          const page = (await response.json()) as {
            items: Array<{ messageId: string }>;
            nextCursor: string | null;
          };
          for (const item of page.items) stored.add(item.messageId);
          cursor = page.nextCursor;
        }
        const lost = acknowledged.filter((id) => !stored.has(id));
        expect(lost).toEqual([]);
        expect(stored.size).toBeGreaterThanOrEqual(acknowledged.length);
      } finally {
        await killHard(restarted.child);
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

async function workspaceId(url: string, secret: string): Promise<string> {
  const response = await fetch(`${url}/api/workspaces`, { headers: { authorization: `Bearer ${secret}` } });
  const body = (await response.json()) as { items: Array<{ id: string }> };
  return body.items[0]?.id ?? '';
}
