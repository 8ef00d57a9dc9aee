import type { Command } from 'commander';
import { createUser, generatePassword, resetPassword } from '../../access/access.js';
import { ROLES, type Role, UserEmail } from '../../core/access.js';
import { checkedInput, pickWorkspace, print, withStorage } from '../cli-context.js';

export function registerUserCommands(program: Command): void {
  const users = program.command('users').description('manage console users');

  users
    .command('create')
    .description('create a user with a generated password')
    .argument('<email>')
    .option('--role <role>', `one of ${ROLES.join(', ')}`, 'member')
    .option('--workspace <id>', 'workspace id (default: the only workspace)')
    .option('--json', 'print JSON')
    .action(async (given: string, options: { role: string; workspace?: string; json?: boolean }) => {
      if (!(ROLES as readonly string[]).includes(options.role))
        throw new Error(`--role must be one of ${ROLES.join(', ')}`);
      const email = checkedInput(UserEmail, given, 'email');
      await withStorage(async ({ storage, clock }) => {
        const workspace = await pickWorkspace(storage, options.workspace);
        const password = generatePassword();
        const user = await createUser(storage, clock, {
          email,
          password,
          workspaceId: workspace.id,
          role: options.role as Role,
        });
        print(
          { ...user, password },
          options,
          () => `Created ${user.email} (${options.role}). Password, shown once: ${password}`,
        );
      });
    });

  users
    .command('reset-password')
    .description('give a user a new generated password (e.g. the first admin, if its password was lost)')
    .argument('<email>')
    .option('--json', 'print JSON')
    .action(async (email: string, options: { json?: boolean }) => {
      await withStorage(async ({ storage }) => {
        const password = await resetPassword(storage, email);
        print({ email, password }, options, () => `New password for ${email}, shown once: ${password}`);
      });
    });
}
