import { existsSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Command, CommanderError } from 'commander';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.js';
import { createSegment } from '../segments/segments.js';
import { createJourneyWork } from '../server/background.js';
import { openStorage } from '../storage/open-storage.js';
import { killHard, runCli, runCliInTerminal, startServerProcess } from '../test-support/cli.js';
import {
  BACKENDS,
  createTestDatabase,
  PROCESS_TEST_TIMEOUT_MS,
  type TestDatabase,
  testConfig,
} from '../test-support/world.js';
import { mopsProgram } from './program.js';

describe('mops CLI basics', () => {
  it('prints help as the installed command', async () => {
    const result = await runCli(['--help'], {});
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: mops/);
  });

  // In this process: the spawned command above shows the entry point works, these each command's help.
  it.each([
    [['start']],
    [['migrate']],
    [['keys', 'create']],
    [['keys', 'list']],
    [['keys', 'revoke']],
    [['import', 'events']],
    [['segments', 'import-list']],
    [['users', 'reset-password']],
  ])('prints help for %j', async (command) => {
    let printed = '';
    const program = mopsProgram();
    const capture = (command: Command) => {
      command.configureOutput({ writeOut: (text) => (printed += text) });
      for (const sub of command.commands) capture(sub);
    };
    capture(program);
    const ended = await program.parseAsync(['node', 'mops', ...command, '--help']).catch((error) => error);
    expect(ended).toBeInstanceOf(CommanderError);
    expect((ended as CommanderError).exitCode).toBe(0);
    expect(printed).toMatch(new RegExp(`Usage: mops ${command.join(' ')}`));
  });

  it(
    'stops with a message naming the variable when the configuration is bad',
    async () => {
      const result = await runCli(['migrate'], { MOPS_PORT: 'eighty', MOPS_DATABASE_URL: 'mysql://x' });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/MOPS_PORT/);
      expect(result.stderr).toMatch(/MOPS_DATABASE_URL: must be a postgres:\/\/ URL/);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'refuses a journey file that holds no journey: empty, null or a list',
    async () => {
      const database = await createTestDatabase('sqlite');
      try {
        for (const [name, text] of [
          ['empty.yaml', ''],
          ['null.yaml', 'null\n'],
          ['list.json', '[]'],
        ] as const) {
          const file = path.join(database.dataDir, name);
          writeFileSync(file, text);
          for (const publish of [[], ['--publish']]) {
            const result = await runCli(['journeys', 'apply', file, ...publish], database.env);
            expect({ code: result.code, stderr: result.stderr }).toEqual({
              code: 1,
              stderr: `mops: ${file}: must be a journey (an object)\n`,
            });
          }
        }
      } finally {
        await database.cleanup();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'refuses a user or key the API would refuse: an e-mail that is none, a name empty or too long',
    async () => {
      const database = await createTestDatabase('sqlite');
      try {
        const refused = async (args: string[]) => {
          const result = await runCli(args, database.env);
          return { code: result.code, stderr: result.stderr };
        };
        for (const email of ['', 'not an email'])
          expect(await refused(['users', 'create', email])).toEqual({
            code: 1,
            stderr: 'mops: email: Invalid email address\n',
          });
        for (const [name, said] of [
          ['', 'Too small: expected string to have >=1 characters'],
          ['   ', 'Too small: expected string to have >=1 characters'],
          ['x'.repeat(5000), 'Too big: expected string to have <=100 characters'],
        ] as const)
          expect(await refused(['keys', 'create', '--kind', 'write', '--name', name])).toEqual({
            code: 1,
            stderr: `mops: --name: ${said}\n`,
          });
        expect(JSON.parse((await runCli(['keys', 'list', '--json'], database.env)).stdout)).toEqual([]);
      } finally {
        await database.cleanup();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'takes the file formats its help lists, and names the ones it takes when given another',
    async () => {
      const database = await createTestDatabase('sqlite');
      try {
        const help = (await runCli(['import', 'events', '--help'], database.env)).stdout;
        expect(help).toContain('(.jsonl, .ndjson or .json)');
        const file = path.join(database.dataDir, 'calls.json');
        writeFileSync(file, JSON.stringify({ type: 'track', event: 'Opened', userId: 'u1' }));
        expect(
          JSON.parse((await runCli(['import', 'events', file, '--json'], database.env)).stdout),
        ).toMatchObject({ rows: 1, stored: 1 });
        const xml = await runCli(['import', 'events', file, '--format', 'xml'], database.env);
        expect({ code: xml.code, stderr: xml.stderr }).toEqual({
          code: 1,
          stderr: 'mops: --format must be jsonl or csv, not xml\n',
        });
      } finally {
        await database.cleanup();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'names a file it cannot read before making a database',
    async () => {
      const database = await createTestDatabase('sqlite');
      try {
        const missing = path.join(database.dataDir, 'missing.jsonl');
        for (const args of [
          ['import', 'events', missing],
          ['segments', 'import-list', missing, '--segment', 'seg_any'],
        ]) {
          const result = await runCli(args, database.env);
          expect({ code: result.code, stderr: result.stderr }).toEqual({
            code: 1,
            stderr: `mops: cannot read ${missing}: no such file\n`,
          });
        }
        expect(existsSync(path.join(database.dataDir, 'mops.db'))).toBe(false);
      } finally {
        await database.cleanup();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'tells what an import stopped midway stored, as JSON with --json',
    async () => {
      const database = await createTestDatabase('sqlite');
      try {
        const file = path.join(database.dataDir, 'latin1.jsonl');
        const line = (userId: string, name: string) =>
          `{"type":"identify","userId":"${userId}","traits":{"name":"${name}"}}\n`;
        // Read in chunks: the rows of those before the one that is not UTF-8 are imported.
        const good = Array.from({ length: 3000 }, (_, i) => line(`s${i}`, 'Ada')).join('');
        writeFileSync(file, Buffer.concat([Buffer.from(good), Buffer.from(line('s-last', 'Zoë'), 'latin1')]));
        const json = await runCli(['import', 'events', file, '--json'], database.env);
        expect(json.code).toBe(1);
        const stopped = JSON.parse(json.stdout);
        expect(stopped).toMatchObject({
          stored: stopped.rows,
          duplicates: 0,
          rejected: 0,
          stopped: expect.stringMatching(/not UTF-8/),
        });
        expect(stopped.rows).toBeGreaterThan(1000);
        expect(json.stderr).toMatch(/^mops: .*not UTF-8/);
        const human = await runCli(['import', 'events', file], database.env);
        expect(human.code).toBe(1);
        expect(human.stdout).toBe(
          `Stopped importing latin1.jsonl into Default: ${stopped.rows} rows, 0 stored, ${stopped.rows} duplicates (imported within the last 24 h), 0 rejected.\n`,
        );
        expect(human.stderr).toMatch(/^mops: .*not UTF-8/);
      } finally {
        await database.cleanup();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'refuses to split roles on the embedded SQLite database',
    async () => {
      const database = await createTestDatabase('sqlite');
      try {
        const result = await runCli(['start', '--role', 'worker'], database.env);
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/SQLite database serves one process/);
      } finally {
        await database.cleanup();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('mops start', () => {
  it(
    'shows the first log-in at the first start that listens, when an earlier one found its port taken',
    async () => {
      const database = await createTestDatabase('sqlite');
      const busy = createServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      const { port } = busy.address() as AddressInfo;
      try {
        const failed = await runCli(['start'], {
          ...database.env,
          MOPS_HOST: '127.0.0.1',
          MOPS_PORT: String(port),
        });
        expect(failed.code).toBe(1);
        expect(failed.stderr).toMatch(/EADDRINUSE/);
        const server = await startServerProcess({ ...database.env, MOPS_PORT: '0' });
        try {
          const output = server.output();
          expect(output).toMatch(/e-mail: +admin@localhost/);
          const password = /password: +(\S+)/.exec(output)?.[1];
          const login = await fetch(`${server.url}/api/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email: 'admin@localhost', password }),
          });
          expect(login.status).toBe(200);
        } finally {
          await killHard(server.child);
        }
      } finally {
        busy.close();
        await database.cleanup();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe.each(BACKENDS)('mops CLI on %s', (backend) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(async () => {
    await database?.cleanup();
  });

  const cli = async (...args: string[]) => {
    const result = await runCli(args, database.env);
    if (result.code !== 0 && !args.includes('import'))
      throw new Error(`mops ${args.join(' ')} failed:\n${result.stderr}`);
    return result;
  };

  it(
    'migrates, then has nothing left to do',
    async () => {
      expect(JSON.parse((await cli('migrate', '--json')).stdout)).toEqual({
        database: backend,
        applied: [
          '0001-initial',
          '0002-journeys',
          '0003-segments',
          '0004-profile-timers',
          '0005-merge-events',
          '0006-hand-off-turns',
          '0007-scores-in-double-precision',
          '0008-scores-by-profile',
          '0009-segment-ready-since',
          '0010-profile-revision',
          '0011-inbound-texts',
          '0012-instances-by-version',
          '0013-rejected-once',
          '0014-merge-order',
          '0015-login-failures',
          '0016-score-model-revision',
          '0017-unnamed-views',
          '0018-set-aside-events',
          '0019-set-aside-timers',
          '0020-segment-backfill-failure',
          '0021-set-aside-resolution',
          '0022-owed-hand-offs',
          '0023-profile-search-text',
          '0024-split-entries',
          '0025-key-actors',
          '0026-messages-by-address',
          '0027-profile-phone-numbers',
          '0028-score-replays',
          '0029-stage-timers',
          '0030-login-attempt-ids',
          '0031-goal-met-after-ending',
          '0032-stage-indexes',
          '0033-message-delivered-at',
          '0034-journey-member-entries',
          '0035-list-additions',
          '0036-sms-links',
          '0037-score-refresh-timers',
          '0038-hand-offs-newest-first',
          '0039-message-sequences',
          '0040-suppressions-keep-replaced',
          '0041-account-trait-changes',
        ],
      });
      expect(JSON.parse((await cli('migrate', '--json')).stdout)).toEqual({ database: backend, applied: [] });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'creates, lists and revokes keys, printing JSON for scripts',
    async () => {
      const created = JSON.parse(
        (await cli('keys', 'create', '--kind', 'write', '--name', 'website', '--json')).stdout,
      );
      expect(created).toMatchObject({ kind: 'write', name: 'website', key: expect.stringMatching(/^wk_/) });
      const listed = JSON.parse((await cli('keys', 'list', '--json')).stdout) as Array<{
        id: string;
        revokedAt: number | null;
      }>;
      expect(listed.find((key) => key.id === created.id)?.revokedAt).toBeNull();
      expect(JSON.stringify(listed)).not.toContain(created.key);
      await cli('keys', 'revoke', created.id);
      const after = JSON.parse((await cli('keys', 'list', '--json')).stdout) as Array<{
        id: string;
        revokedAt: number | null;
      }>;
      expect(after.find((key) => key.id === created.id)?.revokedAt).toEqual(expect.any(Number));
      const human = (await cli('keys', 'list')).stdout;
      expect(human).toMatch(/ID\s+KIND\s+NAME/);
      // Made and revoked here, it says so: no user or key to name.
      expect(human.split('\n').find((line) => line.includes(created.id))).toMatch(
        /website .* command line\s+revoked \S+ by command line/,
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'imports JSON Lines, keeps bad rows as rejected, and skips what it already imported',
    async () => {
      const file = path.join(database.dataDir, 'events.jsonl');
      writeFileSync(
        file,
        [
          JSON.stringify({ type: 'identify', userId: 'imp-1', traits: { email: 'imp1@example.com' } }),
          JSON.stringify({
            type: 'track',
            userId: 'imp-1',
            event: 'Order Completed',
            timestamp: '2026-10-01T12:00:00Z',
          }),
          '{"type": "track", broken',
          JSON.stringify({ type: 'track', event: 'No one' }),
          '',
          JSON.stringify({ type: 'page', anonymousId: 'a-9', name: 'Home' }),
        ].join('\n'),
      );
      const first = await cli('import', 'events', file, '--json');
      expect(first.code).toBe(1);
      const summary = JSON.parse(first.stdout);
      expect(summary).toMatchObject({ rows: 5, stored: 3, duplicates: 0, rejected: 2 });
      expect(summary.rejectedRows).toEqual([
        { line: 3, reason: expect.stringMatching(/malformed JSON/), field: null },
        { line: 4, reason: expect.stringMatching(/userId or anonymousId is required/), field: 'userId' },
      ]);
      const again = JSON.parse((await cli('import', 'events', file, '--json')).stdout);
      expect(again).toMatchObject({ rows: 5, stored: 0, duplicates: 3, rejected: 2 });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'says for how long a file imported again is skipped: within the dedupe window on SQLite, for good on PostgreSQL',
    async () => {
      const env = { ...database.env, MOPS_DEDUPE_WINDOW_HOURS: '6' };
      const file = path.join(database.dataDir, 'window.jsonl');
      writeFileSync(file, JSON.stringify({ type: 'track', event: 'Window', userId: 'window-1' }));
      expect((await runCli(['import', 'events', file], env)).code).toBe(0);
      const again = await runCli(['import', 'events', file], env);
      expect(again.stdout.split('\n').slice(0, 2)).toEqual(
        backend === 'sqlite'
          ? [
              expect.stringContaining(
                '1 rows, 0 stored, 1 duplicates (imported within the last 6 h), 0 rejected.',
              ),
              'Rows already imported are skipped when imported again within the dedupe window, 6 h (MOPS_DEDUPE_WINDOW_HOURS); after it they are stored again.',
            ]
          : [
              expect.stringContaining('1 rows, 0 stored, 1 duplicates (already stored), 0 rejected.'),
              'Rows already imported are skipped whenever they are imported again.',
            ],
      );
      const help = await runCli(['import', 'events', '--help'], env);
      expect(help.stdout.replace(/\s+/g, ' ')).toContain(
        'on PostgreSQL for good; on SQLite only within the dedupe window, MOPS_DEDUPE_WINDOW_HOURS (now 6 h), after which they are stored again.',
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it.skipIf(process.platform !== 'linux')(
    'stops its progress bar when an import fails, giving the terminal back its cursor and line wrap',
    async () => {
      const file = path.join(database.dataDir, 'latin1.jsonl');
      const line = (name: string) => `{"type":"identify","userId":"bar-1","traits":{"name":"${name}"}}\n`;
      writeFileSync(file, Buffer.concat([Buffer.from(line('Ada')), Buffer.from(line('Zoë'), 'latin1')]));
      const { code, output } = await runCliInTerminal(['import', 'events', file], database.env);
      expect(code).toBe(1);
      const bar = output.indexOf('importing ');
      const error = output.indexOf('mops: ');
      expect(bar).toBeGreaterThan(-1);
      expect(error).toBeGreaterThan(bar);
      // Between them: the cursor shown, line wrap on, and a new line for the error.
      const between = output.slice(bar, error);
      expect(between).toContain('\x1B[?25h');
      expect(between).toContain('\x1B[?7h');
      expect(between).toMatch(/\n$/);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'imports CSV with nested columns and typed cells, keeping malformed lines as rejected',
    async () => {
      const file = path.join(database.dataDir, 'orders.csv');
      writeFileSync(
        file,
        [
          'type,userId,event,timestamp,properties.total,properties.coupon,traits.vip',
          'track,csv-1,Order Completed,2026-10-02T08:00:00Z,19.90,WELCOME,',
          'track,csv-2,One,Too,Many,Columns,Here,And,More',
          'identify,csv-1,,,,,true',
        ].join('\n'),
      );
      const result = await cli('import', 'events', file, '--json');
      const summary = JSON.parse(result.stdout);
      expect(summary).toMatchObject({ rows: 3, stored: 2, rejected: 1 });
      expect(summary.rejectedRows).toEqual([
        { line: 3, reason: expect.stringMatching(/malformed CSV/), field: null },
      ]);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'adds a CSV to a static segment, matching the contacts the imported events made',
    async () => {
      // The events imported above become profiles once the pipeline has run over them.
      const storage = await openStorage(testConfig(database), systemClock);
      try {
        const work = createJourneyWork({
          storage,
          clock: systemClock,
          logger: pino({ level: 'silent' }),
          onMessagesQueued: () => undefined,
        });
        await work.pipeline.drain();
        const [workspace] = await storage.workspaces.list();
        const segment = await createSegment(storage, {
          workspaceId: workspace?.id as string,
          input: { name: 'Fair visitors', kind: 'static' },
          now: Date.now(),
        });
        const file = path.join(database.dataDir, 'visitors.csv');
        // csv-1 twice: one contact matched, one row repeating it.
        writeFileSync(file, ['user_id', 'csv-1', 'someone-else', 'csv-1'].join('\n'));
        const result = await cli('segments', 'import-list', file, '--segment', segment.id, '--json');
        expect(JSON.parse(result.stdout)).toMatchObject({
          rows: 3,
          matched: 1,
          unmatched: 1,
          duplicates: 1,
          added: 1,
          unmatchedRows: [{ line: 3, key: 'someone-else' }],
        });
        expect(await storage.segments.countMembers(segment.id)).toBe(1);
        const told = await cli('segments', 'import-list', file, '--segment', segment.id);
        expect(told.stdout.split('\n')[0]).toBe(
          `Imported visitors.csv into segment ${segment.id}: 3 rows, 1 contact matched (0 newly added), 1 duplicate row, 1 unmatched.`,
        );
        // A gzip of a list is read as the list it holds, as the API reads a compressed upload.
        const gzipped = path.join(database.dataDir, 'visitors.csv.gz');
        writeFileSync(gzipped, gzipSync(['user_id', 'someone-else', 'csv-1'].join('\n')));
        const fromGzip = await cli('segments', 'import-list', gzipped, '--segment', segment.id, '--json');
        expect(JSON.parse(fromGzip.stdout)).toMatchObject({ rows: 2, matched: 1, unmatched: 1, added: 0 });
        // A gzip cut short (a download stopped midway) is named as such, not an unhandled stream error.
        const whole = gzipSync(
          ['user_id', 'csv-2', ...Array.from({ length: 5000 }, (_, i) => `n${i}`)].join('\n'),
        );
        const cut = path.join(database.dataDir, 'cut.csv.gz');
        writeFileSync(cut, whole.subarray(0, whole.length - 40));
        const fromCut = await runCli(['segments', 'import-list', cut, '--segment', segment.id], database.env);
        expect({ code: fromCut.code, stderr: fromCut.stderr }).toEqual({
          code: 1,
          stderr: 'mops: unexpected end of file\n',
        });
        expect(await storage.segments.countMembers(segment.id)).toBe(1);
      } finally {
        await storage.close();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'applies a journey from YAML, publishes it, lists, pauses, resumes, republishes and archives it',
    async () => {
      const file = path.join(database.dataDir, 'welcome.yaml');
      writeFileSync(
        file,
        [
          'name: Welcome',
          'entry:',
          '  trigger: { type: event, event: Signed Up }',
          'start: tag',
          'steps:',
          '  - { id: tag, type: update_traits, set: { welcomed: true }, next: wait }',
          '  - { id: wait, type: wait, duration: 1d, next: done }',
          '  - { id: done, type: exit }',
        ].join('\n'),
      );
      const applied = JSON.parse((await cli('journeys', 'apply', file, '--publish', '--json')).stdout);
      expect(applied).toMatchObject({ name: 'Welcome', status: 'published', created: true, version: 1 });
      const again = JSON.parse((await cli('journeys', 'apply', file, '--json')).stdout);
      expect(again).toMatchObject({ id: applied.id, created: false, version: null });
      const listed = JSON.parse((await cli('journeys', 'list', '--json')).stdout);
      expect(listed).toEqual([expect.objectContaining({ id: applied.id, status: 'published', version: 1 })]);
      expect(JSON.parse((await cli('journeys', 'pause', applied.id, '--json')).stdout)).toEqual({
        id: applied.id,
        status: 'paused',
      });
      expect(JSON.parse((await cli('journeys', 'resume', applied.id, '--json')).stdout)).toEqual({
        id: applied.id,
        status: 'published',
      });
      // Applied again unchanged: published, it is the version it was (a pipeline applying on every run adds none).
      expect(JSON.parse((await cli('journeys', 'publish', applied.id, '--json')).stdout)).toEqual({
        id: applied.id,
        status: 'published',
        version: 1,
      });
      expect(JSON.parse((await cli('journeys', 'archive', applied.id, '--json')).stdout)).toEqual({
        id: applied.id,
        status: 'archived',
        ended: 0,
      });
      const republish = await runCli(['journeys', 'publish', applied.id], database.env);
      expect(republish.code).toBe(1);
      expect(republish.stderr).toMatch(/an archived journey cannot be published/);
      const broken = path.join(database.dataDir, 'broken.json');
      writeFileSync(
        broken,
        JSON.stringify({
          name: 'Broken',
          entry: { trigger: { type: 'manual' } },
          start: 'a',
          steps: [{ id: 'a', type: 'wait', duration: 'soon', next: 'a' }],
        }),
      );
      const failed = await runCli(['journeys', 'apply', broken], database.env);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/steps\.0\.duration: must be a number and a unit/);
      // Unfinished (no event, no duration yet): saved as a draft, as the API saves one; never published.
      const halfBuilt = path.join(database.dataDir, 'half-built.json');
      writeFileSync(
        halfBuilt,
        JSON.stringify({
          name: 'Half built',
          entry: { trigger: { type: 'event', event: '' } },
          start: 'a',
          steps: [{ id: 'a', type: 'wait', duration: '', next: 'done' }],
        }),
      );
      const unpublishable = await runCli(['journeys', 'apply', halfBuilt, '--publish'], database.env);
      expect(unpublishable.code).toBe(1);
      expect(unpublishable.stderr).toMatch(/half-built\.json\.entry\.trigger\.event: must be filled in/);
      expect(JSON.parse((await cli('journeys', 'apply', halfBuilt, '--json')).stdout)).toMatchObject({
        name: 'Half built',
        status: 'draft',
        created: true,
        version: null,
      });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'saves nothing when apply --publish is refused, naming the field in the file',
    async () => {
      const file = path.join(database.dataDir, 'nudge.yaml');
      const write = (template: string) =>
        writeFileSync(
          file,
          [
            'name: Nudge',
            'entry:',
            '  trigger: { type: event, event: Cart Abandoned }',
            'start: mail',
            'steps:',
            `  - { id: mail, type: send_email, template: ${template}, next: done }`,
            '  - { id: done, type: exit }',
          ].join('\n'),
        );
      const nudges = async () =>
        (JSON.parse((await cli('journeys', 'list', '--json')).stdout) as Array<{ name: string }>).filter(
          (journey) => journey.name === 'Nudge',
        );
      write('tpl_nope');
      const refused = await runCli(['journeys', 'apply', file, '--publish'], database.env);
      expect({ code: refused.code, stderr: refused.stderr }).toEqual({
        code: 1,
        stderr: `mops: ${file}.steps.0.template: template tpl_nope does not exist\n`,
      });
      expect(await nudges()).toEqual([]);
      // A draft there already is left as it was.
      write('tpl_first');
      const draft = JSON.parse((await cli('journeys', 'apply', file, '--json')).stdout);
      write('tpl_nope');
      expect((await runCli(['journeys', 'apply', file, '--publish'], database.env)).code).toBe(1);
      const storage = await openStorage(testConfig(database), systemClock);
      try {
        const [workspace] = await storage.workspaces.list();
        const kept = await storage.journeys.find(workspace?.id as string, draft.id);
        expect(kept?.draft.steps[0]).toMatchObject({ template: 'tpl_first' });
      } finally {
        await storage.close();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
