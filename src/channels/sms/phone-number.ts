import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { Profile } from '../../core/profile.js';

/** The profile's `phone` trait in E.164 form (`+393331234567`), if it is a valid number in international form. */
export function phoneNumberOf(profile: Profile): string | undefined {
  const phone = profile.traits.phone;
  if (typeof phone !== 'string') return undefined;
  const parsed = parsePhoneNumberFromString(phone.trim());
  return parsed?.isValid() ? parsed.number : undefined;
}
