import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, testConfig } from '../test-support/world.js';
import { createLogger } from './logger.js';
import { type RunningMops, startMops } from './server.js';

describe('stopping the server', () => {
  let database: TestDatabase;
  let mops: RunningMops | undefined;

  afterEach(async () => {
    await mops?.stop();
    await database.cleanup();
  });

  it('stops at its deadline though a client is still trickling a request body in', async () => {
    database = await createTestDatabase('sqlite');
    mops = await startMops({
      config: testConfig(database),
      logger: createLogger('silent'),
      requestGraceMs: 200,
    });
    const url = new URL(mops.url as string);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => undefined);
    // Half of a body that says it is 1,000 bytes long.
    socket.write(
      `POST /v1/track HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"event":`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));

    await mops.stop();
    await closed;
    expect(socket.destroyed).toBe(true);
  });
});
