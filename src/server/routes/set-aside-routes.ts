import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import type { SetAsideEvent } from '../../core/event.js';
import {
  dismissSetAsideEvent,
  dismissSetAsideTimer,
  type ResolveOutcome,
  type ResolveRequest,
  retrySetAsideEvent,
  retrySetAsideTimer,
} from '../../pipeline/redrive.js';
import type { Storage } from '../../storage/storage.js';
import type { Authenticator, WorkspaceAccess } from '../auth.js';
import { eventRetries } from '../event-retries.js';
import {
  ErrorResponse,
  pageOf,
  SetAsideEventJson,
  SetAsideQuery,
  SetAsideTimerJson,
  setAsideEventJson,
  setAsideTimerJson,
  WorkspaceParams,
} from '../schemas.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };
const resolveErrors = {
  ...errors,
  409: ErrorResponse.describe(
    'already retried or dismissed; or (retry) it cannot be redone, or failed again, the message saying why',
  ),
};
const RecordId = z
  .string()
  .regex(/^[1-9][0-9]{0,14}$/, 'must be the id of a set-aside record, as listed (digits)');
const TimerParams = WorkspaceParams.extend({ timerId: RecordId });
const EventParams = WorkspaceParams.extend({ setAsideEventId: RecordId });

const EVENTS_DESCRIPTION =
  'A consumer (profiles, scoring, segments, journeys) that fails on one event several times running, while the database answers, sets it aside with the error rather than stop for good: the event stays in the log, and the consumers after it read it as usual. Each one here is a bug to report; once mended, retry it (scoring, segments) or dismiss it.';
const TIMERS_DESCRIPTION =
  "A journey wait, a segment window or a hand-off SLA whose timer fails several times running, while the database answers, is set aside with the error rather than hold up every timer due after it. It no longer falls due: the journey instance waits, the profile's segment windows are decided again at its next event, the hand-off stays pending without its SLA being judged, until it is retried. Each one here is a bug to report.";

/**
 * What the background work set aside (events a consumer of the log went past, timers that failed
 * every time): listed for the console and API users, and retried or dismissed by admins.
 */
