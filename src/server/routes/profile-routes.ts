import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import { removeContactFromAccount } from '../../profiles/account-membership.js';
import { eventNamesToOffer } from '../../profiles/event-names.js';
import { findProfileDetails, listProfileTimeline } from '../../profiles/profiles.js';
import { summarizeContacts } from '../../scoring/contact-summaries.js';
import type { Storage } from '../../storage/storage.js';
import type { Authenticator } from '../auth.js';
import {
  AccountJson,
  accountJson,
  ErrorResponse,
  EventJson,
  eventJson,
  IdentityJson,
  identityJson,
  PageQuery,
  ProfileJson,
  pageOf,
  profileJson,
  RejectedEventJson,
  rejectedEventJson,
  WorkspaceParams,
} from '../schemas.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };
const ProfileParams = WorkspaceParams.extend({ profileId: z.string().min(1).max(100) });

/** A contact as the contacts list shows it: the profile, with where it stands with sales and its scores. */
const ContactJson = ProfileJson.extend({
  stage: z.string().nullable(),
  owner: z.object({ id: z.string(), name: z.string() }).nullable(),
  scores: z.array(z.object({ model: z.string(), score: z.number() })),
}).meta({ id: 'Contact' });

/**
 * Profiles, their timelines, the event log and rejected events, for the console and API users; and
 * taking a contact out of an account.
 */
