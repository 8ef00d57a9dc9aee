import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import type { Journey, JourneyInstance } from '../../core/journey.js';
import { JourneyDefinition } from '../../core/journey-definition.js';
import { MEMBER_ENTRY_STATUSES, type MemberEntry } from '../../core/member-entry.js';
import { splitResults } from '../../experiments/experiments.js';
import { JOURNEYS_CURSOR } from '../../journeys/engine.js';
import {
  archiveJourney,
  createJourney,
  currentDefinition,
  getJourney,
  type JourneyEngine,
  parseDraft,
  publishJourney,
  setJourneyPaused,
  updateDraft,
} from '../../journeys/journeys.js';
import type { Storage } from '../../storage/storage.js';
import type { Authenticator } from '../auth.js';
import { ErrorResponse, WorkspaceParams } from '../schemas.js';

const errors = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse,
};
const JourneyParams = WorkspaceParams.extend({ journeyId: z.string().min(1).max(100) });
/**
 * A draft as the API takes it: the definition of docs/journeys.md, which may still lack settings and
 * connections (publishing checks those). Checked in the handler, by `parseDraft`.
 */
const DraftBody = z.strictObject({ definition: z.record(z.string(), z.unknown()) });
const DocumentedDraftBody = z.strictObject({
  definition: JourneyDefinition.describe(
    'The journey. A draft may leave out, or leave empty, any setting, connection or the start; its name, its trigger type and its steps’ ids and types it must have. Publishing needs it complete.',
  ),
});
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const JourneyJson = z
  .object({
    id: z.string(),
    name: z.string(),
    status: z.enum(['draft', 'published', 'paused', 'archived']),
    currentVersion: z.number().nullable(),
    draft: z.unknown(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Journey' });

function journeyJson(journey: Journey) {
  return {
    id: journey.id,
    name: journey.name,
    status: journey.status,
    currentVersion: journey.currentVersion,
    draft: journey.draft,
    createdAt: iso(journey.createdAt) as string,
    updatedAt: iso(journey.updatedAt) as string,
  };
}

const MemberEntryJson = z
  .object({
    id: z.string(),
    segmentId: z.string(),
    status: z.enum(MEMBER_ENTRY_STATUSES),
    membersTotal: z.number().describe('Members when the journey was published, as an estimate'),
    membersDone: z.number(),
    entered: z.number().describe('Members the journey took (its re-entry rules may refuse some)'),
    requestedAt: z.string(),
    finishedAt: z.string().nullable(),
    reason: z.string().nullable(),
    waitingFor: z
      .enum(['journey_paused', 'segment_backfilling', 'journeys_catching_up'])
      .nullable()
      .describe('What a running one waits for before it goes on; null when it is going on'),
  })
  .meta({ id: 'JourneyMemberEntry' });

/** What a running entry of current members waits for (see `enterNextPage`); null when it goes on. */
async function memberEntryWaitingFor(
  storage: Storage,
  journey: Journey,
  entry: MemberEntry,
): Promise<MemberEntryWait | null> {
  if (entry.status !== 'running') return null;
  if (journey.status === 'paused') return 'journey_paused';
  const segment = await storage.segments.find(journey.workspaceId, entry.segmentId);
  if (segment?.status === 'backfilling') return 'segment_backfilling';
  const firstUnread = await storage.firstUnprocessedAt(JOURNEYS_CURSOR);
  return firstUnread !== undefined && firstUnread <= entry.requestedAt ? 'journeys_catching_up' : null;
}

type MemberEntryWait = 'journey_paused' | 'segment_backfilling' | 'journeys_catching_up';

function memberEntryJson(entry: MemberEntry, waitingFor: MemberEntryWait | null) {
  return {
    waitingFor,
    id: entry.id,
    segmentId: entry.segmentId,
    status: entry.status,
    membersTotal: entry.membersTotal,
    membersDone: entry.membersDone,
    entered: entry.entered,
    requestedAt: iso(entry.requestedAt) as string,
    finishedAt: iso(entry.finishedAt),
    reason: entry.reason,
  };
}

export const InstanceJson = z
  .object({
    id: z.string(),
    journeyId: z.string(),
    version: z.number(),
    profileId: z.string(),
    status: z.string(),
    stepId: z.string().nullable(),
    enteredAt: z.string(),
    endedAt: z.string().nullable(),
    endReason: z.string().nullable(),
  })
  .meta({ id: 'JourneyInstance' });

export function instanceJson(instance: JourneyInstance) {
  return {
    id: instance.id,
    journeyId: instance.journeyId,
    version: instance.version,
    profileId: instance.profileId,
    status: instance.status,
    stepId: instance.stepId,
    enteredAt: iso(instance.enteredAt) as string,
    endedAt: iso(instance.endedAt),
    endReason: instance.endReason,
  };
}

const StepCounts = z.object({
  entered: z.number(),
  completed: z.number(),
  waiting: z.number(),
  exited: z.number(),
  converted: z.number(),
});
const MessageCounts = z.object({
  sent: z.number(),
  opened: z.number(),
  clicked: z.number(),
  unsubscribed: z.number(),
  bounced: z.number(),
  complained: z.number(),
  delivered: z.number().describe('texts the SMS provider reported delivered to the handset'),
  failed: z.number(),
  suppressed: z.number(),
  skipped: z.number(),
  pending: z.number(),
});
const SplitGroupJson = z.object({
  arm: z.string().nullable().describe('the arm; null for the holdout'),
  isControl: z.boolean().describe('what the other arms are compared with: the holdout, else the first arm'),
  entered: z.number().describe('contacts who took it, each once'),
  converted: z.number().describe('of them, those who met the goal so far'),
  pending: z.number().describe('still within the goal’s window, converted or not: not in the rate yet'),
  decided: z.number().describe('whose goal window has closed'),
  decidedConverted: z.number().describe('of the decided, those who met the goal'),
  rate: z.number().nullable().describe('decidedConverted / decided'),
  interval: z.tuple([z.number(), z.number()]).nullable().describe('the rate’s 95% Wilson interval'),
  comparison: z
    .object({
      difference: z.number().nullable().describe('this rate less the control’s'),
      pValue: z
        .number()
        .nullable()
        .describe('two-sided, Bonferroni-corrected for the arms compared; null while too few'),
      verdict: z.enum(['too_early', 'too_few', 'no_clear_difference', 'higher', 'lower']),
    })
    .nullable(),
});
const ReportJson = z
  .object({
    entered: z.number(),
    active: z.number(),
    completed: z.number(),
    exited: z.number(),
    converted: z
      .number()
      .describe(
        'met the goal: instances it converted while in the journey, and those that had completed or exited (not held out) when it came within the goal’s `within`',
      ),
    heldOut: z
      .number()
      .describe('of the exited, those a split held out (no part of the journey’s conversion)'),
    steps: z.record(z.string(), StepCounts),
    messages: z.record(z.string(), MessageCounts),
    splits: z
      .array(
        z.object({
          stepId: z.string(),
          hasGoal: z.boolean(),
          goalWithin: z
            .string()
            .nullable()
            .describe('the goal’s window; null without one, and contacts are pending while in the journey'),
          groups: z.array(SplitGroupJson),
          sampleRatio: z
            .object({
              pValue: z.number().describe('chi-square test of the groups’ sizes against the weights’ shares'),
              isMismatch: z
                .boolean()
                .describe(
                  'p below 0.001: contacts were not split as the weights ask, comparisons are unsound',
                ),
            })
            .nullable()
            .describe('null while too few contacts, or when an arm was renamed or removed since'),
        }),
      )
      .describe('Each split judged on the journey’s goal, arm by arm, the holdout last (docs/journeys.md)'),
  })
  .meta({ id: 'JourneyReport' });

/** Journeys: drafts, versions, lifecycle, enrolment and reports. */
export async function journeyRoutes(
  app: FastifyInstance,
  deps: {
    storage: Storage;
    clock: Clock;
    auth: Authenticator;
    engine: JourneyEngine;
    /** A journey was published or resumed: the segment members it enters start entering now. */
    onJourneyPublished?: () => void;
  },
): Promise<void> {
  const { storage, clock, auth, engine } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/workspaces/:workspaceId/journeys',
    {
      schema: {
        tags: ['journeys'],
        summary: 'Journeys with their status and live counts',
        params: WorkspaceParams,
        response: {
          200: z.object({
            items: z.array(
              JourneyJson.extend({
                counts: ReportJson.pick({ entered: true, active: true, converted: true }),
                hasGoal: z
                  .boolean()
                  .describe(
                    'whether the version running (a draft never published: the draft) has a goal to convert on',
                  ),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const journeys = await storage.journeys.list(request.params.workspaceId);
      const items = await Promise.all(
        journeys.map(async (journey) => {
          const [report, definition] = await Promise.all([
            storage.journeys.report(journey.id),
            currentDefinition(storage, journey),
          ]);
          return {
            ...journeyJson(journey),
            counts: { entered: report.entered, active: report.active, converted: report.converted },
            hasGoal: definition.goal !== undefined,
          };
        }),
      );
      return { items };
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/journeys',
    {
      schema: {
        tags: ['journeys'],
        summary: 'Create a journey as a draft (which may be unfinished)',
        params: WorkspaceParams,
        body: DraftBody,
        response: { 201: JourneyJson, ...errors },
      },
      config: { documentedBody: DocumentedDraftBody },
    },
    async (request, reply) => {
      await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      const journey = await createJourney(storage, clock, {
        workspaceId: request.params.workspaceId,
        definition: parseDraft(request.body.definition),
      });
      return reply.status(201).send(journeyJson(journey));
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/journeys/:journeyId',
    {
      schema: {
        tags: ['journeys'],
        summary: 'One journey with its draft',
        description:
          'With `memberEntry`: how far the latest entry of its segment’s current members has got (a journey published with `currentMembers`), or null.',
        params: JourneyParams,
        response: { 200: JourneyJson.extend({ memberEntry: MemberEntryJson.nullable() }), ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const journey = await getJourney(storage, request.params.workspaceId, request.params.journeyId);
      const entry = await storage.journeys.latestMemberEntry(journey.id);
      return {
        ...journeyJson(journey),
        memberEntry: entry
          ? memberEntryJson(entry, await memberEntryWaitingFor(storage, journey, entry))
          : null,
      };
    },
  );

  api.put(
    '/api/workspaces/:workspaceId/journeys/:journeyId',
    {
      schema: {
        tags: ['journeys'],
        summary:
          'Replace the draft, finished or not (running instances and new entries are not affected until it is published)',
        params: JourneyParams,
        body: DraftBody,
        response: { 200: JourneyJson, ...errors },
      },
      config: { documentedBody: DocumentedDraftBody },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      return journeyJson(
        await updateDraft(storage, clock, {
          workspaceId: request.params.workspaceId,
          id: request.params.journeyId,
          definition: parseDraft(request.body.definition),
        }),
      );
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/journeys/:journeyId/publish',
    {
      schema: {
        tags: ['journeys'],
        summary: 'Publish the draft as a new version; new entries use it, running instances finish on theirs',
        description:
          'A draft whose steps and templates are those of the current version already is that version: nothing new is published.',
        params: JourneyParams,
        response: { 200: JourneyJson, ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      const { journey } = await publishJourney(
        storage,
        clock,
        request.params.workspaceId,
        request.params.journeyId,
      );
      deps.onJourneyPublished?.();
      return journeyJson(journey);
    },
  );

  for (const action of ['pause', 'resume', 'archive'] as const) {
    api.post(
      `/api/workspaces/:workspaceId/journeys/:journeyId/${action}`,
      {
        schema: {
          tags: ['journeys'],
          summary:
            action === 'pause'
              ? 'Pause: no new entries, no messages sent; instances keep their place'
              : action === 'resume'
                ? 'Resume a paused journey'
                : 'Archive: nothing enters, and running instances are ended',
          params: JourneyParams,
          response: { 200: JourneyJson, ...errors },
        },
      },
      async (request) => {
        const { workspaceId, journeyId } = request.params;
        await auth.requireWorkspace(request, workspaceId, 'admin');
        if (action === 'archive') {
          const journey = await archiveJourney(storage, clock, workspaceId, journeyId);
          await engine.exitAll(workspaceId, journeyId, 'journey archived');
          return journeyJson(journey);
        }
        const changed = await setJourneyPaused(storage, clock, workspaceId, journeyId, action === 'pause');
        // Current members waiting for the journey to be resumed enter now.
        if (action === 'resume') deps.onJourneyPublished?.();
        return journeyJson(changed);
      },
    );
  }

  api.post(
    '/api/workspaces/:workspaceId/journeys/:journeyId/enrol',
    {
      schema: {
        tags: ['journeys'],
        summary: 'Enter a profile by hand (subject to the journey’s re-entry rules)',
        params: JourneyParams,
        body: z.strictObject({
          profileId: z.string().min(1).max(100),
          properties: z.record(z.string(), z.unknown()).default({}),
        }),
        response: { 201: InstanceJson, ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId, journeyId } = request.params;
      await auth.requireWorkspace(request, workspaceId, 'admin');
      const journey = await getJourney(storage, workspaceId, journeyId);
      if (journey.status !== 'published')
        throw new AppError('conflict', `the journey is ${journey.status}, not published`);
      const profile = await storage.profiles.find(workspaceId, request.body.profileId);
      if (!profile)
        throw new AppError('not_found', `profile ${request.body.profileId} does not exist`, {
          field: 'profileId',
        });
      const instance = await engine.enrol({
        workspaceId,
        journeyId,
        profileId: profile.id,
        properties: request.body.properties,
      });
      if (!instance) throw new AppError('conflict', 'the journey’s re-entry rules keep this profile out now');
      return reply.status(201).send(instanceJson(instance));
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/journeys/:journeyId/report',
    {
      schema: {
        tags: ['journeys'],
        summary:
          'Per journey and per step: entered, waiting, completed, exited, converted; per message step: sent, opened, clicked, …; per split, each arm judged on the goal',
        params: JourneyParams,
        response: { 200: ReportJson, ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const journey = await getJourney(storage, request.params.workspaceId, request.params.journeyId);
      const [report, splits] = await Promise.all([
        storage.journeys.report(journey.id),
        splitResults(storage, journey, clock.now()),
      ]);
      return { ...report, splits };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/profiles/:profileId/journeys',
    {
      schema: {
        tags: ['journeys'],
        summary: "The profile's journey instances, where each one is now",
        params: WorkspaceParams.extend({ profileId: z.string().min(1).max(100) }),
        response: {
          200: z.object({
            items: z.array(
              InstanceJson.extend({
                splits: z
                  .array(z.object({ stepId: z.string(), arm: z.string().nullable() }))
                  .describe('the A/B splits it took and the arm of each; arm null: held out'),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const profile = await storage.profiles.find(request.params.workspaceId, request.params.profileId);
      if (!profile) throw new AppError('not_found', `profile ${request.params.profileId} does not exist`);
      const instances = await storage.journeys.listInstancesOfProfile(request.params.workspaceId, profile.id);
      const arms = await storage.journeys.listSplitArms(instances.map((instance) => instance.id));
      return {
        items: instances.map((instance) => ({
          ...instanceJson(instance),
          splits: arms.get(instance.id) ?? [],
        })),
      };
    },
  );
}
