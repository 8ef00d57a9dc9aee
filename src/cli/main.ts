#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../core/config.js';
import { AppError } from '../core/errors.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerImportCommand } from './commands/import-events.js';
import { registerJourneyCommands } from './commands/journeys.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerSegmentCommands } from './commands/segments.js';
import { registerStartCommand } from './commands/start.js';
import { registerUserCommands } from './commands/users.js';

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

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exit(error.exitCode);
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`mops: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof AppError) {
    process.stderr.write(`mops: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`mops: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
