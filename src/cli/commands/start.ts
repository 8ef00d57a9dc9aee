import type { Command } from 'commander';
import { loadConfig } from '../../core/config.js';
import { PROCESS_ROLES, type ProcessRole, type RunningMops, startMops } from '../../server/server.js';
import { hasWebConsole } from '../../server/web-console.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run Mops: the HTTP API and the event pipeline (migrates the database first)')
    .option(
      '--role <role>',
      `all (one process), api (HTTP only) or worker (pipeline only); api and worker need PostgreSQL`,
      'all',
    )
    .action(async (options: { role: string }) => {
      if (!(PROCESS_ROLES as readonly string[]).includes(options.role)) {
        throw new Error(`--role must be one of ${PROCESS_ROLES.join(', ')}, not ${options.role}`);
      }
      const config = loadConfig();
      const mops = await startMops({ config, role: options.role as ProcessRole });
      printBanner(mops, {
        database: config.database.kind === 'sqlite' ? config.database.path : 'PostgreSQL',
        hasConsole: hasWebConsole(config.webDir),
      });
      let isStopping = false;
      const shutdown = (signal: string) => {
        if (isStopping) {
          // Asked twice: stop now. Nothing acknowledged is lost; claimed messages go out after their lease.
          mops.logger.warn({ signal }, 'asked again to stop: stopping at once');
          process.exit(1);
        }
        isStopping = true;
        mops.logger.info({ signal }, 'shutting down');
        mops.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            mops.logger.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
    });
}

/** Plain stdout, not the log: the first admin password must reach the person, and only once. */
function printBanner(mops: RunningMops, options: { database: string; hasConsole: boolean }): void {
  const { database, hasConsole } = options;
  const lines = [''];
  if (mops.url) lines.push(`  Mops is listening on ${mops.url}  (role ${mops.role}, database ${database})`);
  else lines.push(`  Mops worker running (database ${database})`);
  const admin = mops.firstRun?.createdAdmin;
  if (admin) {
    lines.push(
      '',
      '  First log-in (shown only this once; `mops users reset-password` makes a new one):',
      `    e-mail:    ${admin.email}`,
      `    password:  ${admin.password}`,
      hasConsole
        ? `  Open ${mops.url} in a browser to log in, then choose your own password under Settings → My password.`
        : '  Log in through the API (POST /api/auth/login); the web console is not built here (npm run build).',
    );
  } else if (mops.url && !hasConsole) {
    lines.push('', '  The web console is not built here (npm run build): the API alone is served.');
  }
  if (mops.url) {
    lines.push(
      '',
      '  Send events: create a write key in the console (API keys) or with  npm run mops -- keys create --kind write --name website',
      `  and point a Segment or RudderStack client at ${mops.url}.  API reference: ${mops.url}/openapi.json`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
}
