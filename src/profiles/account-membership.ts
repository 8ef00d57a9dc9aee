import { AppError } from '../core/errors.js';
import { ACCOUNT_LEFT } from '../core/mops-events.js';
import type { Storage } from '../storage/storage.js';
import { profileEvent } from './profile-events.js';

/**
 * Takes a contact out of an account (one who moved to another company: Segment's `group` call only
 * ever adds): its account traits no longer hold for it, and an `Account Left` event on the profile
 * has scoring and segments decide it again, as a `group` call would. A later `group` call naming
 * the account adds the contact back. 404 for an unknown profile or account, or a contact not in it.
 */
export async function removeContactFromAccount(
  storage: Storage,
  options: {
    workspaceId: string;
    profileId: string;
    accountId: string;
    /** Who did it, by id (a user's or an API key's): the event is on the contact's record, not staff e-mail. */
    by: string;
    now: number;
  },
): Promise<void> {
  const { workspaceId, accountId, by, now } = options;
  await storage.transaction(async (tx) => {
    // A merge moves account memberships: it waits, and the profile read here is the one it left.
    await tx.profiles.holdOffMerges();
    const profile = await tx.profiles.find(workspaceId, options.profileId);
    if (!profile)
      throw new AppError('not_found', `profile ${options.profileId} does not exist`, { field: 'profileId' });
    const account = await tx.profiles.findAccount(workspaceId, accountId);
    if (!account)
      throw new AppError('not_found', `account ${accountId} does not exist`, { field: 'accountId' });
    if (!(await tx.profiles.removeAccountMember(workspaceId, account.id, profile.id)))
      throw new AppError(
        'not_found',
        `profile ${profile.id} is not a contact of account ${account.groupId}`,
        {
          field: 'accountId',
        },
      );
    const event = profileEvent({
      workspaceId,
      identity: (await tx.segments.idsOf([profile.id])).get(profile.id),
      name: ACCOUNT_LEFT,
      key: `${account.id}-${profile.id}`,
      properties: { account_id: account.id, group_id: account.groupId, by },
      at: now,
    });
    if (event) await tx.generatedEvents.append([event]);
  });
}