export async function profileRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; clock: Clock; auth: Authenticator },
): Promise<void> {
  const { storage, clock, auth } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.delete(
    '/api/workspaces/:workspaceId/profiles/:profileId/accounts/:accountId',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Take a contact out of an account (it moved to another company)',
        description:
          "Segment's `group` call only ever adds a contact to an account. Taken out, the account's traits no longer hold for the contact: an `Account Left` event on the profile has segments asking about account traits and fit rules on them decide it again, and the account's scores leave it out. A later `group` call naming the account adds it back. 404 for a contact not in the account.",
        params: ProfileParams.extend({ accountId: z.string().min(1).max(100) }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId, profileId, accountId } = request.params;
      const access = await auth.requireWorkspace(request, workspaceId, 'admin');
      const by = access.kind === 'key' ? access.key.id : access.user.id;
      await removeContactFromAccount(storage, { workspaceId, profileId, accountId, by, now: clock.now() });
      return reply.status(204).send(null);
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/profiles',
    {
      schema: {
        tags: ['profiles'],
        summary:
          'List or search profiles, newest first or by score, with their lifecycle stage, owner and scores',
        description:
          "`q` matches a profile id, userId or anonymousId exactly, or part of any trait value (e.g. an e-mail), nested ones too, whatever its case; not trait names. A phone number is found however its spaces, dashes, dots and brackets fall. `stage` keeps those at one of the workspace's lifecycle stages. `byScore` lists the contacts a score model has scored, highest score first: by its current score, kept within a point (or 5 %) of the score of the moment as decay and timed fit rules move it. Each contact carries its stage, the sales owner of its latest hand-off while sales has it (none once recycled or dropped), and its score in each model as its profile shows it now.",
        params: WorkspaceParams,
        querystring: PageQuery.extend({
          q: z.string().max(200).optional(),
          stage: z.string().min(1).max(64).optional(),
          byScore: z.string().min(1).max(64).optional().describe('a score model id: highest score first'),
        }),
        response: { 200: pageOf(ContactJson), ...errors },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      const { stage, byScore } = request.query;
      const settings = await storage.settings.get(workspaceId);
      assertOneOf('byScore', byScore, {
        known: settings.scoring.models.map((model) => model.id),
        none: 'this workspace has no score models: set one up under scoring first',
        what: 'score model',
      });
      assertOneOf('stage', stage, {
        known: settings.lifecycle?.stages ?? [],
        none: 'this workspace has no lifecycle stages: set them up under scoring first',
        what: 'lifecycle stage',
      });
      const page = await storage.profiles.list(workspaceId, {
        limit: request.query.limit,
        cursor: request.query.cursor,
        query: request.query.q,
        stage,
        scoreModel: byScore,
      });
      const summaries = await summarizeContacts(storage, {
        workspaceId,
        profiles: page.items,
        now: clock.now(),
      });
      return {
        items: page.items.map((profile) => {
          const summary = summaries.get(profile.id);
          return {
            ...profileJson(profile),
            stage: summary?.stage ?? null,
            // Owners' e-mails are for admins' settings, not every member's list.
            owner: summary?.owner ? { id: summary.owner.id, name: summary.owner.name } : null,
            scores: summary?.scores ?? [],
          };
        }),
        nextCursor: page.nextCursor,
      };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/profiles/:profileId',
    {
      schema: {
        tags: ['profiles'],
        summary: 'One profile with its traits, identities and accounts',
        description: 'The id of a profile that was merged into another answers with the surviving profile.',
        params: ProfileParams,
        response: {
          200: ProfileJson.extend({ identities: z.array(IdentityJson), accounts: z.array(AccountJson) }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId, profileId } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      const details = await findProfileDetails(storage, workspaceId, profileId);
      if (!details) throw new AppError('not_found', `profile ${profileId} does not exist`);
      return {
        ...profileJson(details.profile),
        identities: details.identities.map(identityJson),
        accounts: details.accounts.map(accountJson),
      };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/profiles/:profileId/events',
    {
      schema: {
        tags: ['profiles'],
        summary: "The profile's event timeline, newest first",
        params: ProfileParams,
        querystring: PageQuery,
        response: { 200: pageOf(EventJson), ...errors },
      },
    },
    async (request) => {
      const { workspaceId, profileId } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      const page = await listProfileTimeline(storage, workspaceId, profileId, request.query);
      if (!page) throw new AppError('not_found', `profile ${profileId} does not exist`);
      return { items: page.items.map(eventJson), nextCursor: page.nextCursor };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/events',
    {
      schema: {
        tags: ['events'],
        summary: 'The event log, newest first',
        params: WorkspaceParams,
        querystring: PageQuery,
        response: { 200: pageOf(EventJson), ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const page = await storage.events.list(request.params.workspaceId, request.query);
      return { items: page.items.map(eventJson), nextCursor: page.nextCursor };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/event-names',
    {
      schema: {
        tags: ['events'],
        summary: 'Event names to offer where one is typed: those of the latest events, then those Mops knows',
        description:
          'The names of the workspace’s latest 50,000 events, most frequent first (`recentCount`), then the events Mops writes or reads by name that have not happened lately (`recentCount` 0): Email Opened, SMS Received, Segment Entered, Sales Accepted, …',
        params: WorkspaceParams,
        response: {
          200: z.object({ items: z.array(z.object({ name: z.string(), recentCount: z.number() })) }),
          ...errors,
        },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      return { items: await eventNamesToOffer(storage, request.params.workspaceId) };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/rejected-events',
    {
      schema: {
        tags: ['events'],
        summary: 'Calls that failed validation, with the reason and the field at fault, newest first',
        params: WorkspaceParams,
        querystring: PageQuery.extend({
          from: z.iso.datetime({ offset: true }).optional().describe('received at or after (ISO 8601)'),
          to: z.iso.datetime({ offset: true }).optional().describe('received before (ISO 8601)'),
        }),
        response: { 200: pageOf(RejectedEventJson), ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const { from, to, ...pageRequest } = request.query;
      const range =
        from !== undefined || to !== undefined
          ? { from: from ? Date.parse(from) : 0, to: to ? Date.parse(to) : Number.MAX_SAFE_INTEGER }
          : undefined;
      const page = await storage.events.listRejected(request.params.workspaceId, pageRequest, range);
      return { items: page.items.map(rejectedEventJson), nextCursor: page.nextCursor };
    },
  );
}

/** Refuses a value (when given) that is none of the workspace's own, naming the field and them. */
function assertOneOf(
  field: string,
  value: string | undefined,
  choices: { known: readonly string[]; none: string; what: string },
): void {
  if (value === undefined || choices.known.includes(value)) return;
  throw new AppError(
    'invalid_input',
    choices.known.length === 0
      ? choices.none
      : `no ${choices.what} is called ${JSON.stringify(value)}: one of ${choices.known.join(', ')}`,
    { field },
  );
}
