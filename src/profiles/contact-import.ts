import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import type { ContactImportSummary, ContactsFilePreview } from '../core/contact-import.js';
import { isRoutableEmailAddress } from '../core/email-address.js';
import { AppError } from '../core/errors.js';
import type { NewEvent, RejectedEvent } from '../core/event.js';
import { quotedText } from '../core/storable-text.js';
import { typedCell } from '../ingest/import-file.js';
import type { EventAppender } from '../ingest/ingest.js';
import { EventTooLargeError, validateEvent } from '../ingest/validate-event.js';

/** The most contacts one import takes: beyond it, the CLI's `mops import events` streams a file. */
export const MAX_IMPORT_ROWS = 100_000;
const SAMPLES_PER_COLUMN = 3;
const MAX_LISTED_REJECTIONS = 20;
const APPEND_BATCH = 1000;
const MAX_TRAIT_NAME = 100;
/** Names that would reach into an object's prototype rather than name a trait. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Traits read as text whatever they look like: a phone number written without + is not a number. */
const TEXT_TRAITS = new Set(['phone', 'email', 'postal_code', 'zip']);

/**
 * What spreadsheets and CRMs call the columns Mops reads by a fixed trait name (the e-mail channel
 * reads `email`, SMS `phone`, the console a contact's name from `first_name`), by their snake-cased
 * header, in the console's languages.
 */
const WELL_KNOWN_TRAITS: Record<string, string> = {
  email: 'email',
  e_mail: 'email',
  email_address: 'email',
  e_mail_address: 'email',
  mail: 'email',
  phone: 'phone',
  phone_number: 'phone',
  mobile: 'phone',
  mobile_phone: 'phone',
  mobile_number: 'phone',
  cell: 'phone',
  cell_phone: 'phone',
  telephone: 'phone',
  first_name: 'first_name',
  firstname: 'first_name',
  given_name: 'first_name',
  last_name: 'last_name',
  lastname: 'last_name',
  surname: 'last_name',
  family_name: 'last_name',
  company: 'company',
  company_name: 'company',
  organisation: 'company',
  organization: 'company',
  job_title: 'title',
  title: 'title',
  country: 'country',
  // The console's other language: an Italian spreadsheet's headers.
  posta_elettronica: 'email',
  indirizzo_email: 'email',
  cellulare: 'phone',
  telefono: 'phone',
  numero_di_telefono: 'phone',
  nome: 'first_name',
  cognome: 'last_name',
  azienda: 'company',
  societa: 'company',
  ruolo: 'title',
  paese: 'country',
  nazione: 'country',
};
const ID_COLUMNS = new Set(['user_id', 'userid', 'id', 'contact_id', 'customer_id', 'external_id']);

interface ContactTable {
  header: string[];
  rows: Array<{ line: number; cells: string[] }>;
}

/** A file of contacts read for the console to map its columns: each with the trait it suggests. */
export function previewContactsFile(csv: string): ContactsFilePreview {
  const table = readContactTable(csv);
  const columns = table.header.map((name, index) => ({
    name,
    trait: suggestedTrait(name),
    samples: table.rows
      .map((row) => row.cells[index] ?? '')
      .filter((cell) => cell !== '')
      .slice(0, SAMPLES_PER_COLUMN),
  }));
  const byEmail = columns.find((column) => column.trait === 'email');
  const byId = columns.find((column) => ID_COLUMNS.has(snakeCased(column.name)));
  return { rows: table.rows.length, columns, idColumn: (byId ?? byEmail)?.name ?? null };
}

/** A header as a trait name: snake case, or the name Mops reads such a column by (`E-mail` → `email`). */
export function suggestedTrait(column: string): string {
  const snake = snakeCased(column);
  return WELL_KNOWN_TRAITS[snake] ?? (snake || 'column');
}

