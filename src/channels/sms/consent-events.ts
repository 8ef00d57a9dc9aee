import { SMS_RECEIVED, SMS_RESUBSCRIBED, SMS_UNSUBSCRIBED } from '../../core/mops-events.js';
import { firstCharacters } from '../../core/storable-text.js';
import { profileEvent } from '../../profiles/profile-events.js';
import type { StorageTx } from '../../storage/storage.js';
import { contactOfUnknownSender } from './texting-contact.js';

/**
 * Writes `SMS Unsubscribed` (or `SMS Resubscribed`) on every profile holding the number that texted,
 * in the transaction that changes its consent: journeys wait for it or exit on it and segments count
 * it, as they do e-mail's `Unsubscribed`. A number is one person's phone whatever profiles carry it,
 * so each of them gets the event; a number none carries gets a contact of its own
 * (`contactOfUnknownSender`), so that no text is lost.
 */
export async function recordSmsConsentEvents(
  tx: StorageTx,
  input: {
    workspaceId: string;
    /** The number in E.164 form, as consent keeps it. */
    address: string;
    isOptOut: boolean;
    /** The word the contact sent (STOP, START, …), or the provider's reading of it. */
    keyword: string | undefined;
    /** The provider's id for the text: with the profile, the event's key, so it is written once. */
    messageSid: string | undefined;
    at: number;
  },
): Promise<void> {
  await writeOnNumberHolders(tx, {
    ...input,
    name: input.isOptOut ? SMS_UNSUBSCRIBED : SMS_RESUBSCRIBED,
    properties: input.keyword === undefined ? {} : { keyword: input.keyword },
  });
}

/** The longest reply kept on its event: as much as one text of the provider's may hold. */
const MAX_REPLY_CHARACTERS = 1600;

/**
 * Writes `SMS Received` with what the contact texted (a reply that is no keyword: "YES", "Running
 * late") on every profile holding the number, in the transaction that notes the text: a journey
 * waiting for a reply to its text hears it and branches on `properties.body`.
 */
export async function recordSmsReply(
  tx: StorageTx,
  input: { workspaceId: string; address: string; body: string; messageSid: string | undefined; at: number },
): Promise<void> {
  await writeOnNumberHolders(tx, {
    ...input,
    name: SMS_RECEIVED,
    properties: { body: firstCharacters(input.body.trim(), MAX_REPLY_CHARACTERS) },
  });
}

async function writeOnNumberHolders(
  tx: StorageTx,
  input: {
    workspaceId: string;
    address: string;
    name: string;
    properties: Record<string, unknown>;
    messageSid: string | undefined;
    at: number;
  },
): Promise<void> {
  const { workspaceId, address, at } = input;
  // What the events are filed under must not move to another profile while they are written.
  await tx.profiles.holdOffMerges();
  const holders = await profilesHoldingNumber(tx, workspaceId, address);
  const stranger =
    holders.length === 0
      ? await contactOfUnknownSender(tx, { workspaceId, address, key: input.messageSid ?? address, at })
      : undefined;
  const profileIds = stranger === undefined ? holders : [stranger];
  const identities = await tx.segments.idsOf(profileIds);
  const events = profileIds.flatMap((profileId) => {
    const event = profileEvent({
      workspaceId,
      identity: identities.get(profileId),
      name: input.name,
      key: `${input.messageSid ?? address}-${profileId}`,
      properties: {
        channel: 'sms',
        phone: address,
        ...input.properties,
        ...(input.messageSid === undefined ? {} : { message_sid: input.messageSid }),
      },
      at,
    });
    return event ? [event] : [];
  });
  await tx.generatedEvents.append(events);
}

/**
 * The profiles Mops has texted at the number (followed to where they were merged) and those whose
 * `phone` trait is that number however it is written, as the SMS channel reads it.
 */
async function profilesHoldingNumber(tx: StorageTx, workspaceId: string, address: string): Promise<string[]> {
  const found = new Set<string>();
  for (const texted of await tx.messages.listRecipientsAt({ workspaceId, channel: 'sms', address })) {
    const survivor = await tx.profiles.find(workspaceId, texted);
    if (survivor) found.add(survivor.id);
  }
  for (const profile of await tx.profiles.listHoldingPhoneNumber(workspaceId, address)) found.add(profile.id);
  return [...found];
}
