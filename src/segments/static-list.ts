import { pipeline, type Readable } from 'node:stream';
import { CsvError, parse as parseCsv } from 'csv-parse';
import { AppError } from '../core/errors.js';
import { isStorableText, quotedText } from '../core/storable-text.js';
import { NotUtf8Error, utf8Checked } from '../ingest/file-source.js';
import { chunks } from '../storage/chunks.js';
import type { Storage, StorageTx } from '../storage/storage.js';
import { membershipEvents } from './membership.js';

const ROWS_PER_BATCH = 1000;
const PROFILES_PER_SCAN = 10_000;
const UNMATCHED_SHOWN = 20;

/** The header names that name a contact, in the order they are tried, as `columnName` spells them. */
const KEY_COLUMNS = { user: 'userid', anonymous: 'anonymousid', email: 'email' } as const;

export interface StaticListSummary {
  rows: number;
  /** Contacts the rows named, each once however many rows named it (an address two profiles hold names both). */
  matched: number;
  unmatched: number;
  /** Rows naming only contacts other rows of the file named too (a user twice, a user and their e-mail). */
  duplicates: number;
  /** Newly added (a row for a profile already in the list, or twice in the file, adds nothing). */
  added: number;
  /** The first unmatched rows by line (at most 20). */
  unmatchedRows: Array<{ line: number; key: string }>;
}

interface Row {
  line: number;
  kind: 'user' | 'anonymous' | 'email';
  value: string;
}

/**
 * Adds the contacts of a CSV to a static segment: each row names a contact by a `user_id`,
 * `anonymous_id` or `email` column (the first of these the row fills; headers match whatever their
 * case, spaces, `-` or `_`: `User ID`, `E-mail`). Rows that match no profile are counted and listed,
 * never guessed. The whole file is read and matched before anything is written, so a file that cannot
 * be read (a malformed row, no contact column) is refused with nothing added.
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
  const summary: StaticListSummary = {
    rows: 0,
    matched: 0,
    unmatched: 0,
    duplicates: 0,
    added: 0,
    unmatchedRows: [],
  };
  // The profiles to add, in the order the file names them.
  const matched = new Set<string>();
  const emailRows: Row[] = [];
  let batch: Row[] = [];
  let header: string[] | undefined;
  // Through pipeline(), not pipe(): a source that fails (a gzip file cut short, bytes that are not
  // UTF-8) ends the reading below with its error instead of leaving it waiting, or unhandled.
  const parser = pipeline(
    // Read as UTF-8, a Latin-1 `josé` would become `jos\ufffd`: unmatched, the rest added.
    utf8Checked(options.source, { utf16Allowed: true }),
    parseCsv({
      columns: (names: string[]) => {
        header = names.map(columnName);
        refuseKeyColumnTwice(names, header);
        return header;
      },
      skip_empty_lines: true,
      trim: true,
      bom: true,
      info: true,
    }),
    () => undefined,
  );
  try {
    for await (const record of parser as AsyncIterable<{
      record: Record<string, string>;
      info: { lines: number };
    }>) {
      if (summary.rows === 0) requireKeyColumn(header);
      summary.rows++;
      const row = keyOf(record.record, record.info.lines);
      if (!row) unmatched(summary, record.info.lines, '(no user_id, anonymous_id or email)');
      // Nothing stored holds such text (ingest refuses it), and PostgreSQL would refuse the lookup.
      else if (!isStorableText(row.value)) unmatched(summary, row.line, row.value);
      else if (row.kind === 'email') emailRows.push(row);
      else batch.push(row);
      if (batch.length >= ROWS_PER_BATCH) {
        addMatched(await matchIdentities(storage, workspaceId, batch), summary, matched);
        batch = [];
      }
      if (summary.rows % ROWS_PER_BATCH === 0) options.onProgress?.(summary);
    }
  } catch (error) {
    if (error instanceof CsvError || error instanceof NotUtf8Error)
      throw new AppError(
        'invalid_input',
        `the CSV could not be read, so nothing was added: ${error.message}`,
        {
          field: 'body',
          issue: { code: 'refused', reason: 'csv_unreadable', params: { detail: error.message } },
        },
      );
    throw error;
  }
  requireKeyColumn(header);
  if (summary.rows === 0)
    throw new AppError('invalid_input', 'the file holds a header but no rows: it needs a row per contact', {
      field: 'body',
      issue: { code: 'refused', reason: 'csv_no_rows' },
    });
  addMatched(await matchIdentities(storage, workspaceId, batch), summary, matched);
  if (emailRows.length > 0) addMatched(await matchEmails(storage, workspaceId, emailRows), summary, matched);
  options.onProgress?.(summary);
  // In transactions of a thousand: a list of a million held in one would keep ingest from writing
  // for a minute on SQLite. Each adds only contacts not in the list yet, so after a failure midway
  // the same file uploaded again adds the rest, and nobody enters twice.
  for (const profileIds of chunks([...matched], ROWS_PER_BATCH)) {
    try {
      summary.added += await addToStaticList(storage, { ...options, segmentName: segment.name }, profileIds);
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw new AppError(
        'unavailable',
        `adding the list stopped after ${summary.added} of the ${matched.size} matched contacts were added (${error instanceof Error ? error.message : String(error)}): upload the same file again to add the rest; contacts already added are not added twice`,
        { cause: error },
      );
    }
    options.onProgress?.(summary);
  }
  return summary;
}

/** A header name as the key columns are spelled: `User ID`, `user-id` and `userId` are all `userid`. */
function columnName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');
}

