import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import { SegmentChange, SegmentInput, SegmentRule } from '../../core/segment-definition.js';
import { decodeBytesInBackground, looksGzipped } from '../../ingest/decode-body.js';
import { traitsOfProfiles } from '../../profiles/profiles.js';
import { DEFAULT_EXPORT_TRAITS, segmentMembersCsv } from '../../segments/member-export.js';
import {
  createSegment,
  deleteSegment,
  getSegment,
  importStaticList,
  listSegments,
  previewSegment,
  type SegmentWithCount,
  updateSegment,
} from '../../segments/segments.js';
import type { Storage } from '../../storage/storage.js';
import type { RouteDocumentation } from '../app.js';
import type { Authenticator } from '../auth.js';
import { ErrorResponse, PageQuery, pageOf, TraitsJson, WorkspaceParams } from '../schemas.js';

const errors = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse,
};
const SegmentParams = WorkspaceParams.extend({ segmentId: z.string().min(1).max(100) });
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
/** A static list of a few hundred thousand rows fits. */
const CSV_BODY_LIMIT = 64 * 1024 * 1024;
const MAX_EXPORT_TRAITS = 50;

const SegmentJson = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    kind: z.enum(['live', 'static']),
    rule: z.unknown().nullable(),
    version: z.number(),
    status: z.enum(['backfilling', 'ready']),
    readySince: z.string().nullable().meta({
      description:
        'When the segment was first ready (its first backfill finished); null until then. Once set, a changed rule reports whom it moves in or out with Segment Entered/Exited.',
    }),
    members: z.number(),
    backfill: z.object({
      total: z.number().meta({
        description:
          'Profiles the backfill decides. 0 while a segment is `backfilling` means it is still finding them (preparing: a rule on events first reads which profiles have them), not that there are none (a backfill that finds none is over, and the segment `ready`).',
      }),
      done: z.number(),
      startedAt: z.string().nullable(),
      finishedAt: z.string().nullable(),
      failure: z.string().nullable().meta({
        description:
          'Why the backfill stopped: it failed at every attempt (a bug to report). Saving the segment again starts a new one.',
      }),
    }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Segment' });

function segmentJson(segment: SegmentWithCount): z.infer<typeof SegmentJson> {
  return {
    id: segment.id,
    name: segment.name,
    description: segment.description,
    kind: segment.kind,
    rule: segment.rule,
    version: segment.version,
    status: segment.status,
    readySince: iso(segment.readySince),
    members: segment.members,
    backfill: {
      total: segment.backfill.total,
      done: segment.backfill.done,
      startedAt: iso(segment.backfill.startedAt),
      finishedAt: iso(segment.backfill.finishedAt),
      failure: segment.backfill.failure,
    },
    createdAt: iso(segment.createdAt) as string,
    updatedAt: iso(segment.updatedAt) as string,
  };
}

/** Segments: rules kept current on every event, static lists from CSV, preview, backfill progress. */
export async function segmentRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; clock: Clock; auth: Authenticator; onSegmentSaved?: () => void },
): Promise<void> {
  const { storage, clock, auth } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();
  app.addContentTypeParser(
    'text/csv',
    { parseAs: 'buffer', bodyLimit: CSV_BODY_LIMIT },
    // Decoded in the handler, once the caller is known to be allowed: an anonymous gzip bomb costs nothing.
    (_request, body, done) => done(null, body),
  );

  api.get(
    '/api/workspaces/:workspaceId/segments',
    {
      schema: {
        tags: ['segments'],
        summary: 'Segments, with member counts and backfill progress',
        params: WorkspaceParams,
        response: { 200: z.object({ items: z.array(SegmentJson) }), ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const segments = await listSegments(storage, request.params.workspaceId);
      return { items: segments.map(segmentJson) };
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/segments',
    {
      schema: {
        tags: ['segments'],
        summary: 'Create a segment: live (a rule) or static (members uploaded as CSV)',
        description:
          'A live segment starts `backfilling`: every existing profile is evaluated (progress in `backfill`), while new events already keep it current. docs/segments.md explains the rule language.',
        params: WorkspaceParams,
        body: SegmentInput,
        response: { 201: SegmentJson, ...errors },
      },
    },
    async (request, reply) => {
      await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      const segment = await createSegment(storage, {
        workspaceId: request.params.workspaceId,
        input: request.body,
        now: clock.now(),
      });
      deps.onSegmentSaved?.();
      return reply.status(201).send(segmentJson({ ...segment, members: 0 }));
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/segments/preview',
    {
      schema: {
        tags: ['segments'],
        summary: 'How many profiles a rule holds now, and a sample of them, without saving it',
        params: WorkspaceParams,
        body: z.strictObject({ rule: SegmentRule, sampleSize: z.number().int().min(0).max(100).default(10) }),
        response: {
          200: z.object({
            count: z.number(),
            total: z.number(),
            sample: z.array(z.object({ id: z.string(), traits: TraitsJson })),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const workspaceId = request.params.workspaceId;
      await auth.requireWorkspace(request, workspaceId);
      const preview = await previewSegment(storage, {
        workspaceId,
        rule: request.body.rule,
        now: clock.now(),
        sampleSize: request.body.sampleSize,
      });
      const traitsOf = await traitsOfProfiles(storage, preview.sample);
      return {
        count: preview.count,
        total: preview.total,
        sample: preview.sample.map((id) => ({ id, traits: traitsOf.get(id) ?? {} })),
      };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/segments/:segmentId',
    {
      schema: {
        tags: ['segments'],
        summary: 'A segment, its member count and its backfill progress',
        params: SegmentParams,
        response: { 200: SegmentJson, ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      return segmentJson(await getSegment(storage, request.params.workspaceId, request.params.segmentId));
    },
  );

  api.put(
    '/api/workspaces/:workspaceId/segments/:segmentId',
    {
      schema: {
        tags: ['segments'],
        summary: 'Change a segment; a changed rule is a new version, backfilled again',
        params: SegmentParams,
        body: SegmentChange,
        response: { 200: SegmentJson, ...errors },
      },
    },
    async (request) => {
      const { workspaceId, segmentId } = request.params;
      await auth.requireWorkspace(request, workspaceId, 'admin');
      await updateSegment(storage, { workspaceId, id: segmentId, input: request.body, now: clock.now() });
      deps.onSegmentSaved?.();
      return segmentJson(await getSegment(storage, workspaceId, segmentId));
    },
  );

  api.delete(
    '/api/workspaces/:workspaceId/segments/:segmentId',
    {
      schema: {
        tags: ['segments'],
        summary: 'Delete a segment and its memberships (refused while another segment asks about it)',
        params: SegmentParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      await deleteSegment(storage, request.params.workspaceId, request.params.segmentId);
      return reply.status(204).send(null);
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/segments/:segmentId/members',
    {
      schema: {
        tags: ['segments'],
        summary:
          'The profiles in a segment, with when they entered it and their traits (to tell who they are)',
        params: SegmentParams,
        querystring: PageQuery,
        response: {
          200: pageOf(
            z.object({
              profileId: z.string(),
              enteredAt: z.string(),
              traits: TraitsJson,
            }),
          ),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId, segmentId } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      await getSegment(storage, workspaceId, segmentId);
      const page = await storage.segments.listMembers(segmentId, {
        limit: request.query.limit,
        cursor: request.query.cursor,
      });
      const traitsOf = await traitsOfProfiles(
        storage,
        page.items.map((item) => item.profileId),
      );
      return {
        items: page.items.map((item) => ({
          profileId: item.profileId,
          enteredAt: iso(item.enteredAt) as string,
          traits: traitsOf.get(item.profileId) ?? {},
        })),
        nextCursor: page.nextCursor,
      };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/segments/:segmentId/export',
    {
      schema: {
        tags: ['segments'],
        summary: 'Download the members of a segment as CSV (for sales, an ad audience, a spreadsheet)',
        description: `One row per member: \`profile_id\`, \`user_id\` (or \`anonymous_id\` for a visitor never identified), \`entered_at\`, then a column per trait asked for in \`traits\` (comma-separated; ${DEFAULT_EXPORT_TRAITS.join(', ')} when left out). UTF-8 with a byte-order mark, as Excel needs; objects and lists as JSON; text a spreadsheet would run as a formula (starting with =, +, -, @) starts with a quote. For admins: it is every member's personal data at once. 409 while the segment is being backfilled (its members are not all known yet).`,
        params: SegmentParams,
        querystring: z.strictObject({
          traits: z
            .string()
            .max(5000)
            .optional()
            .transform((value, ctx) => {
              if (value === undefined) return [...DEFAULT_EXPORT_TRAITS];
              const names = value.split(',').map((name) => name.trim());
              if (
                names.length > MAX_EXPORT_TRAITS ||
                names.some((name) => name === '' || name.length > 200)
              ) {
                ctx.addIssue({
                  code: 'custom',
                  message: `up to ${MAX_EXPORT_TRAITS} trait names, comma-separated, none empty`,
                });
                return z.NEVER;
              }
              return names;
            }),
        }),
      },
      config: {
        openapiResponse: {
          description: 'The members, as CSV',
          content: { 'text/csv': { schema: { type: 'string' } } },
        },
      } satisfies RouteDocumentation,
    },
    async (request, reply) => {
      const { workspaceId, segmentId } = request.params;
      await auth.requireWorkspace(request, workspaceId, 'admin');
      const segment = await getSegment(storage, workspaceId, segmentId);
      if (segment.status === 'backfilling')
        throw new AppError(
          'conflict',
          `${segment.name} is still being backfilled, so its members are not all known yet: export it once it is ready`,
        );
      // A header carries ASCII only: `Fiera di Milano — ôk` is saved as Fiera-di-Milano-ok.csv.
      const filename = `${
        segment.name
          .normalize('NFKD')
          .replace(/[\u0300-\u036f]/g, '')
          .replace(/[^\w.-]+/g, '-')
          .replace(/^-+|-+$/g, '') || segment.id
      }.csv`;
      request.log.info({ segment: segment.id, traits: request.query.traits.length }, 'segment exported');
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${filename}"`)
        .send(
          Readable.from(segmentMembersCsv(storage, { segmentId: segment.id, traits: request.query.traits })),
        );
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/segments/:segmentId/members',
    {
      schema: {
        tags: ['segments'],
        summary: 'Upload members of a static segment as CSV (text/csv)',
        description:
          'A header row, then one contact per row named by a `user_id`, `anonymous_id` or `email` column. Answers how many contacts the rows matched (each once), how many rows named a contact another row named too, and lists the first unmatched rows by line.',
        params: SegmentParams,
        response: {
          200: z.object({
            rows: z.number(),
            matched: z.number().describe('Contacts the rows named, each once however many rows named it'),
            unmatched: z.number(),
            duplicates: z.number().describe('Rows naming only contacts other rows of the file named too'),
            added: z.number(),
            unmatchedRows: z.array(z.object({ line: z.number(), key: z.string() })),
          }),
          ...errors,
          // Over 64 MB is a 400 (code payload_too_large), as every size limit of the API; a
          // Content-Encoding it cannot read; writing failed midway (the rest is added by sending the
          // same file again).
          415: ErrorResponse,
          503: ErrorResponse,
        },
      },
      config: {
        openapiBody: { content: { 'text/csv': { schema: { type: 'string' } } }, required: true },
      },
    },
    async (request) => {
      const { workspaceId, segmentId } = request.params;
      await auth.requireWorkspace(request, workspaceId, 'admin');
      if (!Buffer.isBuffer(request.body))
        throw new AppError('invalid_input', 'send the list as text/csv', { field: 'body' });
      // A compressed upload (curl --compressed, a gzip file sent as it is) is read as the CSV it holds.
      const csv = await decodeBytesInBackground(
        request.body,
        request.headers['content-encoding'] ?? (looksGzipped(request.body) ? 'gzip' : undefined),
        CSV_BODY_LIMIT,
      );
      return importStaticList(storage, {
        workspaceId,
        segmentId,
        source: Readable.from([csv]),
        now: () => clock.now(),
      });
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/profiles/:profileId/segments',
    {
      schema: {
        tags: ['segments'],
        summary: 'The segments a profile is in, and since when',
        params: WorkspaceParams.extend({ profileId: z.string().min(1).max(100) }),
        response: {
          200: z.object({
            items: z.array(z.object({ segmentId: z.string(), name: z.string(), enteredAt: z.string() })),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId, profileId } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      const profile = await storage.profiles.find(workspaceId, profileId);
      if (!profile) throw new AppError('not_found', `profile ${profileId} does not exist`);
      const [memberships, segments] = await Promise.all([
        storage.segments.listSegmentsOfProfile(profile.id),
        storage.segments.list(workspaceId),
      ]);
      const names = new Map(segments.map((segment) => [segment.id, segment.name]));
      return {
        items: memberships
          .filter((membership) => names.has(membership.segmentId))
          .map((membership) => ({
            segmentId: membership.segmentId,
            name: names.get(membership.segmentId) as string,
            enteredAt: iso(membership.enteredAt) as string,
          })),
      };
    },
  );
}
