import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import type { NewEvent, RejectedEvent } from '../core/event.js';
import { storableText } from '../core/storable-text.js';
import type { Storage } from '../storage/storage.js';
import { NotUtf8Error, openFileSource, utf8Checked } from './file-source.js';
import { findUnstorableNumbers, mayHoldUnstorableNumbers, pathText } from './unstorable-numbers.js';
import { EventTooLargeError, mayHoldHugeNumbers, validateEvent } from './validate-event.js';

export type ImportFormat = 'jsonl' | 'csv';

export interface ImportProgress {
  bytesRead: number;
  totalBytes: number;
  rows: number;
  stored: number;
  duplicates: number;
  rejected: number;
}

export interface ImportSummary extends ImportProgress {
  /** The first rejected rows, with their line numbers and reasons. */
  rejectedRows: Array<{ line: number; reason: string; field: string | null }>;
}

const MAX_LISTED_REJECTIONS = 20;
const TOP_LEVEL_COLUMNS = new Set([
  'type',
  'event',
  'name',
  'userId',
  'anonymousId',
  'messageId',
  'timestamp',
  'groupId',
  'previousId',
]);
const NESTED_PREFIXES = ['properties.', 'traits.', 'context.'];
/** Names that would reach into an object's prototype rather than name a property of it. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The file cannot be read on from some point: rows before it are imported, none after. */
export class ImportStoppedError extends Error {
  override name = 'ImportStoppedError';
  /** What the rows before the stop came to (they are kept); set by `importEventsFile`. */
  summary: ImportSummary | undefined;
}

/**
 * Imports a file of Segment calls, through the same validation and storage as the HTTP API. Rows
 * without a messageId get one derived from their text and which repeat of that text they are, so
 * importing the same file twice, or again with lines deleted, stores each event once (on SQLite:
 * within the dedupe window, MOPS_DEDUPE_WINDOW_HOURS).
 * Invalid rows, malformed lines included, are kept as rejected events, never dropped.
 */
export async function importEventsFile(
  storage: Storage,
  options: {
    workspaceId: string;
    file: string;
    format: ImportFormat;
    now: () => number;
    batchSize?: number;
    onProgress?: (progress: ImportProgress) => void;
  },
): Promise<ImportSummary> {
  const batchSize = options.batchSize ?? 1000;
  const summary: ImportSummary = {
    bytesRead: 0,
    totalBytes: statSync(options.file).size,
    rows: 0,
    stored: 0,
    duplicates: 0,
    rejected: 0,
    rejectedRows: [],
  };
  const source = openFileSource(options.file, (count) => {
    summary.bytesRead += count;
  });

  let events: NewEvent[] = [];
  let rejected: RejectedEvent[] = [];
  const flush = async () => {
    if (events.length === 0 && rejected.length === 0) return;
    const result = await storage.events.append({ events, rejected });
    summary.stored += result.stored;
    summary.duplicates += result.duplicates;
    events = [];
    rejected = [];
    options.onProgress?.({ ...summary });
  };
  const reject = (
    line: number,
    reason: string,
    field: string | null,
    payload: string,
    messageId: string | null,
  ) => {
    summary.rejected++;
    if (summary.rejectedRows.length < MAX_LISTED_REJECTIONS)
      summary.rejectedRows.push({ line, reason, field });
    rejected.push({
      workspaceId: options.workspaceId,
      receivedAt: options.now(),
      messageId,
      reason,
      field,
      payload,
    });
  };

  // How many times each row's exact text has come so far, by a hash of it (not the text: a file of
  // millions of rows would be held in memory).
  const occurrences = new Map<string, number>();
  try {
    for await (const row of readRowsStoppingAtNonUtf8(
      utf8Checked(source, { utf16Allowed: options.format === 'csv' }),
      options.format,
    )) {
      if ('stop' in row) {
        // What came before is good: kept, so that importing the mended file again only adds the rest.
        await flush();
        throw new ImportStoppedError(
          `${row.stop}. Nothing after it was imported: mend the file and import it again.`,
        );
      }
      summary.rows++;
      // Rows without a message id get one from what they are and which repeat of that text they are
      // (the 1st, the 2nd…), not from their line: importing the file again after deleting a bad line,
      // as the summary invites, shifts the lines after it, and they would be stored a second time.
      const textHash = createHash('sha1').update(row.text).digest('base64');
      const occurrence = (occurrences.get(textHash) ?? 0) + 1;
      occurrences.set(textHash, occurrence);
      const derivedId = () =>
        `imp_${createHash('sha1').update(`${options.workspaceId}\n${occurrence}\n${row.text}`).digest('hex').slice(0, 32)}`;
      if ('error' in row) {
        reject(row.line, row.error, null, row.text, derivedId());
      } else {
        const call = row.call;
        if (call.messageId === undefined || call.messageId === null || call.messageId === '')
          call.messageId = derivedId();
        try {
          const result = validateEvent(call, {
            workspaceId: options.workspaceId,
            receivedAt: options.now(),
            batchSentAt: null,
            batchContext: undefined,
            path: '',
            mayHoldHugeNumbers: mayHoldHugeNumbers(row.text),
            unstorableNumber: unstorableNumberOf(row.text, options.format),
          });
          if (result.ok) events.push(result.event);
          else reject(row.line, result.reason, result.field, result.payload, result.messageId);
        } catch (error) {
          if (!(error instanceof EventTooLargeError)) throw error;
          const messageId = typeof call.messageId === 'string' ? storableText(call.messageId) : null;
          reject(row.line, error.message, null, row.text.slice(0, 1024), messageId);
        }
      }
      if (events.length + rejected.length >= batchSize) await flush();
    }
  } catch (error) {
    if (error instanceof ImportStoppedError)
      error.summary ??= { ...summary, rejectedRows: [...summary.rejectedRows] };
    throw error;
  }
  await flush();
  summary.bytesRead = summary.totalBytes;
  options.onProgress?.({ ...summary });
  return summary;
}

