import { statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { openFileSource } from '../../ingest/file-source.js';
import { importStaticList } from '../../segments/segments.js';
import { checkReadable, pickWorkspace, print, withStorage } from '../cli-context.js';
import { withProgressBar } from '../progress-bar.js';

export function registerSegmentCommands(program: Command): void {
  const segments = program.command('segments').description('segments: static lists');
  segments
    .command('import-list')
    .description(
      'add the contacts of a CSV to a static segment; rows name a contact by a user_id, anonymous_id or email column',
    )
    .argument('<file>', 'a .csv file with a header row (or a gzip of one)')
    .requiredOption('--segment <id>', 'the static segment to add to')
    .option('--workspace <id>', 'workspace id (default: the only workspace)')
    .option('--json', 'print the summary as JSON (no progress bar)')
    .action(async (file: string, options: { segment: string; workspace?: string; json?: boolean }) => {
      checkReadable(file);
      await withStorage(async ({ storage, clock }) => {
        const workspace = await pickWorkspace(storage, options.workspace);
        const totalBytes = Math.max(statSync(file).size, 1);
        let bytesRead = 0;
        const summary = await withProgressBar(
          {
            show: !options.json,
            format: 'importing {bar} {percentage}% | {rows} rows | {matched} matched, {unmatched} unmatched',
            total: totalBytes,
            payload: { rows: 0, matched: 0, unmatched: 0 },
          },
          async (bar) => {
            const summary = await importStaticList(storage, {
              workspaceId: workspace.id,
              segmentId: options.segment,
              source: openFileSource(file, (count) => {
                bytesRead += count;
              }),
              now: () => clock.now(),
              onProgress: (progress) => bar?.update(bytesRead, progress),
            });
            bar?.update(totalBytes, summary);
            return summary;
          },
        );
        print(summary, options, (s) =>
          [
            `Imported ${path.basename(file)} into segment ${options.segment}: ${counted(s.rows, 'row')}, ${counted(s.matched, 'contact')} matched (${s.added} newly added), ${counted(s.duplicates, 'duplicate row')}, ${s.unmatched} unmatched.`,
            ...s.unmatchedRows.map((row) => `  line ${row.line}: no profile for ${row.key}`),
            s.unmatched > s.unmatchedRows.length
              ? `  … and ${s.unmatched - s.unmatchedRows.length} more.`
              : '',
          ]
            .filter(Boolean)
            .join('\n'),
        );
      });
    });
}

/** "1 row", "3 rows". */
function counted(count: number, noun: string): string {
  return `${count.toLocaleString('en')} ${noun}${count === 1 ? '' : 's'}`;
}
