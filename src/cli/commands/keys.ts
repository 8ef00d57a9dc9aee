import type { Command } from 'commander';
import { ApiKeyVerifier, createApiKey, keyActorsOf } from '../../access/access.js';
import { AccessName, type KeyActor } from '../../core/access.js';
import { checkedInput, pickWorkspace, print, table, withStorage } from '../cli-context.js';

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('create, list and revoke API keys');

  keys
    .command('create')
    .description('create a key; it is printed once and stored only as a hash')
    .requiredOption('--kind <kind>', 'write (send events only) or secret (admin API)')
    .option('--name <name>', 'what the key is for, e.g. "website"', 'default')
    .option('--workspace <id>', 'workspace id (default: the only workspace)')
    .option('--json', 'print JSON')
    .action(async (options: { kind: string; name: string; workspace?: string; json?: boolean }) => {
      if (options.kind !== 'write' && options.kind !== 'secret') {
        throw new Error(`--kind must be write or secret, not ${options.kind}`);
      }
      const kind = options.kind;
      const name = checkedInput(AccessName, options.name, '--name');
      await withStorage(async ({ storage, clock }) => {
        const workspace = await pickWorkspace(storage, options.workspace);
        const { key, token } = await createApiKey(storage, {
          workspaceId: workspace.id,
          kind,
          name,
          now: clock.now(),
          createdBy: null,
        });
        print({ ...key, key: token }, options, () =>
          [
            `Created ${kind} key ${key.id} ("${key.name}") in workspace ${workspace.name} (${workspace.id}):`,
            '',
            `  ${token}`,
            '',
            'It is shown only now; Mops keeps just its hash.',
          ].join('\n'),
        );
      });
    });

  keys
    .command('list')
    .description('list keys (their hints, never the keys)')
    .option('--workspace <id>', 'workspace id (default: the only workspace)')
    .option('--json', 'print JSON')
    .action(async (options: { workspace?: string; json?: boolean }) => {
      await withStorage(async ({ storage }) => {
        const workspace = await pickWorkspace(storage, options.workspace);
        const list = await storage.access.listApiKeys(workspace.id);
        const actors = await keyActorsOf(storage, list);
        const by = (id: string | null) => describeActor(id === null ? null : actors.get(id));
        print(list, options, (items) =>
          items.length === 0
            ? 'No keys yet: create one with `mops keys create --kind write --name website`.'
            : table([
                ['ID', 'KIND', 'NAME', 'HINT', 'CREATED', 'CREATED BY', 'STATUS'],
                ...items.map((key) => [
                  key.id,
                  key.kind,
                  key.name,
                  key.hint,
                  new Date(key.createdAt).toISOString(),
                  by(key.createdBy),
                  key.revokedAt
                    ? `revoked ${new Date(key.revokedAt).toISOString()} by ${by(key.revokedBy)}`
                    : 'active',
                ]),
              ]),
        );
      });
    });

  keys
    .command('revoke')
    .description('revoke a key; it stops working at once (other running processes: within 10 s)')
    .argument('<id>', 'key id, as `keys list` shows it')
    .option('--workspace <id>', 'workspace id (default: the only workspace)')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { workspace?: string; json?: boolean }) => {
      await withStorage(async ({ storage, clock }) => {
        const workspace = await pickWorkspace(storage, options.workspace);
        const revoked = await new ApiKeyVerifier(storage, clock).revoke(workspace.id, id, null);
        const made = revoked.filter((revokedId) => revokedId !== id);
        print({ id, revoked: true, keysItMadeRevoked: made }, options, () =>
          made.length === 0 ? `Revoked ${id}.` : `Revoked ${id} and the keys it created: ${made.join(', ')}.`,
        );
      });
    });
}

/** Who created or revoked a key, in a word or two; `null` is the command line. */
function describeActor(actor: KeyActor | null | undefined): string {
  if (!actor) return 'command line';
  if (actor.kind === 'key') return `key "${actor.name}"`;
  return actor.email ?? 'a deleted account';
}
