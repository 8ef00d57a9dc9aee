import path from 'node:path';
import type { Command } from 'commander';
import { type Config, loadConfig } from '../../core/config.js';
import { AppError } from '../../core/errors.js';
import {
  type ImportFormat,
  ImportStoppedError,
  type ImportSummary,
  importEventsFile,
} from '../../ingest/import-file.js';
import { checkReadable, pickWorkspace, print, withStorage } from '../cli-context.js';
import { withProgressBar } from '../progress-bar.js';

export function registerImportCommand(program: Command): void {
  const importer = program.command('import').description('bulk-import data from files');
  importer
    .command('events')
    .description(
      'import Segment calls from JSON Lines (one call per line) or CSV (columns type, event, userId, properties.x, traits.x, …; other columns are traits of identify rows — a row without type or event — and properties of the rest)',
    )
    .argument(
      '<file>',
      'a JSON Lines file (.jsonl, .ndjson or .json) or a .csv file, or a gzip of one (.csv.gz, …)',
    )
    .option('--format <format>', 'jsonl or csv (default: from the file extension, as above)')
    .option('--workspace <id>', 'workspace id (default: the only workspace)')
    .option('--json', 'print the summary as JSON (no progress bar)')
    .addHelpText('after', () => `\n${importedAgainHelp()}`)
    .action(async (file: string, options: { format?: string; workspace?: string; json?: boolean }) => {
      const format = resolveFormat(file, options.format);
      checkReadable(file);
      await withStorage(async ({ config, storage, clock }) => {
        const again = importedAgain(config);
        const workspace = await pickWorkspace(storage, options.workspace);
        const summary = await withProgressBar(
          {
            show: !options.json,
            format:
              'importing {bar} {percentage}% | {rows} rows | {stored} stored, {duplicates} duplicates, {rejected} rejected',
            total: 1,
            payload: { rows: 0, stored: 0, duplicates: 0, rejected: 0 },
          },
          (bar) =>
            importEventsFile(storage, {
              workspaceId: workspace.id,
              file,
              format,
              now: () => clock.now(),
              onProgress: (progress) => {
                bar?.setTotal(Math.max(progress.totalBytes, 1));
                bar?.update(progress.bytesRead, progress);
              },
            }),
        ).catch((error: unknown) => {
          if (!(error instanceof ImportStoppedError)) throw error;
          error.message += ` ${again.rule}`;
          // What it stored before it stopped is told as a finished import's is; the error follows.
          if (error.summary)
            print({ ...error.summary, stopped: error.message }, options, (s) =>
              describeSummary(s, `Stopped importing ${path.basename(file)} into ${workspace.name}`, {
                ...again,
                rule: '', // the error says it
              }),
            );
          throw error;
        });
        print(summary, options, (s) =>
          describeSummary(s, `Imported ${path.basename(file)} into ${workspace.name}`, again),
        );
        if (summary.rejected > 0) process.exitCode = 1;
      });
    });
}

/** An import's summary for people: `heading` says what was imported where. */
function describeSummary(s: ImportSummary, heading: string, again: ReturnType<typeof importedAgain>): string {
  return [
    `${heading}: ${s.rows} rows, ${s.stored} stored, ${s.duplicates} duplicates (${again.duplicates}), ${s.rejected} rejected.`,
    ...s.rejectedRows.map((row) => `  line ${row.line}: ${row.reason}`),
    s.rejected > s.rejectedRows.length
      ? `  … and ${s.rejected - s.rejectedRows.length} more (see rejected events in the API).`
      : '',
    again.rule,
  ]
    .filter(Boolean)
    .join('\n');
}

function resolveFormat(file: string, explicit: string | undefined): ImportFormat {
  if (explicit !== undefined) {
    if (explicit !== 'jsonl' && explicit !== 'csv')
      throw new AppError('invalid_input', `--format must be jsonl or csv, not ${explicit}`, {
        field: '--format',
      });
    return explicit;
  }
  // The extensions the help lists for <file>.
  if (/\.csv(\.gz)?$/i.test(file)) return 'csv';
  if (/\.(jsonl|ndjson|json)(\.gz)?$/i.test(file)) return 'jsonl';
  throw new AppError(
    'invalid_input',
    `cannot tell the format of ${file} from its extension: pass --format jsonl or --format csv`,
    { field: '--format' },
  );
}

/**
 * What importing the same rows again does, in the words the command uses. PostgreSQL keeps every
 * messageId in a unique index; SQLite, to keep ingest fast, only remembers those received within
 * the dedupe window (MOPS_DEDUPE_WINDOW_HOURS), so a file imported again after it is stored again.
 */
function importedAgain(config: Config): { duplicates: string; rule: string } {
  if (config.database.kind === 'postgres')
    return {
      duplicates: 'already stored',
      rule: 'Rows already imported are skipped whenever they are imported again.',
    };
  const hours = windowHours(config);
  return {
    duplicates: `imported within the last ${hours}`,
    rule: `Rows already imported are skipped when imported again within the dedupe window, ${hours} (MOPS_DEDUPE_WINDOW_HOURS); after it they are stored again.`,
  };
}

function importedAgainHelp(): string {
  let hours = '24 h by default';
  try {
    hours = `now ${windowHours(loadConfig())}`;
  } catch {
    // A configuration that does not parse is reported by the command itself; help still helps.
  }
  return [
    'Importing a file again skips the rows already imported (by messageId, or for rows without one, by',
    'their text): on PostgreSQL for good; on SQLite only within the dedupe window, MOPS_DEDUPE_WINDOW_HOURS',
    `(${hours}), after which they are stored again.`,
  ].join('\n');
}

function windowHours(config: Config): string {
  return `${config.dedupeWindowMs / 3_600_000} h`;
}
