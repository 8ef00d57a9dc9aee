import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killHard, runCli, startServerProcess } from '../test-support/cli.js';
import {
  basicAuth,
  createTestDatabase,
  eventually,
  PROCESS_TEST_TIMEOUT_MS,
  type TestDatabase,
} from '../test-support/world.js';

/** Several stateless processes on one PostgreSQL: two API processes and two workers sharing the pipeline. */
describe('api and worker processes sharing PostgreSQL', () => {
  let database: TestDatabase;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await Promise.all(children.map(killHard));
    await database?.cleanup();
  });

  it(
    'ingests through either API process and builds every profile exactly once, even when a worker dies',
    async () => {
      const env = { ...database.env, MOPS_PORT: '0' };
      await runCli(['migrate'], env);
      const writeKey = JSON.parse((await runCli(['keys', 'create', '--kind', 'write', '--json'], env)).stdout)
        .key as string;
      const secret = JSON.parse((await runCli(['keys', 'create', '--kind', 'secret', '--json'], env)).stdout)
        .key as string;
      const workspaceId = JSON.parse((await runCli(['keys', 'list', '--json'], env)).stdout)[0]
        .workspaceId as string;

      const apiA = await startServerProcess(env, ['--role', 'api']);
      const apiB = await startServerProcess(env, ['--role', 'api']);
      const workerA = await startServerProcess(env, ['--role', 'worker']);
      const workerB = await startServerProcess(env, ['--role', 'worker']);
      children.push(apiA.child, apiB.child, workerA.child, workerB.child);

      const send = async (url: string | undefined, user: string, count: number, prefix: string) => {
        const response = await fetch(`${url}/v1/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: basicAuth(writeKey) },
          body: JSON.stringify({
            batch: Array.from({ length: count }, (_, i) => ({
              type: i === 0 ? 'identify' : 'track',
              userId: user,
              event: 'Step',
              traits: { email: `${user}@example.com` },
              messageId: `${prefix}-${user}-${i}`,
            })),
          }),
        });
        expect(response.status).toBe(200);
      };
      const users = Array.from({ length: 20 }, (_, i) => `scale-${i}`);
      await Promise.all(users.map((user, i) => send(i % 2 ? apiA.url : apiB.url, user, 10, 'first')));
      await killHard(workerA.child);
      await Promise.all(users.map((user, i) => send(i % 2 ? apiB.url : apiA.url, user, 5, 'second')));

      const timelineLength = async (user: string) => {
        const headers = { authorization: `Bearer ${secret}` };
        const list = (await (
          await fetch(`${apiA.url}/api/workspaces/${workspaceId}/profiles?q=${user}@example.com`, { headers })
        ).json()) as {
          items: Array<{ id: string }>;
        };
        const id = list.items[0]?.id;
        if (!id) return undefined;
        const events = (await (
          await fetch(`${apiA.url}/api/workspaces/${workspaceId}/profiles/${id}/events?limit=100`, {
            headers,
          })
        ).json()) as { items: unknown[] };
        return { profiles: list.items.length, events: events.items.length };
      };
      for (const user of users) {
        const result = await eventually(async () => {
          const found = await timelineLength(user);
          return found?.events === 15 ? found : undefined;
        }, 20_000);
        expect(result).toEqual({ profiles: 1, events: 15 });
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