function snakeCased(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * Imports a file of contacts as `identify` calls through the event log, as a client's would go: one
 * per row, the contact named by `idColumn`, each other column a trait (`columns` renames one, or
 * leaves it out with null; a column not named there keeps its header as its name). Empty cells set
 * nothing, so an import never blanks a trait. What is wrong with the file or the mapping is refused
 * before anything is stored; a row that cannot be a contact is rejected, listed by line and kept
 * with the rejected events. Each row's call has an id derived from the row and the mapping: the same
 * file imported again stores nothing twice. With the summary, the user id of every contact whose call
 * was accepted (stored now or before), in the file's order.
 */
export async function importContacts(
  appender: EventAppender,
  input: {
    workspaceId: string;
    csv: string;
    idColumn: string;
    columns: Record<string, string | null>;
    receivedAt: number;
  },
): Promise<{ summary: ContactImportSummary; userIds: string[] }> {
  const table = readContactTable(input.csv);
  const { header } = table;
  const idIndex = header.indexOf(input.idColumn);
  if (idIndex < 0)
    throw new AppError(
      'invalid_input',
      `idColumn: ${quotedText(input.idColumn)} is not a column of the file (it has ${quotedText(header.join(', '))})`,
      { field: 'idColumn' },
    );
  const traitOf = checkedMapping(header, input.columns);
  const summary: ContactImportSummary = { rows: 0, stored: 0, duplicates: 0, rejected: 0, rejectedRows: [] };
  const userIds: string[] = [];
  const mapping = JSON.stringify([input.idColumn, header.map(traitOf)]);
  let events: NewEvent[] = [];
  let rejected: RejectedEvent[] = [];
  const flush = async () => {
    if (events.length === 0 && rejected.length === 0) return;
    const appended = await appender.append({ events, rejected });
    summary.stored += appended.stored;
    summary.duplicates += appended.duplicates;
    events = [];
    rejected = [];
  };
  const reject = (line: number, reason: string, payload: string, messageId: string | null) => {
    summary.rejected++;
    if (summary.rejectedRows.length < MAX_LISTED_REJECTIONS) summary.rejectedRows.push({ line, reason });
    rejected.push({
      workspaceId: input.workspaceId,
      receivedAt: input.receivedAt,
      messageId,
      reason: `line ${line}: ${reason}`,
      field: null,
      payload,
    });
  };

  for (const { line, cells } of table.rows) {
    summary.rows++;
    const text = JSON.stringify(cells);
    const messageId = `imp_${createHash('sha1').update(`${input.workspaceId}\n${mapping}\n${line}\n${text}`).digest('hex').slice(0, 32)}`;
    if (cells.length !== header.length) {
      reject(line, `has ${cells.length} cells; the header has ${header.length}`, text, messageId);
    } else if (!cells[idIndex]) {
      reject(line, `names no contact: ${input.idColumn} is empty`, text, messageId);
    } else {
      const traits: Record<string, unknown> = {};
      for (const [index, cell] of cells.entries()) {
        const trait = traitOf(header[index] as string);
        if (trait === null || cell === '') continue;
        traits[trait] = TEXT_TRAITS.has(trait) || index === idIndex ? cell : typedCell(cell);
      }
      const call = { type: 'identify', userId: cells[idIndex], traits, messageId };
      // An address no e-mail can reach is a typo to mend in the file, not a contact to e-mail.
      const email = traits.email;
      if (typeof email === 'string' && !isRoutableEmailAddress(email)) {
        reject(line, `email: ${quotedText(email)} is not an e-mail address`, text, messageId);
        if (events.length + rejected.length >= APPEND_BATCH) await flush();
        continue;
      }
      try {
        const result = validateEvent(call, {
          workspaceId: input.workspaceId,
          receivedAt: input.receivedAt,
          batchSentAt: null,
          batchContext: undefined,
          path: '',
          mayHoldHugeNumbers: false,
        });
        if (result.ok) {
          events.push(result.event);
          userIds.push(cells[idIndex]);
        } else reject(line, result.reason, result.payload, messageId);
      } catch (error) {
        if (!(error instanceof EventTooLargeError)) throw error;
        reject(line, error.message, text.slice(0, 1024), messageId);
      }
    }
    if (events.length + rejected.length >= APPEND_BATCH) await flush();
  }
  await flush();
  return { summary, userIds };
}

/** The trait each column goes to (null: left out), once the mapping is known to be sound. */
function checkedMapping(
  header: readonly string[],
  columns: Record<string, string | null>,
): (column: string) => string | null {
  const taken = new Map<string, string>();
  const traitOf = (column: string) => {
    const mapped = columns[column];
    return mapped === undefined ? column : mapped === null ? null : mapped.trim();
  };
  for (const column of Object.keys(columns))
    if (!header.includes(column))
      throw new AppError('invalid_input', `columns.${column}: not a column of the file`, {
        field: `columns.${column}`,
      });
  for (const column of header) {
    const trait = traitOf(column);
    if (trait === null) continue;
    const field = `columns.${column}`;
    if (trait === '' || trait.length > MAX_TRAIT_NAME || trait.includes('.') || PROTOTYPE_KEYS.has(trait))
      throw new AppError(
        'invalid_input',
        `${field}: a trait name is 1–${MAX_TRAIT_NAME} characters without a dot (${JSON.stringify(trait)} is not)`,
        {
          field,
          issue: {
            code: 'refused',
            reason: 'trait_name_form',
            params: { max: String(MAX_TRAIT_NAME), trait: JSON.stringify(trait) },
          },
        },
      );
    const other = taken.get(trait);
    if (other !== undefined)
      throw new AppError('invalid_input', `${field}: ${other} is imported as ${trait} already`, { field });
    taken.set(trait, column);
  }
  return traitOf;
}

/**
 * The separator of the header row: a comma, or the semicolon spreadsheets write where the comma is the
 * decimal separator (an Italian or German Excel), or a tab — whichever the header holds most of.
 */
function delimiterOf(csv: string): string {
  const newline = csv.search(/\r?\n/);
  const header = (newline < 0 ? csv : csv.slice(0, newline)).replace(/"[^"]*"/g, '');
  const counts = [',', ';', '\t'].map((separator) => ({ separator, count: header.split(separator).length }));
  return counts.reduce((best, candidate) => (candidate.count > best.count ? candidate : best)).separator;
}

/** A header row and a row per contact; what cannot be read as such is refused whole, naming `csv`. */
function readContactTable(csv: string): ContactTable {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(csv, {
      delimiter: delimiterOf(csv),
      bom: true,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      info: true,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (error) {
    throw new AppError('invalid_input', `csv: ${error instanceof Error ? error.message : String(error)}`, {
      field: 'csv',
    });
  }
  const [first, ...rest] = records;
  if (!first)
    throw new AppError(
      'invalid_input',
      'csv: the file is empty; it needs a header row, then a row per contact',
      { field: 'csv', issue: { code: 'refused', reason: 'csv_empty' } },
    );
  const header = first.record;
  const seen = new Set<string>();
  for (const [index, name] of header.entries()) {
    if (name === '')
      throw new AppError('invalid_input', `csv: column ${index + 1} of the header has no name`, {
        field: 'csv',
        issue: { code: 'refused', reason: 'csv_column_unnamed', params: { column: String(index + 1) } },
      });
    if (seen.has(name))
      throw new AppError('invalid_input', `csv: the header names ${name} twice`, {
        field: 'csv',
        issue: { code: 'refused', reason: 'csv_column_twice', params: { column: name } },
      });
    seen.add(name);
  }
  if (rest.length > MAX_IMPORT_ROWS)
    throw new AppError(
      'payload_too_large',
      `csv: ${rest.length.toLocaleString('en')} rows, over the ${MAX_IMPORT_ROWS.toLocaleString('en')} one import takes; split the file, or use mops import events`,
      {
        field: 'csv',
        issue: {
          code: 'refused',
          reason: 'csv_too_many_rows',
          params: { rows: String(rest.length), max: String(MAX_IMPORT_ROWS) },
        },
      },
    );
  return { header, rows: rest.map((row) => ({ line: row.info.lines, cells: row.record })) };
}
