import type { Command } from 'commander';
import { loadConfig } from '../../core/config.js';
import { openStorage } from '../../storage/open-storage.js';
import { print } from '../cli-context.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (start does this too)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const storage = await openStorage(loadConfig());
      try {
        const applied = await storage.migrate();
        print({ database: storage.dialect, applied }, options, () =>
          applied.length === 0 ? 'The database is up to date.' : `Applied: ${applied.join(', ')}`,
        );
      } finally {
        await storage.close();
      }
    });
}
