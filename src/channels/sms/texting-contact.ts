import { newId } from '../../core/ids.js';
import { type Profile, TRAITS_UPDATED } from '../../core/profile.js';
import { profileEvent } from '../../profiles/profile-events.js';
import type { StorageTx } from '../../storage/storage.js';

/**
 * The contact a text from a number no profile holds is kept on, so that what they said is not lost
 * and a journey may answer it ("Text JOIN to …"): the one made for the number's first text, followed
 * to where it was merged, or a new anonymous contact whose `phone` is the number. Its first trait is
 * written as a journey's `update_traits` writes one, with `Traits Updated`, so segments and fit scores
 * decide it as they would a contact a client identified.
 */
export async function contactOfUnknownSender(
  tx: StorageTx,
  input: { workspaceId: string; address: string; key: string; at: number },
): Promise<string | undefined> {
  const { workspaceId, address, at } = input;
  // Filed under the number, as consent keeps it.
  const identity = { kind: 'anonymous' as const, value: `sms:${address}` };
  // A number the phone-number data calls invalid matches no contact's `phone`: its next text finds
  // the contact by this identity instead of making another.
  const [known] = await tx.profiles.findIdentities(workspaceId, [identity]);
  if (known) return (await tx.profiles.find(workspaceId, known.profileId))?.id;
  const contact: Profile = {
    id: newId('prf', at),
    workspaceId,
    userId: null,
    traits: { phone: address },
    traitTimes: { phone: at },
    firstSeenAt: at,
    lastSeenAt: at,
    createdAt: at,
    updatedAt: at,
    mergedInto: null,
    revision: 0,
  };
  await tx.profiles.applyResolution({
    workspaceId,
    newProfiles: [contact],
    updatedProfiles: [],
    seenProfiles: [],
    merges: [],
    newIdentities: [{ ...identity, profileId: contact.id, createdAt: at }],
    identityEvents: [],
    upsertedAccounts: [],
    accountMembers: [],
    traitChanges: [
      {
        workspaceId,
        eventId: null,
        profileId: contact.id,
        trait: 'phone',
        value: address,
        previous: undefined,
        at,
      },
    ],
    accountTraitChanges: [],
  });
  const traitsUpdated = profileEvent({
    workspaceId,
    identity: (await tx.segments.idsOf([contact.id])).get(contact.id),
    name: TRAITS_UPDATED,
    key: input.key,
    properties: { traits: { phone: address }, channel: 'sms', created: true },
    at,
  });
  if (traitsUpdated) await tx.generatedEvents.append([traitsUpdated]);
  return contact.id;
}
