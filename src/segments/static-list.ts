import type { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { AppError } from '../core/errors.js';
import type { Storage } from '../storage/storage.js';
import { membershipEvents } from './membership.js';

const ROWS_PER_BATCH = 1000;
const PROFILES_PER_SCAN = 10_000;
const UNMATCHED_SHOWN = 20;

/** Which column names a contact, in the order they are tried. */
const KEY_COLUMNS = {
  user: ['user_id', 'userId', 'userid'],
  anonymous: ['anonymous_id', 'anonymousId', 'anonymousid'],
  email: ['email', 'Email', 'e-mail'],
} as const;

export interface StaticListSummary {
  rows: number;
  matched: number;
  unmatched: number;
  /** Newly added (a row for a profile already in the list, or twice in the file, adds nothing). */
  added: number;
  /** The first unmatched rows, by line. */
  unmatchedRows: Array<{ line: number; key: string }>;
}

interface Row {
  line: number;
  kind: 'user' | 'anonymous' | 'email';
  value: string;
}

/**
 * Adds the contacts of a CSV to a static segment: each row names a contact by `user_id`,
 * `anonymous_id` or `email` (the first of these columns the file has). Rows that match no profile are
 * counted and listed, never guessed; each batch of matches commits with its Segment Entered events.
 */
export async function importStaticList(
  storage: Storage,
  options: {
    workspaceId: string;
    segmentId: string;
    source: Readable;
    now: () => number;
    onProgress?: (summary: StaticListSummary) => void;
  },
): Promise<StaticListSummary> {
  const { workspaceId, segmentId } = options;
  const segment = await storage.segments.find(workspaceId, segmentId);
  if (!segment) throw new AppError('not_found', `segment ${segmentId} does not exist`);
  if (segment.kind !== 'static')
    throw new AppError('invalid_input', 'only a static segment takes a list; a live one follows its rule', {
      field: 'segment',
    });
  const summary: StaticListSummary = { rows: 0, matched: 0, unmatched: 0, added: 0, unmatchedRows: [] };
  const emailRows: Row[] = [];
  let batch: Row[] = [];
  const parser = options.source.pipe(
    parseCsv({ columns: true, skip_empty_lines: true, trim: true, bom: true, info: true }),
  );
  for await (const record of parser as AsyncIterable<{
    record: Record<string, string>;
    info: { lines: number };
  }>) {
    summary.rows++;
    const row = keyOf(record.record, record.info.lines);
    if (!row) {
      unmatched(summary, record.info.lines, '(no user_id, anonymous_id or email)');
      continue;
    }
    if (row.kind === 'email') emailRows.push(row);
    else batch.push(row);
    if (batch.length >= ROWS_PER_BATCH) {
      await addMatches(
        storage,
        options,
        segment.name,
        await matchIdentities(storage, workspaceId, batch),
        summary,
      );
      batch = [];
      options.onProgress?.(summary);
    }
  }
  await addMatches(
    storage,
    options,
    segment.name,
    await matchIdentities(storage, workspaceId, batch),
    summary,
  );
  options.onProgress?.(summary);
  if (emailRows.length > 0) {
    await addMatches(
      storage,
      options,
      segment.name,
      await matchEmails(storage, workspaceId, emailRows),
      summary,
    );
    options.onProgress?.(summary);
  }
  return summary;
}

function keyOf(record: Record<string, string>, line: number): Row | undefined {
  for (const kind of ['user', 'anonymous', 'email'] as const) {
    for (const column of KEY_COLUMNS[kind]) {
      const value = record[column];
      if (value) return { line, kind, value: kind === 'email' ? value.toLowerCase() : value };
    }
  }
  return undefined;
}

function unmatched(summary: StaticListSummary, line: number, key: string): void {
  summary.unmatched++;
  if (summary.unmatchedRows.length < UNMATCHED_SHOWN) summary.unmatchedRows.push({ line, key });
}

async function matchIdentities(
  storage: Storage,
  workspaceId: string,
  rows: Row[],
): Promise<Map<Row, string | undefined>> {
  const identities = await storage.profiles.findIdentities(
    workspaceId,
    rows.map((row) => ({ kind: row.kind as 'user' | 'anonymous', value: row.value })),
  );
  const byKey = new Map(
    identities.map((identity) => [`${identity.kind}:${identity.value}`, identity.profileId]),
  );
  return new Map(rows.map((row) => [row, byKey.get(`${row.kind}:${row.value}`)]));
}

/** E-mail is a trait, not an identity: one pass over the workspace's profiles matches them all. */
async function matchEmails(
  storage: Storage,
  workspaceId: string,
  rows: Row[],
): Promise<Map<Row, string | undefined>> {
  const wanted = new Set(rows.map((row) => row.value));
  const found = new Map<string, string>();
  let after: string | null = null;
  for (;;) {
    const profiles = await storage.segments.listProfilesAfter(workspaceId, after, PROFILES_PER_SCAN);
    for (const profile of profiles) {
      const email = profile.traits.email;
      if (typeof email === 'string' && wanted.has(email.toLowerCase()) && !found.has(email.toLowerCase()))
        found.set(email.toLowerCase(), profile.id);
    }
    const last = profiles.at(-1);
    if (!last || profiles.length < PROFILES_PER_SCAN) break;
    after = last.id;
  }
  return new Map(rows.map((row) => [row, found.get(row.value)]));
}

async function addMatches(
  storage: Storage,
  options: { workspaceId: string; segmentId: string; now: () => number },
  segmentName: string,
  matches: Map<Row, string | undefined>,
  summary: StaticListSummary,
): Promise<void> {
  const profileIds = new Set<string>();
  for (const [row, profileId] of matches) {
    if (profileId === undefined) unmatched(summary, row.line, row.value);
    else {
      summary.matched++;
      profileIds.add(profileId);
    }
  }
  if (profileIds.size === 0) return;
  const at = options.now();
  const current = await storage.segments.memberships([...profileIds], [options.segmentId]);
  const entered = [...profileIds]
    .filter((profileId) => !current.has(profileId))
    .map((profileId) => ({ segmentId: options.segmentId, profileId, workspaceId: options.workspaceId, at }));
  if (entered.length === 0) return;
  const ids = await storage.segments.idsOf(entered.map((change) => change.profileId));
  const events = membershipEvents({
    changes: { entered, exited: [], timers: [] },
    segmentNames: new Map([[options.segmentId, segmentName]]),
    ids,
    at,
  });
  await storage.transaction(async (tx) => {
    await tx.segments.applyMembership({ entered, exited: [] });
    await tx.generatedEvents.append(events);
  });
  summary.added += entered.length;
}