type Row =
  | { line: number; text: string; call: Record<string, unknown> }
  | { line: number; text: string; error: string }
  | { stop: string };

/**
 * `readRows`, stopping where the file stops being UTF-8: the rows before are kept, as for a quote
 * never closed, so that importing the file again, saved as UTF-8, only adds the rest.
 */
async function* readRowsStoppingAtNonUtf8(
  source: NodeJS.ReadableStream,
  format: ImportFormat,
): AsyncGenerator<Row> {
  try {
    yield* readRows(source, format);
  } catch (error) {
    if (!(error instanceof NotUtf8Error)) throw error;
    yield { stop: error.message };
  }
}

async function* readRows(source: NodeJS.ReadableStream, format: ImportFormat): AsyncGenerator<Row> {
  if (format === 'jsonl') {
    let line = 0;
    for await (const read of createInterface({ input: source, crlfDelay: Number.POSITIVE_INFINITY })) {
      line++;
      // A byte-order mark, as some editors save UTF-8, is not part of the first call.
      const text = line === 1 && read.startsWith('\uFEFF') ? read.slice(1) : read;
      if (text.trim() === '') continue;
      if (line === 1 && text.trimStart().startsWith('[')) {
        yield {
          stop: 'the file is a JSON array, not JSON Lines (one call per line): convert it first, e.g. jq -c ".[]" FILE',
        };
        return;
      }
      try {
        const call = JSON.parse(text) as unknown;
        if (call === null || typeof call !== 'object' || Array.isArray(call)) {
          yield { line, text, error: 'line is not a JSON object' };
        } else {
          yield { line, text, call: call as Record<string, unknown> };
        }
      } catch (error) {
        yield { line, text, error: `malformed JSON: ${(error as Error).message}` };
      }
    }
    return;
  }
  // A malformed CSV line becomes a rejected row, not the end of the import; a quote never closed
  // swallows the rest of the file, so it does end it, saying where the quote opened.
  const parser = source.pipe(
    parseCsv({
      columns: (header: string[]) => checkedHeader(header.map(checkedColumn)),
      skip_empty_lines: true,
      bom: true,
      info: true,
      raw: true,
      trim: true,
      skip_records_with_error: true,
    }),
  );
  const skipped: Row[] = [];
  // The parser tells where the file ended, not where the quote opened: in the row after the last one read.
  let lastLineRead = 1;
  parser.on('skip', (error: Error & { code?: string; lines?: number; raw?: string }) => {
    if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
      skipped.push({
        stop: `malformed CSV: a quote opened in the row after line ${lastLineRead} is never closed`,
      });
      return;
    }
    lastLineRead = error.lines ?? lastLineRead;
    skipped.push({ line: error.lines ?? 0, text: error.raw ?? '', error: `malformed CSV: ${error.message}` });
  });
  for await (const record of parser as AsyncIterable<{
    record: Record<string, string>;
    info: { lines: number };
  }>) {
    yield* skipped.splice(0);
    lastLineRead = record.info.lines;
    yield { line: record.info.lines, text: JSON.stringify(record.record), call: csvRowToCall(record.record) };
  }
  yield* skipped.splice(0);
}

