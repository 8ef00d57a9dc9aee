import type { Profile } from './profile.js';

/**
 * What makes a text more than one bare address: a display name or angle brackets (`Ann <a@x.io>`), a
 * list (`a@x.io, b@x.io`), a comment, a quoted part, a route. Sent as written, the mail library would
 * parse such a text and deliver to the address inside it — one suppression, caps and unsubscribes
 * never matched, as they are kept by the text.
 */
const NOT_IN_A_BARE_ADDRESS = /[\s<>()[\]\\,;:"]/u;

/** One address, as suppressions and caps know it: one @ with something either side, nothing else. */
export function isBareEmailAddress(text: string): boolean {
  return /^[^@]+@[^@]+$/u.test(text) && !NOT_IN_A_BARE_ADDRESS.test(text);
}

/**
 * An address mail can be routed to: a bare one whose domain has a dot (`bob@example` is a typo).
 * Lenient on the rest: international addresses (`josé@exämple.it`) are addresses too.
 */
export function isRoutableEmailAddress(text: string): boolean {
  return isBareEmailAddress(text) && /@[^.]+(\.[^.]+)+$/u.test(text);
}

/** Where a profile's e-mails go: its `email` trait, when that is one bare address. */
export function emailAddressOf(profile: Profile): string | undefined {
  const email = profile.traits.email;
  return typeof email === 'string' && isBareEmailAddress(email.trim()) ? email.trim() : undefined;
}
