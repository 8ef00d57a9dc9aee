import type { Role } from '../core/access.js';
import { AppError } from '../core/errors.js';
import type { Member, Storage, StorageTx } from '../storage/storage.js';

/** Who asks for a change: only owners may touch owners; a secret key acts as an admin. */
export type MemberActor = { kind: 'key' } | { kind: 'user'; userId: string };

/**
 * Gives a member another role. Granting or taking away the owner role needs an owner; the last
 * owner cannot be demoted, so a workspace always keeps someone who can manage it.
 */
export async function changeMemberRole(
  storage: Storage,
  options: { workspaceId: string; userId: string; role: Role; actor: MemberActor },
): Promise<Member> {
  return changeMembership(storage, options, async (tx, member, members) => {
    if (options.role === 'owner' || member.role === 'owner') assertCanManageOwners(options.actor, members);
    if (member.role === 'owner' && options.role !== 'owner') assertAnotherOwner(members, member);
    await tx.access.updateMembershipRole({
      workspaceId: options.workspaceId,
      userId: options.userId,
      role: options.role,
    });
    return { ...member, role: options.role };
  });
}

/** Takes a user out of the workspace (the account stays, for its other workspaces); never the last owner. */
export async function removeMember(
  storage: Storage,
  options: { workspaceId: string; userId: string; actor: MemberActor },
): Promise<void> {
  await changeMembership(storage, options, async (tx, member, members) => {
    if (member.role === 'owner') {
      assertCanManageOwners(options.actor, members);
      assertAnotherOwner(members, member);
    }
    await tx.access.deleteMembership(options.workspaceId, options.userId);
    return member;
  });
}

/** Runs `change` on the member with the workspace's memberships locked, so two changes cannot both remove the last owner. */
function changeMembership(
  storage: Storage,
  options: { workspaceId: string; userId: string },
  change: (tx: StorageTx, member: Member, members: Member[]) => Promise<Member>,
): Promise<Member> {
  return storage.transaction(async (tx) => {
    await tx.access.lockMemberships(options.workspaceId);
    const members = await tx.access.listMembers(options.workspaceId);
    const member = members.find((candidate) => candidate.id === options.userId);
    if (!member) throw new AppError('not_found', `user ${options.userId} is not a member of this workspace`);
    return change(tx, member, members);
  });
}

/**
 * Checked under the lock, with the actor's role as it is now, not as it was before a concurrent change.
 * An API key is no owner: admins create keys, and one must not make its admin an owner, nor remove one.
 */
function assertCanManageOwners(actor: MemberActor, members: Member[]): void {
  const isOwner =
    actor.kind === 'user' && members.some((member) => member.id === actor.userId && member.role === 'owner');
  if (!isOwner)
    throw new AppError(
      'forbidden',
      actor.kind === 'key'
        ? 'an API key cannot make someone owner or change an owner: an owner does that, logged in'
        : 'only an owner can make someone owner or change an owner',
      { field: 'role' },
    );
}

function assertAnotherOwner(members: Member[], member: Member): void {
  if (!members.some((other) => other.role === 'owner' && other.id !== member.id))
    throw new AppError(
      'conflict',
      `${member.email} is the last owner of this workspace: make another member owner first`,
      { field: 'role', issue: { code: 'refused', reason: 'last_owner', params: { email: member.email } } },
    );
}