/** Two columns that both read as `email` (`email,E-mail`): which one names the contact is anyone's guess. */
function refuseKeyColumnTwice(names: readonly string[], header: readonly string[]): void {
  for (const column of Object.values(KEY_COLUMNS)) {
    const named = names.filter((_, index) => header[index] === column);
    if (named.length > 1)
      throw new AppError(
        'invalid_input',
        `the header has ${named.length} columns read as ${column} (${quotedText(named.join(', '))}): keep one, so that nothing is guessed`,
        {
          field: 'body',
          issue: {
            code: 'refused',
            reason: 'csv_column_repeated',
            params: { count: String(named.length), column, columns: quotedText(named.join(', ')) },
          },
        },
      );
  }
}

function requireKeyColumn(header: string[] | undefined): void {
  if (header === undefined)
    throw new AppError('invalid_input', 'the file is empty: it needs a header row and a row per contact', {
      field: 'body',
      issue: { code: 'refused', reason: 'csv_empty' },
    });
  if (!Object.values(KEY_COLUMNS).some((column) => header.includes(column))) {
    // Spreadsheets set to many European locales save "CSV" with semicolons.
    const hasSemicolons = header.some((name) => name.includes(';'));
    const semicolons = hasSemicolons
      ? ' (its columns seem separated by semicolons: save the file as CSV with commas)'
      : '';
    const shown = quotedText(header.join(', '));
    throw new AppError(
      'invalid_input',
      `the header (${shown}) has no user_id, anonymous_id or email column${semicolons}: nothing was added`,
      {
        field: 'body',
        issue: {
          code: 'refused',
          reason: hasSemicolons ? 'csv_semicolons' : 'csv_no_key_column',
          params: { header: shown },
        },
      },
    );
  }
}

function keyOf(record: Record<string, string>, line: number): Row | undefined {
  for (const kind of ['user', 'anonymous', 'email'] as const) {
    const value = record[KEY_COLUMNS[kind]];
    if (value) return { line, kind, value: kind === 'email' ? emailKey(value) : value };
  }
  return undefined;
}

