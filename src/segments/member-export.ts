import { stringify } from 'csv-stringify/sync';
import type { Storage } from '../storage/storage.js';

/** The traits an export has when it names none: who each contact is, and how to reach them. */
export const DEFAULT_EXPORT_TRAITS = ['email', 'first_name', 'last_name', 'phone', 'company'] as const;
const MEMBERS_PER_PAGE = 1000;
/** Excel reads a CSV as UTF-8 only when it starts with a byte-order mark (else `José` turns to mojibake). */
const UTF8_BOM = '\ufeff';

/** A phone number in international form (`+39 347 123 4567`): digits and spaces only, nothing to compute. */
const INTERNATIONAL_NUMBER = /^\+?\d[\d ]*$/;

/**
 * A value as a cell: text as it is, numbers and booleans as written, objects and lists as JSON.
 * Text a spreadsheet would run as a formula (`=HYPERLINK(…)`, `+A1…`, `@SUM…`) starts with a quote,
 * as OWASP advises for CSV injection: traits, ids and the trait names asked for are whatever a client,
 * an import or a link sent. A phone number (`+39 347 …`) is left as it is, for the uploads it is for.
 */
export function exportCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string')
    return /^[=+\-@\t\r]/.test(value) && !INTERNATIONAL_NUMBER.test(value) ? `'${value}` : value;
  if (typeof value === 'object') return exportCell(JSON.stringify(value));
  return String(value);
}

/**
 * A segment's members as CSV, a page of members at a time (a list of a million is never held whole):
 * the profile id, its user id or anonymous id, when it entered the segment, and the traits asked for.
 */
export async function* segmentMembersCsv(
  storage: Storage,
  options: { segmentId: string; traits: readonly string[] },
): AsyncGenerator<string> {
  const { segmentId, traits } = options;
  yield UTF8_BOM +
    stringify([['profile_id', 'user_id', 'anonymous_id', 'entered_at', ...traits.map(exportCell)]]);
  let cursor: string | undefined;
  do {
    const page = await storage.segments.listMembers(segmentId, { limit: MEMBERS_PER_PAGE, cursor });
    const ids = page.items.map((member) => member.profileId);
    const [profiles, identities] = await Promise.all([
      storage.profiles.findProfilesByIds(ids),
      storage.segments.idsOf(ids),
    ]);
    const traitsOf = new Map(profiles.map((profile) => [profile.id, profile.traits]));
    const rows = page.items.map((member) => {
      const identity = identities.get(member.profileId);
      const own = traitsOf.get(member.profileId) ?? {};
      return [
        member.profileId,
        exportCell(identity?.kind === 'user' ? identity.value : ''),
        exportCell(identity?.kind === 'anonymous' ? identity.value : ''),
        new Date(member.enteredAt).toISOString(),
        ...traits.map((trait) => exportCell(Object.hasOwn(own, trait) ? own[trait] : undefined)),
      ];
    });
    if (rows.length > 0) yield stringify(rows);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}