export async function setAsideRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; clock: Clock; auth: Authenticator; onMessagesQueued?: () => void },
): Promise<void> {
  const { storage, clock, auth } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();
  const retries = eventRetries({ onMessagesQueued: () => deps.onMessagesQueued?.() });
  const eventJson = (event: SetAsideEvent) => {
    const retry = retries[event.consumer];
    return setAsideEventJson(event, retry !== undefined && 'redo' in retry);
  };

  api.get(
    '/api/workspaces/:workspaceId/set-aside-events',
    {
      schema: {
        tags: ['events'],
        summary:
          'Stored events a consumer of the log failed on at every attempt and went on past, newest first',
        description: EVENTS_DESCRIPTION,
        params: WorkspaceParams,
        querystring: SetAsideQuery,
        response: { 200: pageOf(SetAsideEventJson), ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const { resolved, ...page } = request.query;
      const found = await storage.setAsideEvents.list(request.params.workspaceId, page, {
        isResolved: resolved === 'true',
      });
      return { items: found.items.map(eventJson), nextCursor: found.nextCursor };
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/set-aside-timers',
    {
      schema: {
        tags: ['events'],
        summary: 'Due timers that failed at every attempt and were set aside, newest first',
        description: TIMERS_DESCRIPTION,
        params: WorkspaceParams,
        querystring: SetAsideQuery,
        response: { 200: pageOf(SetAsideTimerJson), ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const { resolved, ...page } = request.query;
      const found = await storage.setAsideTimers.list(request.params.workspaceId, page, {
        isResolved: resolved === 'true',
      });
      return { items: found.items.map(setAsideTimerJson), nextCursor: found.nextCursor };
    },
  );

  const resolveRequest = (workspaceId: string, id: string, caller: WorkspaceAccess): ResolveRequest => ({
    workspaceId,
    id: Number(id),
    by: caller.kind === 'user' ? `user:${caller.user.id}` : `api-key:${caller.key.id}`,
    now: clock.now(),
  });

  api.post(
    '/api/workspaces/:workspaceId/set-aside-timers/:timerId/retry',
    {
      schema: {
        tags: ['events'],
        summary:
          'Put a set-aside timer back, to fire at its due time (at once when past), and mark it retried',
        description:
          "Admins only. The timer goes back where its kind's scheduler takes it and the record is marked resolved, in one transaction; failing every time again, it is set aside again as a new record. Refused (409, saying why) when nothing waits for it any more: a journey instance that ended or moved on since, a profile merged away, a hand-off no longer pending. A segment window timer keeps an earlier one the profile has since.",
        params: TimerParams,
        response: { 200: SetAsideTimerJson, ...resolveErrors },
      },
    },
    async (request) => {
      const { workspaceId, timerId } = request.params;
      const caller = await auth.requireWorkspace(request, workspaceId, 'admin');
      const outcome = await retrySetAsideTimer(storage, resolveRequest(workspaceId, timerId, caller));
      return setAsideTimerJson(resolvedOrThrow(outcome, `set-aside timer ${timerId}`, 'timerId'));
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/set-aside-timers/:timerId/dismiss',
    {
      schema: {
        tags: ['events'],
        summary: 'Mark a set-aside timer handled without putting it back',
        description: 'Admins only. The record stays, for audit (`?resolved=true`).',
        params: TimerParams,
        response: { 200: SetAsideTimerJson, ...resolveErrors },
      },
    },
    async (request) => {
      const { workspaceId, timerId } = request.params;
      const caller = await auth.requireWorkspace(request, workspaceId, 'admin');
      const outcome = await dismissSetAsideTimer(storage, resolveRequest(workspaceId, timerId, caller));
      return setAsideTimerJson(resolvedOrThrow(outcome, `set-aside timer ${timerId}`, 'timerId'));
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/set-aside-events/:setAsideEventId/retry',
    {
      schema: {
        tags: ['events'],
        summary: "Redo now the consumer's work for a set-aside event, and mark it retried",
        description:
          "Admins only. Scoring: the event earns what it earns now (awards are kept per event, never twice) and scores are recomputed. Segments: the event's contact is decided afresh for every live segment. Profiles and journeys: refused (409, saying why), as their work cannot be redone out of log order; dismiss those. Failing again, the error answers and the record stays unresolved.",
        params: EventParams,
        response: { 200: SetAsideEventJson, ...resolveErrors },
      },
    },
    async (request) => {
      const { workspaceId, setAsideEventId } = request.params;
      const caller = await auth.requireWorkspace(request, workspaceId, 'admin');
      const outcome = await retrySetAsideEvent(storage, {
        ...resolveRequest(workspaceId, setAsideEventId, caller),
        retries,
      });
      return eventJson(resolvedOrThrow(outcome, `set-aside event ${setAsideEventId}`, 'setAsideEventId'));
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/set-aside-events/:setAsideEventId/dismiss',
    {
      schema: {
        tags: ['events'],
        summary: 'Mark a set-aside event handled without redoing it',
        description: 'Admins only. The record stays, for audit (`?resolved=true`).',
        params: EventParams,
        response: { 200: SetAsideEventJson, ...resolveErrors },
      },
    },
    async (request) => {
      const { workspaceId, setAsideEventId } = request.params;
      const caller = await auth.requireWorkspace(request, workspaceId, 'admin');
      const outcome = await dismissSetAsideEvent(
        storage,
        resolveRequest(workspaceId, setAsideEventId, caller),
      );
      return eventJson(resolvedOrThrow(outcome, `set-aside event ${setAsideEventId}`, 'setAsideEventId'));
    },
  );
}

function resolvedOrThrow<T>(outcome: ResolveOutcome<T>, what: string, field: string): T {
  switch (outcome.status) {
    case 'resolved':
      return outcome.record;
    case 'not found':
      throw new AppError('not_found', `${what} does not exist`, { field });
    case 'already resolved':
      throw new AppError('conflict', `${what} is already resolved`, { field });
    case 'refused':
      throw new AppError('conflict', `${what} cannot be retried: ${outcome.reason}; dismiss it instead`, {
        field,
      });
    case 'failed':
      throw new AppError(
        'conflict',
        `retrying ${what} failed again, and it stays set aside: ${outcome.reason}`,
        {
          field,
        },
      );
  }
}
