#!/usr/bin/env node
import { CommanderError } from 'commander';
import { ConfigError } from '../core/config.js';
import { AppError } from '../core/errors.js';
import { mopsProgram } from './program.js';

const program = mopsProgram();

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
