import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { durationMs, PositiveDuration } from '../../core/duration.js';
import { AppError } from '../../core/errors.js';
import { HAND_OFF_STATUSES } from '../../core/hand-off.js';
import { parseIsoDate } from '../../core/iso-date.js';
import { ScoreModel } from '../../core/score-model.js';
import { SCORE_REPLAY_STATUSES, type ScoreReplay } from '../../core/score-replay.js';
import { traitsOfProfiles } from '../../profiles/profiles.js';
import { cancelScoreReplay, requestScoreReplay } from '../../scoring/score-replay.js';
import {
  accountScores,
  profileIntent,
  RecentDistributions,
  recycleProfile,
  scoreDistribution,
} from '../../scoring/scoring.js';
import type { HandOff, Storage } from '../../storage/storage.js';
import type { Authenticator } from '../auth.js';
import { ErrorResponse, PageQuery, pageOf, WorkspaceParams } from '../schemas.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };
const ProfileParams = WorkspaceParams.extend({ profileId: z.string().min(1).max(100) });
/** Why a profile was recycled when the caller gives no reason. */
const HAND_RECYCLE_REASON = 'recycled by hand';
/** How long a recomputed distribution is shown while no score was written (decay moves over days). */
const DISTRIBUTION_MAX_AGE_MS = 30_000;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const HandOffJson = z
  .object({
    id: z.string(),
    profileId: z.string(),
    owner: z
      .string()
      .nullable()
      .describe('null while `awaiting_identity` (and when `dropped` before it was made)'),
    status: z
      .enum(HAND_OFF_STATUSES)
      .describe(
        '`awaiting_identity`: owed — the profile reached the hand-off stage before it had a user id or an e-mail; made once it has one. `dropped`: owed, then no longer (see `droppedReason`)',
      ),
    messageId: z.string().nullable(),
    createdAt: z
      .string()
      .describe('when it was made (for one still owed, when it was owed): the SLA counts from here'),
    acceptBy: z
      .string()
      .nullable()
      .describe('null for a hand-off that `passed`, or was never made: no SLA ran'),
    acceptedAt: z.string().nullable(),
    breachedAt: z.string().nullable(),
    owedAt: z
      .string()
      .nullable()
      .describe('when the profile reached the hand-off stage unknown to sales; null for one made at once'),
    droppedReason: z.string().nullable(),
  })
  .meta({ id: 'HandOff' });

function handOffJson(handOff: HandOff): z.infer<typeof HandOffJson> {
  return {
    id: handOff.id,
    profileId: handOff.profileId,
    owner: handOff.owner,
    status: handOff.status,
    messageId: handOff.messageId,
    createdAt: iso(handOff.createdAt) as string,
    acceptBy: handOff.status === 'passed' || handOff.owner === null ? null : iso(handOff.dueAt),
    acceptedAt: iso(handOff.acceptedAt),
    breachedAt: iso(handOff.breachedAt),
    owedAt: iso(handOff.owedAt),
    droppedReason: handOff.droppedReason,
  };
}

const ScoreReplayJson = z
  .object({
    id: z.string(),
    model: z.string(),
    since: z.string().nullable().describe('only events after this moment are scored; null: every event'),
    status: z
      .enum(SCORE_REPLAY_STATUSES)
      .describe(
        '`cancelled`: its model was removed meanwhile; `failed`: a page failed at every attempt (see `reason`)',
      ),
    profilesTotal: z.number().describe('profiles in the workspace when it was requested'),
    profilesDone: z.number(),
    profilesScored: z
      .number()
      .describe(
        'profiles whose score the replay stored: those that earned points, and under fit rules those whose score it changed',
      ),
    awards: z.number(),
    points: z.number().describe('awarded, before decay'),
    requestedAt: z.string(),
    finishedAt: z.string().nullable(),
    reason: z.string().nullable(),
  })
  .meta({ id: 'ScoreReplay' });

function replayJson(replay: ScoreReplay): z.infer<typeof ScoreReplayJson> {
  return {
    id: replay.id,
    model: replay.model,
    since: iso(replay.since),
    status: replay.status,
    profilesTotal: replay.profilesTotal,
    profilesDone: replay.profilesDone,
    profilesScored: replay.profilesScored,
    awards: replay.awards,
    points: replay.points,
    requestedAt: iso(replay.requestedAt) as string,
    finishedAt: iso(replay.finishedAt),
    reason: replay.reason,
  };
}

