import { Command } from 'commander';
import { registerDemoCommand } from './commands/demo.js';
import { registerImportCommand } from './commands/import-events.js';
import { registerJourneyCommands } from './commands/journeys.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerSegmentCommands } from './commands/segments.js';
import { registerStartCommand } from './commands/start.js';
import { registerUserCommands } from './commands/users.js';

/** The `mops` command and all its subcommands; it throws instead of exiting (main.ts decides how to end). */
export function mopsProgram(): Command {
  const program = new Command()
    .name('mops')
    .description(
      'Mops, the marketing operations platform. Configuration comes from MOPS_* environment variables (see .env.example).',
    )
    .showHelpAfterError()
    .exitOverride();
  registerStartCommand(program);
  registerMigrateCommand(program);
  registerKeyCommands(program);
  registerUserCommands(program);
  registerImportCommand(program);
  registerJourneyCommands(program);
  registerSegmentCommands(program);
  registerDemoCommand(program);
  return program;
}