/**
 * A file without a column saying whose each row is would be rejected row by row (every call needs a
 * userId or an anonymousId): stopped at its header instead, saying what to do.
 */
function checkedHeader(columns: string[]): string[] {
  if (!columns.includes('userId') && !columns.includes('anonymousId'))
    throw new ImportStoppedError(
      `the header has no userId or anonymousId column (it has ${columns.join(', ')}): every row needs one — for contacts, the e-mail address will do as their userId`,
    );
  return columns;
}

/** A header naming a prototype (`properties.__proto__.x`) would set fields on every object: refused. */
function checkedColumn(column: string): string {
  const refused = column.split('.').find((part) => PROTOTYPE_KEYS.has(part));
  if (refused !== undefined)
    throw new ImportStoppedError(`the column ${column} names ${refused}, which cannot be a property name`);
  return column;
}

/**
 * CSV columns name top-level fields (`type`, `userId`, …) or nested ones (`properties.price`,
 * `traits.email`). A column with neither is a trait of an `identify` or `group` row (a contacts file:
 * `userId,email,title`), a property of any other: where the call keeps what it says.
 */
export function csvRowToCall(row: Record<string, string>): Record<string, unknown> {
  const call: Record<string, unknown> = {};
  const type = row.type || (row.event ? 'track' : 'identify');
  const unprefixed = type === 'identify' || type === 'group' ? 'traits' : 'properties';
  for (const [column, raw] of Object.entries(row)) {
    if (raw === '') continue;
    if (TOP_LEVEL_COLUMNS.has(column)) {
      call[column] = raw;
      continue;
    }
    const prefix = NESTED_PREFIXES.find((candidate) => column.startsWith(candidate));
    const path = prefix ? column.split('.') : [unprefixed, column];
    let target = call;
    for (const part of path.slice(0, -1)) {
      const next = target[part];
      if (next === null || typeof next !== 'object') target[part] = {};
      target = target[part] as Record<string, unknown>;
    }
    target[path.at(-1) as string] = typedCell(raw);
  }
  call.type = type;
  return call;
}

/**
 * Where a JSON line holds a number with more decimal places than a database keeps, as the API finds
 * it: JSON.parse read it as 0, and the row is refused naming it rather than stored as 0. (A CSV cell
 * is never such a number: see `typedCell`.)
 */
function unstorableNumberOf(text: string, format: ImportFormat): string | undefined {
  if (format === 'csv' || !mayHoldUnstorableNumbers(text)) return undefined;
  const [path] = findUnstorableNumbers(text);
  return path === undefined ? undefined : pathText(path);
}

/**
 * CSV has no types: numbers and booleans are read as such; everything else stays text — a fraction
 * longer than a double keeps too, as written.
 */
export function typedCell(raw: string): unknown {
  if (/^-?(0|[1-9]\d{0,14})(\.\d{1,15})?$/.test(raw)) return Number(raw);
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  return raw;
}