/** `since` as given: a duration back from now (`90d`), or a moment (ISO 8601). */
function replaySince(since: string | undefined, now: number): number | null {
  if (since === undefined) return null;
  if (PositiveDuration.safeParse(since).success) return now - durationMs(since);
  const at = parseIsoDate(since);
  if (Number.isNaN(at))
    throw new AppError(
      'invalid_input',
      'since must be a duration back from now (90d, 12w) or an ISO-8601 date-time such as 2026-09-01T00:00:00Z',
      { field: 'since' },
    );
  if (at >= now)
    throw new AppError('invalid_input', 'since must be in the past: no event happened after now', {
      field: 'since',
    });
  return at;
}

const StageChangeJson = z.object({
  from: z.string().nullable(),
  to: z.string(),
  reason: z.string(),
  at: z.string(),
});

/** Scores explained from the ledger, lifecycle stages, sales hand-offs; account scores and distributions. */
export async function scoringRoutes(
  app: FastifyInstance,
  deps: {
    storage: Storage;
    clock: Clock;
    auth: Authenticator;
    onMessagesQueued?: () => void;
    onScoreReplayRequested?: () => void;
  },
): Promise<void> {
  const { storage, clock, auth } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();
  const recentDistributions = new RecentDistributions(DISTRIBUTION_MAX_AGE_MS);

  api.get(
    '/api/workspaces/:workspaceId/profiles/:profileId/intent',
    {
      schema: {
        tags: ['scoring'],
        summary:
          "A profile's scores, each point explained from its ledger, its lifecycle stage and hand-offs",
        description:
          "Scores are recomputed from the ledger now, so decay shows as it happens: each award has its original `points` and what is left of them (`current`). While the model's cap holds a score, `modelCap` gives the cap and the points it holds back (negative) or gives back (positive), so awards, fit and cap add up to `score`.",
        params: ProfileParams,
        response: {
          200: z.object({
            scores: z.array(
              z.object({
                model: z.string(),
                score: z.number(),
                awards: z.array(
                  z.object({
                    rule: z.string(),
                    eventId: z.number(),
                    at: z.string(),
                    points: z.number(),
                    current: z.number(),
                  }),
                ),
                fit: z.array(z.object({ rule: z.string(), points: z.number() })),
                /** Only while the model's cap holds the score: what it holds back (or gives back). */
                modelCap: z.object({ cap: z.number(), points: z.number() }).optional(),
              }),
            ),
            stage: z.string().nullable(),
            stageHistory: z.array(StageChangeJson),
            handOffs: z.array(HandOffJson),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId, profileId } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      const intent = await profileIntent(storage, { workspaceId, profileId, now: clock.now() });
      return {
        scores: intent.scores.map((score) => ({
          model: score.model,
          score: score.score,
          awards: score.awards.map((award) => ({
            rule: award.rule,
            eventId: award.eventId,
            at: iso(award.at) as string,
            points: award.points,
            current: award.current,
          })),
          fit: score.fit,
          ...(score.modelCap ? { modelCap: score.modelCap } : {}),
        })),
        stage: intent.stage,
        stageHistory: intent.stageHistory.map((change) => ({
          from: change.from,
          to: change.to,
          reason: change.reason,
          at: iso(change.at) as string,
        })),
        handOffs: intent.handOffs.map(handOffJson),
      };
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/profiles/:profileId/lifecycle/recycle',
    {
      schema: {
        tags: ['scoring'],
        summary: 'Send a profile back to the recycle stage (e.g. sales rejected the lead)',
        description:
          'Every hand-off sales has ends as `recycled` — `pending`, `accepted`, `passed` or `breached`, an older one a merge brought too — and the CRM destination gets `mops.hand_off.recycled` with the `reason`, once per hand-off.',
        params: ProfileParams,
        // No body at all is fine too (Fastify gives null for none).
        body: z
          .strictObject({ reason: z.string().trim().min(1).max(200).default(HAND_RECYCLE_REASON) })
          .nullish(),
        response: { 200: z.object({ from: z.string().nullable(), to: z.string() }), ...errors },
      },
    },
    async (request) => {
      const { workspaceId, profileId } = request.params;
      await auth.requireWorkspace(request, workspaceId, 'admin');
      const profile = await storage.profiles.find(workspaceId, profileId);
      if (!profile) throw new AppError('not_found', `profile ${profileId} does not exist`);
      const moved = await recycleProfile(storage, {
        workspaceId,
        profileId: profile.id,
        reason: request.body?.reason ?? HAND_RECYCLE_REASON,
        now: clock.now(),
      });
      if (!moved)
        throw new AppError(
          'invalid_input',
          'the profile is not past the recycle stage (or the workspace has no lifecycle)',
          {
            field: 'profileId',
          },
        );
      if (moved.queued > 0) deps.onMessagesQueued?.();
      return { from: moved.from, to: moved.to };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/accounts/:accountId/scores',
    {
      schema: {
        tags: ['scoring'],
        summary: "An account's scores: per model, the total, mean and maximum of its contacts' scores",
        description:
          'The account by its id (`acc_…`, as a profile lists its accounts) or by the `groupId` of the group calls that made it.',
        params: WorkspaceParams.extend({ accountId: z.string().min(1).max(100) }),
        response: {
          200: z.object({
            items: z.array(
              z.object({
                model: z.string(),
                total: z.number(),
                average: z.number(),
                max: z.number(),
                contacts: z.number(),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const { workspaceId, accountId } = request.params;
      const account =
        (await storage.profiles.findAccount(workspaceId, accountId)) ??
        (await storage.profiles.findAccountsByGroupIds(workspaceId, [accountId]))[0];
      if (!account)
        throw new AppError('not_found', `no account ${accountId} in workspace ${workspaceId}`, {
          field: 'accountId',
        });
      return {
        items: await accountScores(storage, { workspaceId, accountId: account.id, now: clock.now() }),
      };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/scoring/definitions',
    {
      schema: {
        tags: ['scoring'],
        summary:
          'Score models with their rules, lifecycle stages, subscription topics and the hand-off owners by name: what every member may read to understand scores, stages, consent and hand-offs (the rest of the settings is for admins)',
        params: WorkspaceParams,
        response: {
          200: z.object({
            models: z.array(ScoreModel),
            stages: z.array(z.string()),
            topics: z.array(z.object({ id: z.string(), name: z.string() })),
            owners: z.array(z.object({ id: z.string(), name: z.string() })),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      const settings = await storage.settings.get(workspaceId);
      return {
        models: settings.scoring.models,
        stages: settings.lifecycle?.stages ?? [],
        topics: settings.topics.map((topic) => ({ id: topic.id, name: topic.name })),
        owners: (settings.handOff?.owners ?? []).map((owner) => ({ id: owner.id, name: owner.name })),
      };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/scoring/models/:model/distribution',
    {
      schema: {
        tags: ['scoring'],
        summary: 'How profiles spread over scores of a model, in buckets',
        description:
          'Scores as they stand now: where points decay (or fit rules hold for a time) they are recomputed from the ledgers, as on the profile; a recomputed one is shown again for ten times as long as it took, and while no score was written for up to 30 seconds.',
        params: WorkspaceParams.extend({ model: z.string().min(1).max(64) }),
        querystring: z.strictObject({ bucket: z.coerce.number().min(0.01).max(100_000).default(10) }),
        response: {
          200: z.object({ buckets: z.array(z.object({ from: z.number(), count: z.number() })) }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId, model } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      const buckets = await scoreDistribution(storage, {
        workspaceId,
        modelId: model,
        bucket: request.query.bucket,
        now: clock.now(),
        recent: recentDistributions,
        logger: request.log,
      });
      return { buckets };
    },
  );

  const ModelParams = WorkspaceParams.extend({ model: z.string().min(1).max(64) });
  api.post(
    '/api/workspaces/:workspaceId/scoring/models/:model/replays',
    {
      schema: {
        tags: ['scoring'],
        summary: 'Apply a score model to past events (after a model or a rule was added)',
        description:
          "The model's event rules award points for the events the log holds (after `since`, when given) as they would have as each came in: once-only rules once, caps after decay, no event twice (those scored already earn nothing again), each award dated by its event so that decay counts from then. It runs in the background, a page of profiles at a time; `GET …/replays/{id}` shows how far it has got. Each profile that earned points gets a `Past Events Scored` event, and segments asking about scores decide it again. Lifecycle stages do not move until the profile's next event, so that history does not flood sales with hand-offs. 409 while a replay of the model runs.",
        params: ModelParams,
        body: z
          .strictObject({
            since: z
              .string()
              .max(64)
              .optional()
              .describe('only events after this: a duration back from now (`90d`) or an ISO-8601 date-time'),
          })
          .nullish(),
        response: { 202: ScoreReplayJson, ...errors, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { workspaceId, model } = request.params;
      await auth.requireWorkspace(request, workspaceId, 'admin');
      const now = clock.now();
      const replay = await requestScoreReplay(storage, {
        workspaceId,
        model,
        since: replaySince(request.body?.since, now),
        now,
      });
      deps.onScoreReplayRequested?.();
      return reply.code(202).send(replayJson(replay));
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/scoring/models/:model/replays',
    {
      schema: {
        tags: ['scoring'],
        summary:
          "A score model's replays of past events, newest first (the last 20); 404 for a model not in the settings",
        params: ModelParams,
        response: { 200: z.object({ items: z.array(ScoreReplayJson) }), ...errors },
      },
    },
    async (request) => {
      const { workspaceId, model } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      // As applying one answers: a misspelt model is not one that was never applied.
      const settings = await storage.settings.get(workspaceId);
      if (!settings.scoring.models.some((candidate) => candidate.id === model))
        throw new AppError('not_found', `no score model ${model} in the workspace's settings`, {
          field: 'model',
        });
      const replays = await storage.scoring.listReplays(workspaceId, model, 20);
      return { items: replays.map(replayJson) };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/scoring/replays/:replayId',
    {
      schema: {
        tags: ['scoring'],
        summary: 'How far a replay of past events has got',
        params: WorkspaceParams.extend({ replayId: z.string().min(1).max(100) }),
        response: { 200: ScoreReplayJson, ...errors },
      },
    },
    async (request) => {
      const { workspaceId, replayId } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      const replay = await storage.scoring.findReplay(workspaceId, replayId);
      if (!replay) throw new AppError('not_found', `score replay ${replayId} does not exist`);
      return replayJson(replay);
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/scoring/replays/:replayId/cancel',
    {
      schema: {
        tags: ['scoring'],
        summary: 'Stop a replay of past events where it has got to',
        description:
          'What it awarded stays (each award is what its event would have earned as it came); applying the model again later goes on from there, as no event earns twice. 409 for a replay no longer running.',
        params: WorkspaceParams.extend({ replayId: z.string().min(1).max(100) }),
        response: { 200: ScoreReplayJson, ...errors, 409: ErrorResponse },
      },
    },
    async (request) => {
      const { workspaceId, replayId } = request.params;
      const access = await auth.requireWorkspace(request, workspaceId, 'admin');
      const by = access.kind === 'key' ? `API key ${access.key.name}` : access.user.email;
      const replay = await cancelScoreReplay(storage, { workspaceId, replayId, by, now: clock.now() });
      return replayJson(replay);
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/hand-offs',
    {
      schema: {
        tags: ['scoring'],
        summary:
          'Sales hand-offs, newest first by when each was made; `missed=true` lists those whose SLA ran out',
        description:
          'A hand-off whose SLA ran out is `breached`, or `recycled` when `recycleOnMiss` or a later recycle by hand sent the lead back; `missed=true` lists both, with `breachedAt` set. A recycle by hand before the SLA ran out leaves `breachedAt` null.',
        params: WorkspaceParams,
        querystring: PageQuery.extend({
          status: z.enum(HAND_OFF_STATUSES).optional(),
          missed: z.enum(['true', 'false']).optional(),
          profileId: z.string().max(100).optional(),
        }),
        response: {
          200: pageOf(
            HandOffJson.extend({
              traits: z
                .record(z.string(), z.unknown())
                .meta({ description: 'The contact’s, to tell who it is' }),
            }),
          ),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      const { status, missed, profileId, limit, cursor } = request.query;
      const page = await storage.scoring.listHandOffs(
        workspaceId,
        {
          ...(status ? { status } : {}),
          ...(missed !== undefined ? { missed: missed === 'true' } : {}),
          ...(profileId ? { profileId } : {}),
        },
        { limit, cursor },
      );
      const traitsOf = await traitsOfProfiles(
        storage,
        page.items.map((handOff) => handOff.profileId),
      );
      return {
        items: page.items.map((handOff) => ({
          ...handOffJson(handOff),
          traits: traitsOf.get(handOff.profileId) ?? {},
        })),
        nextCursor: page.nextCursor,
      };
    },
  );
}
