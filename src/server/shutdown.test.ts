import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../test-support/cli.js';
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

  /** Runs `body` in a process of its own with Mops's start-up imported, killed if it has not ended in 45 s. */
  async function runFromSource(body: string): Promise<{ code: unknown; output: string }> {
    const script = path.join(database.dataDir, 'run.mts');
    writeFileSync(
      script,
      `import { loadConfig } from ${JSON.stringify(path.join(PROJECT_ROOT, 'src/core/config.ts'))};
       import { startMops } from ${JSON.stringify(path.join(PROJECT_ROOT, 'src/server/server.ts'))};
       import { createLogger } from ${JSON.stringify(path.join(PROJECT_ROOT, 'src/server/logger.ts'))};
       ${body}`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...database.env },
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    const stuck = setTimeout(() => child.kill('SIGKILL'), 45_000);
    const code = await new Promise((resolve) => child.on('close', resolve));
    clearTimeout(stuck);
    return { code, output };
  }

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

  it('closes its storage when stopped in a process with nothing else to do', async () => {
    database = await createTestDatabase('sqlite');
    // From source, as `npm run dev` runs it: the send threads must not leave stop() waiting forever.
    const { code, output } = await runFromSource(
      `const mops = await startMops({ config: loadConfig({ ...process.env, MOPS_PORT: '0' }), logger: createLogger('silent') });
       await mops.stop();
       process.stdout.write('stopped');`,
    );
    expect({ code, output }).toEqual({ code: 0, output: 'stopped' });
  }, 60_000);

  it('leaves nothing open when it refuses to start, so the process can end', async () => {
    database = await createTestDatabase('sqlite');
    // An API process alone on the embedded database is refused; a port held for it kept the process up.
    const { code, output } = await runFromSource(
      `const config = loadConfig({ ...process.env, MOPS_PORT: '0' });
       await startMops({ config, role: 'api', logger: createLogger('silent') }).catch(() => process.stdout.write('refused'));`,
    );
    expect({ code, output }).toEqual({ code: 0, output: 'refused' });
  }, 60_000);
});
