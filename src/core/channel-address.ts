import { emailAddressOf } from './email-address.js';
import { phoneNumberOf } from './phone-number.js';
import type { Profile } from './profile.js';
import type { ConsentChannel } from './topic-consent.js';

/**
 * Where the profile's messages on the channel go, and what that channel's suppressions and caps know
 * it by: the `email` trait when it is one bare address, the `phone` trait in E.164 form
 * (`channelAddressOf('sms', profile)` → `'+393471234567'`).
 */
export function channelAddressOf(channel: ConsentChannel, profile: Profile): string | undefined {
  return channel === 'sms' ? phoneNumberOf(profile) : emailAddressOf(profile);
}
