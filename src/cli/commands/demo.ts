import type { Command } from 'commander';
import pino from 'pino';
import { loadDemoShop } from '../../demo/demo-shop.js';
import { createJourneyWork } from '../../server/background.js';
import { pickWorkspace, print, withStorage } from '../cli-context.js';
import { withProgressBar } from '../progress-bar.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'load the demo shop: ~10,000 contacts with a month of page views, carts and orders, score models, lifecycle stages, six live segments and two published journeys with their e-mails',
    )
    .option('--contacts <n>', 'how many contacts', '10000')
    .option('--workspace <id>', 'workspace id (default: the only workspace)')
    .option('--json', 'print the summary as JSON (no progress bar)')
    .action(async (options: { contacts: string; workspace?: string; json?: boolean }) => {
      const contacts = Number(options.contacts);
      if (!Number.isInteger(contacts) || contacts < 10 || contacts > 50_000)
        throw new Error('--contacts: must be a whole number from 10 to 50000');
      await withStorage(async ({ storage, clock }) => {
        const workspace = await pickWorkspace(storage, options.workspace);
        // The history goes through profiles, scores and segments here, whether or not a server runs.
        const work = createJourneyWork({
          storage,
          clock,
          logger: pino({ level: 'warn' }),
          onMessagesQueued: () => undefined,
        });
        const summary = await withProgressBar(
          {
            show: !options.json,
            format: 'loading the demo shop {bar} {value}/{total} contacts | {events} events',
            total: contacts,
            payload: { events: 0 },
          },
          (bar) =>
            loadDemoShop(storage, {
              workspaceId: workspace.id,
              clock,
              contacts,
              waitForPipeline: async () => {
                await work.pipeline.drain(30 * 60_000);
              },
              onProgress: (progress) => bar?.update(progress.contacts, { events: progress.events }),
            }),
        );
        print(
          summary,
          options,
          (s) =>
            `Loaded the demo shop into ${workspace.name}: ${s.contacts} contacts, ${s.events} events, ${s.segments.length} live segments, ${s.journeys.length} published journeys. Open the console (npm start, if Mops is not running) to look around.`,
        );
      });
    });
}
