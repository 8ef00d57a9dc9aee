import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { Profile } from './profile.js';

/** The profile's `phone` trait in E.164 form (`+393331234567`), if it is a valid number in international form. */
export function phoneNumberOf(profile: Pick<Profile, 'traits'>): string | undefined {
  return normalisePhoneNumber(profile.traits.phone);
}

/** A phone number in E.164 form, if the value is a valid number written in international form. */
export function normalisePhoneNumber(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = parsePhoneNumberFromString(value.trim());
  return parsed?.isValid() ? parsed.number : undefined;
}
