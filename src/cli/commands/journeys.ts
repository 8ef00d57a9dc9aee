import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { AppError } from '../../core/errors.js';
import type { JourneyDraft } from '../../core/journey-draft.js';
import {
  applyJourney,
  archiveJourney,
  JourneyEngine,
  parseDefinition,
  parseDraft,
  publishJourney,
  setJourneyPaused,
} from '../../journeys/journeys.js';
import { pickWorkspace, print, table, withStorage } from '../cli-context.js';

export function registerJourneyCommands(program: Command): void {
  const journeys = program
    .command('journeys')
    .description('manage journeys from files (see docs/journeys.md)');

  journeys
    .command('apply')
    .description(
      'create the journey a JSON or YAML file describes, or replace the draft of the one with that name (unfinished, it is kept as a draft)',
    )
    .argument('<file>', 'a .json, .yaml or .yml journey definition')
    .option('--publish', 'publish it as a new version at once (it must be complete)')
    .option('--workspace <id>', 'workspace id (default: the only workspace)')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { publish?: boolean; workspace?: string; json?: boolean }) => {
      const definition = journeyToApply(file, Boolean(options.publish));
      await withStorage(async ({ storage, clock }) => {
        const workspace = await pickWorkspace(storage, options.workspace);
        const result = await applyJourney(storage, clock, {
          workspaceId: workspace.id,
          definition,
          publish: Boolean(options.publish),
          fieldPrefix: file,
        });
        print(
          {
            id: result.journey.id,
            name: result.journey.name,
            status: result.journey.status,
            created: result.created,
            version: result.version ?? null,
          },
          options,
          () =>
            `${result.created ? 'Created' : 'Updated'} journey "${result.journey.name}" (${result.journey.id})${
              result.version ? `, published as version ${result.version}` : ' as a draft'
            }.`,
        );
      });
    });

  journeys
    .command('list')
    .description('list journeys with their status and counts')
    .option('--workspace <id>', 'workspace id (default: the only workspace)')
    .option('--json', 'print JSON')
    .action(async (options: { workspace?: string; json?: boolean }) => {
      await withStorage(async ({ storage }) => {
        const workspace = await pickWorkspace(storage, options.workspace);
        const list = await storage.journeys.list(workspace.id);
        const rows = await Promise.all(
          list.map(async (journey) => {
            const report = await storage.journeys.report(journey.id);
            return {
              id: journey.id,
              name: journey.name,
              status: journey.status,
              version: journey.currentVersion,
              entered: report.entered,
              active: report.active,
              converted: report.converted,
            };
          }),
        );
        print(rows, options, (items) =>
          items.length === 0
            ? 'No journeys yet: write one (docs/journeys.md) and `mops journeys apply FILE`.'
            : table([
                ['ID', 'NAME', 'STATUS', 'VERSION', 'ENTERED', 'ACTIVE', 'CONVERTED'],
                ...items.map((j) => [
                  j.id,
                  j.name,
                  j.status,
                  String(j.version ?? '-'),
                  String(j.entered),
                  String(j.active),
                  String(j.converted),
                ]),
              ]),
        );
      });
    });

  for (const action of ['publish', 'pause', 'resume', 'archive'] as const) {
    journeys
      .command(action)
      .description(
        {
          publish: 'publish the draft as a new version',
          pause: 'stop entries and sending; instances keep their place',
          resume: 'resume a paused journey',
          archive: 'stop the journey for good and end its running instances',
        }[action],
      )
      .argument('<id>', 'journey id, as `journeys list` shows it')
      .option('--workspace <id>', 'workspace id (default: the only workspace)')
      .option('--json', 'print JSON')
      .action(async (id: string, options: { workspace?: string; json?: boolean }) => {
        await withStorage(async ({ storage, clock }) => {
          const workspace = await pickWorkspace(storage, options.workspace);
          let result: { id: string; status: string; version?: number; ended?: number };
          let note = '';
          if (action === 'publish') {
            const { journey, version } = await publishJourney(storage, clock, workspace.id, id);
            result = { id, status: journey.status, version: version.version };
            note = `, version ${version.version}`;
          } else if (action === 'archive') {
            const { status } = await archiveJourney(storage, clock, workspace.id, id);
            const ended = await new JourneyEngine({
              storage,
              clock,
              logger: pino({ level: 'silent' }),
            }).exitAll(workspace.id, id, 'journey archived');
            result = { id, status, ended };
            note = `, ${ended} running instances ended`;
          } else {
            const { status } = await setJourneyPaused(storage, clock, workspace.id, id, action === 'pause');
            result = { id, status };
          }
          print(result, options, () => `Journey ${id} is ${result.status}${note}.`);
        });
      });
  }
}

/**
 * The journey a file describes: with --publish, complete (the first thing missing refused, naming its
 * field); without, a draft finished or not, as the API saves one. Malformed, it is refused either way.
 */
function journeyToApply(file: string, publish: boolean): JourneyDraft {
  const input = readDefinition(file);
  return publish ? parseDefinition(input, file) : parseDraft(input, file);
}

function readDefinition(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AppError('invalid_input', `cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new AppError(
      'invalid_input',
      `${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(error as Error).message}`,
    );
  }
}
