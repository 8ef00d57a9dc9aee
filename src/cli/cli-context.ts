import { accessSync, constants, statSync } from 'node:fs';
import type { z } from 'zod';
import { ensureFirstRun } from '../access/access.js';
import type { Workspace } from '../core/access.js';
import { type Clock, systemClock } from '../core/clock.js';
import { type Config, loadConfig } from '../core/config.js';
import { AppError } from '../core/errors.js';
import { describeIssue } from '../core/input-issues.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';

/** What a one-shot command works with: the same configuration and storage the server would use. */
export interface CliContext {
  config: Config;
  storage: Storage;
  clock: Clock;
}

/** Opens storage (migrating it, so commands work on a fresh data directory), runs `fn`, closes. */
export async function withStorage<T>(fn: (context: CliContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const clock = systemClock;
  const storage = await openStorage(config, clock);
  try {
    await storage.migrate();
    return await fn({ config, storage, clock });
  } finally {
    await storage.close();
  }
}

/** The workspace named by --workspace, or the only one there is. */
export async function pickWorkspace(storage: Storage, id: string | undefined): Promise<Workspace> {
  if (id) {
    const workspace = await storage.workspaces.find(id);
    if (!workspace)
      throw new AppError('not_found', `workspace ${id} does not exist`, { field: '--workspace' });
    return workspace;
  }
  const workspaces = await storage.workspaces.list();
  const [only] = workspaces;
  // A fresh installation gets its default workspace from whichever command comes first.
  if (!only) return (await ensureFirstRun(storage, systemClock, { withAdmin: false })).workspace;
  if (workspaces.length > 1) {
    throw new AppError(
      'invalid_input',
      `there are ${workspaces.length} workspaces; choose one with --workspace (${workspaces.map((w) => w.id).join(', ')})`,
      { field: '--workspace' },
    );
  }
  return only;
}

/** Prints `data` as JSON for scripts, or through `human` for people. */
export function print<T>(data: T, options: { json?: boolean }, human: (data: T) => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(data, null, 2)}\n` : `${human(data)}\n`);
}

export function table(rows: string[][]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A value given on the command line, checked by the schema the API checks it with; `field` names it. */
export function checkedInput<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const { message, detail } = describeIssue(parsed.error.issues[0]);
  throw new AppError('invalid_input', `${field}: ${message}`, { field, issue: detail });
}

/** Why a file cannot be read, in words, by the error code the system gives. */
const READ_FAILURES: Partial<Record<string, string>> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};

/** A file a command reads, checked before storage is opened: a missing one is named, and no database made for it. */
export function checkReadable(file: string): void {
  let reason: string | undefined;
  try {
    accessSync(file, constants.R_OK);
    if (statSync(file).isDirectory()) reason = 'it is a directory';
  } catch (error) {
    reason = READ_FAILURES[(error as NodeJS.ErrnoException).code ?? ''] ?? (error as Error).message;
  }
  if (reason !== undefined)
    throw new AppError('invalid_input', `cannot read ${file}: ${reason}`, { field: 'file' });
}
