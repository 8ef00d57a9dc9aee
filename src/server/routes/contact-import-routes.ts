import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import { LIST_ADDITION_STATUSES, type ListAddition } from '../../core/list-addition.js';
import type { EventAppender } from '../../ingest/ingest.js';
import { importContacts, MAX_IMPORT_ROWS, previewContactsFile } from '../../profiles/contact-import.js';
import { requestListAddition, staticListFor } from '../../segments/list-additions.js';
import type { Storage } from '../../storage/storage.js';
import type { Authenticator } from '../auth.js';
import { ErrorResponse, WorkspaceParams } from '../schemas.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };
/** A file of the most rows one import takes, at ~300 bytes a contact, with room to spare. */
const MAX_CSV_CHARACTERS = 48 * 1024 * 1024;
const Csv = z
  .string()
  .min(1)
  .max(MAX_CSV_CHARACTERS)
  .describe(
    `The file's text: a header row, then a row per contact (comma-, semicolon- or tab-separated, read from the header); at most ${MAX_IMPORT_ROWS.toLocaleString('en')} rows`,
  );

/** Contacts imported from a spreadsheet or a CRM export, its columns mapped to traits in the console. */
export async function contactImportRoutes(
  app: FastifyInstance,
  deps: {
    storage: Storage;
    clock: Clock;
    auth: Authenticator;
    appender: EventAppender;
    /** Imported contacts are to join a list: the background looks for them now. */
    onListAdditionRequested?: () => void;
  },
): Promise<void> {
  const { storage, clock, auth } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();
  // JSON holding the file's text: past the server's usual limit for a body.
  const bodyLimit = MAX_CSV_CHARACTERS * 2;

  api.post(
    '/api/workspaces/:workspaceId/profiles/import/preview',
    {
      bodyLimit,
      schema: {
        tags: ['profiles'],
        summary:
          'Read a CSV file of contacts: its columns, a few values of each, and the trait each suggests',
        description:
          'Nothing is stored. `trait` is the header snake-cased, or the name Mops reads such a column by (`E-mail` → `email`, `Mobile` → `phone`, `First Name` → `first_name`); `idColumn` the column most likely to name each contact (a user id column, else the e-mail address), null when none does. 400 naming `csv` for a file that cannot be read (an empty one, a quote never closed, a header naming a column twice).',
        params: WorkspaceParams,
        body: z.strictObject({ csv: Csv }),
        response: {
          200: z.object({
            rows: z.number(),
            columns: z.array(z.object({ name: z.string(), trait: z.string(), samples: z.array(z.string()) })),
            idColumn: z.string().nullable(),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      return previewContactsFile(request.body.csv);
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/profiles/import',
    {
      bodyLimit,
      schema: {
        tags: ['profiles'],
        summary: 'Import contacts from a CSV file, each row an identify call through the event log',
        description:
          "Each row becomes an `identify` call, as a client's would: the contact named by `idColumn` (the e-mail address will do), every other column a trait — named as `columns` says, or left out when it says null; a column not named there keeps its header as its name. Empty cells set nothing, so an import never blanks a trait; numbers and true/false are read as such, except for phone, email and the id column. Segments, scores, stages and journeys follow the calls as they follow any. A row without an id, or with more or fewer cells than the header, is rejected (listed by line, and kept with the rejected events); importing the same file with the same mapping again stores nothing twice (`duplicates`). 400 naming `csv`, `idColumn` or `columns.<column>` for what is wrong with the file or the mapping, before anything is stored.",
        params: WorkspaceParams,
        body: z.strictObject({
          csv: Csv,
          idColumn: z.string().min(1).max(200),
          columns: z
            .record(z.string(), z.string().max(200).nullable())
            .default({})
            .describe('Column → trait name; null leaves the column out'),
          list: z
            .string()
            .min(1)
            .max(100)
            .optional()
            .describe(
              'A static segment the imported contacts join once the event log has made them profiles (see `listAddition`)',
            ),
        }),
        response: {
          200: z.object({
            rows: z.number(),
            stored: z.number().describe('Calls stored: a contact created or its traits set'),
            duplicates: z.number().describe('Rows imported before with the same mapping: not stored again'),
            rejected: z.number(),
            rejectedRows: z
              .array(z.object({ line: z.number(), reason: z.string() }))
              .describe('The first 20 rows rejected, by the line of the file they end on'),
            listAddition: ListAdditionJson.nullable().describe(
              'With `list`: the contacts joining it, waiting for the pipeline; follow it at GET …/list-additions/{id}',
            ),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await auth.requireWorkspace(request, workspaceId, 'admin');
      const { list } = request.body;
      // Checked before anything is stored: a list that cannot take them refuses the whole import.
      if (list !== undefined) await staticListFor(storage, { workspaceId, segmentId: list, field: 'list' });
      const { summary, userIds } = await importContacts(deps.appender, {
        workspaceId,
        csv: request.body.csv,
        idColumn: request.body.idColumn,
        columns: request.body.columns,
        receivedAt: clock.now(),
      });
      const addition =
        list === undefined || userIds.length === 0
          ? undefined
          : await requestListAddition(storage, { workspaceId, segmentId: list, userIds, now: clock.now() });
      if (addition) deps.onListAdditionRequested?.();
      request.log.info(
        { rows: summary.rows, stored: summary.stored, rejected: summary.rejected, list: list ?? null },
        'contacts imported',
      );
      return { ...summary, listAddition: addition ? listAdditionJson(addition) : null };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/list-additions/:additionId',
    {
      schema: {
        tags: ['profiles'],
        summary: 'How far imported contacts have got into the static segment their import named',
        description:
          '`waiting` until the pipeline has made the contacts profiles (every one found, or everything appended read, or an hour gone by); then `done`, with the contacts found (`matched`), not found (`unmatched`) and newly added (`added`: those in the list already add nothing), or `failed` with the `reason` (the segment was deleted).',
        params: WorkspaceParams.extend({ additionId: z.string().min(1).max(100) }),
        response: { 200: ListAdditionJson, ...errors },
      },
    },
    async (request) => {
      const { workspaceId, additionId } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      const addition = await storage.segments.findListAddition(workspaceId, additionId);
      if (!addition) throw new AppError('not_found', `list addition ${additionId} does not exist`);
      return listAdditionJson(addition);
    },
  );
}

const ListAdditionJson = z
  .object({
    id: z.string(),
    segmentId: z.string(),
    status: z.enum(LIST_ADDITION_STATUSES),
    contacts: z.number().describe('Contacts the import named, each once'),
    matched: z.number(),
    unmatched: z.number(),
    added: z.number(),
    requestedAt: z.string(),
    finishedAt: z.string().nullable(),
    reason: z.string().nullable(),
  })
  .meta({ id: 'ListAddition' });

function listAdditionJson(addition: ListAddition): z.infer<typeof ListAdditionJson> {
  return {
    id: addition.id,
    segmentId: addition.segmentId,
    status: addition.status,
    contacts: addition.userIds.length,
    matched: addition.matched,
    unmatched: addition.unmatched,
    added: addition.added,
    requestedAt: new Date(addition.requestedAt).toISOString(),
    finishedAt: addition.finishedAt === null ? null : new Date(addition.finishedAt).toISOString(),
    reason: addition.reason,
  };
}