/** Counts an unmatched row; the list keeps the first ones by line, whenever each was found out. */
function unmatched(summary: StaticListSummary, line: number, key: string): void {
  summary.unmatched++;
  const shown = summary.unmatchedRows;
  if (shown.length === UNMATCHED_SHOWN && line > (shown.at(-1)?.line ?? 0)) return;
  const at = shown.findIndex((row) => row.line > line);
  shown.splice(at === -1 ? shown.length : at, 0, { line, key: quotedText(key) });
  if (shown.length > UNMATCHED_SHOWN) shown.pop();
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

/**
 * E-mail is a trait, not an identity: one pass over the workspace's profiles matches them all. Every
 * profile holding the address is the person the row names (two that identity resolution never joined,
 * a visitor and a user): each is added, none picked over the others.
 */
async function matchEmails(
  storage: Storage,
  workspaceId: string,
  rows: Row[],
): Promise<Map<Row, string[] | undefined>> {
  const wanted = new Set(rows.map((row) => row.value));
  const found = new Map<string, string[]>();
  let after: string | null = null;
  for (;;) {
    const profiles = await storage.segments.listProfilesAfter(workspaceId, after, PROFILES_PER_SCAN);
    for (const profile of profiles) {
      const email = profile.traits.email;
      if (typeof email !== 'string') continue;
      const key = emailKey(email);
      if (wanted.has(key)) found.set(key, [...(found.get(key) ?? []), profile.id]);
    }
    const last = profiles.at(-1);
    if (!last || profiles.length < PROFILES_PER_SCAN) break;
    after = last.id;
  }
  return new Map(rows.map((row) => [row, found.get(row.value)]));
}

/** An address as rows and traits are compared: sent as ` Ann@Example.com ` it is still ann@example.com. */
function emailKey(address: string): string {
  return address.trim().toLowerCase();
}

function addMatched(
  matches: Map<Row, string | string[] | undefined>,
  summary: StaticListSummary,
  matched: Set<string>,
): void {
  for (const [row, profileIds] of matches) {
    if (profileIds === undefined) unmatched(summary, row.line, row.value);
    else {
      const matchedBefore = matched.size;
      for (const profileId of typeof profileIds === 'string' ? [profileIds] : profileIds)
        matched.add(profileId);
      if (matched.size === matchedBefore) summary.duplicates++;
      summary.matched = matched.size;
    }
  }
}

/**
 * Adds the profiles not in the static segment yet, each with its Segment Entered event, in one
 * transaction; how many it added. AppError `conflict` when the segment was deleted meanwhile.
 */
export async function addToStaticList(
  storage: Storage,
  options: {
    workspaceId: string;
    segmentId: string;
    segmentName: string;
    now: () => number;
    /** Runs in the same transaction, told how many were added: progress that commits with them. */
    alsoInTransaction?: (tx: StorageTx, added: number) => Promise<void>;
  },
  profileIds: string[],
): Promise<number> {
  const at = options.now();
  const current = await storage.segments.memberships(profileIds, [options.segmentId]);
  const candidates = profileIds
    .filter((profileId) => !current.has(profileId))
    .map((profileId) => ({ segmentId: options.segmentId, profileId, workspaceId: options.workspaceId, at }));
  if (candidates.length === 0) return 0;
  const ids = await storage.segments.idsOf(candidates.map((change) => change.profileId));
  return storage.transaction(async (tx) => {
    // A contact merged into another since it was matched is the survivor now (a merge waits for this).
    await tx.profiles.holdOffMerges();
    // A segment deleted since the import began takes no more members (a delete waits for this).
    await tx.segments.lockDefinitions(options.workspaceId);
    if (!(await tx.segments.find(options.workspaceId, options.segmentId)))
      throw new AppError(
        'conflict',
        `segment ${options.segmentId} was deleted while its list was being added`,
      );
    const mergedAway = await tx.profiles.mergedAwayAmong(candidates.map((change) => change.profileId));
    const members = new Map<string, (typeof candidates)[number]>();
    for (const change of candidates) {
      const profileId = mergedAway.has(change.profileId)
        ? ((await tx.profiles.find(options.workspaceId, change.profileId))?.id ?? change.profileId)
        : change.profileId;
      members.set(profileId, { ...change, profileId });
    }
    const survivors = [...members.keys()].filter((profileId) => !ids.has(profileId));
    if (survivors.length > 0)
      for (const [id, identity] of await tx.segments.idsOf(survivors)) ids.set(id, identity);
    // Only the rows this import adds get their Segment Entered: an import running beside it may
    // have added the same contacts since they were read.
    const entered = await tx.segments.addMembers([...members.values()]);
    const events = membershipEvents({
      changes: { entered, exited: [], timers: [] },
      segmentNames: new Map([[options.segmentId, options.segmentName]]),
      ids,
      at,
    });
    await tx.generatedEvents.append(events);
    await options.alsoInTransaction?.(tx, entered.length);
    return entered.length;
  });
}
