import { describeError } from '../core/errors.js';
import type { SetAsideEvent, StoredEvent } from '../core/event.js';
import type { SetAsideResolution } from '../core/set-aside.js';
import type { SetAsideTimer } from '../core/timers.js';
import { isPassingFailure } from '../storage/passing-failures.js';
import { type ProfileTimer, StaleBatchError, type Storage, type StorageTx } from '../storage/storage.js';

/** What an operator asks about one set-aside record, and who they are. */
export interface ResolveRequest {
  workspaceId: string;
  id: number;
  /** `user:<id>` or `api-key:<id>`, kept for audit. */
  by: string | null;
  now: number;
}

/**
 * What came of retrying or dismissing a set-aside record: resolved (and what it now says), or why not.
 * `refused` leaves it unresolved: retrying it would do nothing, or do harm; dismissing it still works.
 */
export type ResolveOutcome<T> =
  | { status: 'resolved'; record: T }
  | { status: 'not found' }
  | { status: 'already resolved'; record: T }
  | { status: 'refused'; reason: string }
  /** Redoing it failed again (not the database failing): nothing was written, it stays set aside. */
  | { status: 'failed'; reason: string };

/**
 * How a consumer of the log redoes its work for one event now, out of log order; or why it cannot.
 * Redoing writes in the caller's transaction and returns what to announce once it commits.
 */
export type EventRetry =
  | { redo: (tx: StorageTx, event: StoredEvent, now: number) => Promise<() => void> }
  | { refusal: string };

/** Thrown inside a transaction to roll back a resolution whose retry is refused. */
class RetryRefused extends Error {
  override name = 'RetryRefused';
}

/** A batch that goes stale (a merge or a stage moving under it) is decided again this many times. */
const STALE_ATTEMPTS = 5;

/**
 * Marks a set-aside timer resolved without putting it back: the operator handled it another way. A
 * dismissed hand-off stays pending without its SLA being judged, as while it was set aside.
 */
export function dismissSetAsideTimer(
  storage: Storage,
  request: ResolveRequest,
): Promise<ResolveOutcome<SetAsideTimer>> {
  return resolveTimer(storage, request, 'dismissed', async () => undefined);
}

/**
 * Puts a set-aside timer back where its kind's scheduler takes it, with its original due time (so it
 * fires at once when that is past), and marks it resolved, in one transaction. Failing every time
 * again, it is set aside again as a new record.
 *
 * - A journey wait goes back only while its instance still waits on it: one that ended or moved on
 *   since (moved by hand, archived) is refused, as putting it back would do nothing.
 * - A profile's segment window timer goes back unless the profile has a timer due earlier already
 *   (one set by a later event), which is kept; a profile merged away since is refused (the merge
 *   decided the survivor's segments afresh).
 * - A hand-off's SLA check is taken again once the record is resolved (the hand-off kept its due
 *   time); one no longer pending (accepted since, or recycled by hand) is refused.
 * - A profile's stage timer goes back as a segment window timer does (an earlier one kept; refused
 *   for a profile merged away since).
 */
export function retrySetAsideTimer(
  storage: Storage,
  request: ResolveRequest,
): Promise<ResolveOutcome<SetAsideTimer>> {
  return resolveTimer(storage, request, 'retried', putBack);
}

async function resolveTimer(
  storage: Storage,
  request: ResolveRequest,
  how: SetAsideResolution['how'],
  act: (tx: StorageTx, timer: SetAsideTimer) => Promise<string | undefined>,
): Promise<ResolveOutcome<SetAsideTimer>> {
  const resolution: SetAsideResolution = { how, at: request.now, by: request.by };
  try {
    return await storage.transaction(async (tx) => {
      const record = await tx.setAsideTimers.find(request.workspaceId, request.id);
      if (!record) return { status: 'not found' };
      // Resolved first: it holds the record (PostgreSQL) against another operator doing the same.
      if (!(await tx.setAsideTimers.resolve(record.id, resolution)))
        return { status: 'already resolved', record: await findTimer(tx, request) };
      const refusal = await act(tx, record);
      if (refusal !== undefined) throw new RetryRefused(refusal);
      return { status: 'resolved', record: { ...record, resolution } };
    });
  } catch (error) {
    if (error instanceof RetryRefused) return { status: 'refused', reason: error.message };
    throw error;
  }
}

async function findTimer(tx: StorageTx, request: ResolveRequest): Promise<SetAsideTimer> {
  return (await tx.setAsideTimers.find(request.workspaceId, request.id)) as SetAsideTimer;
}

/** Makes the timer fall due again; why not, when it cannot. */
async function putBack(tx: StorageTx, timer: SetAsideTimer): Promise<string | undefined> {
  switch (timer.kind) {
    case 'journey': {
      const instance = await tx.journeys.lockInstance(timer.subject);
      if (!instance)
        return `journey instance ${timer.subject} no longer exists: nothing waits for this timer`;
      if (instance.status !== 'active')
        return `journey instance ${timer.subject} has ${instance.status} since: nothing waits for this timer`;
      const token = timer.token ?? '';
      const waitingFor = instance.state.waitingFor;
      // A wait's own token, or a wait for an event's timeout (the instance waits for the event).
      if (waitingFor !== token && waitingFor !== token.replace(/^timeout:/, 'event:'))
        return `journey instance ${timer.subject} has moved on since (now at step ${instance.stepId}): it no longer waits on this timer`;
      await tx.journeys.setTimer({
        workspaceId: timer.workspaceId,
        instanceId: instance.id,
        token,
        dueAt: timer.dueAt,
      });
      return undefined;
    }
    case 'segment':
      return putBackProfileTimer(tx, timer, 'its segments', (timers) =>
        tx.segments.bringTimersForward(timers),
      );
    case 'stage':
      return putBackProfileTimer(tx, timer, 'its stage', (timers) =>
        tx.scoring.bringStageTimersForward(timers),
      );
    case 'hand-off': {
      const handOff = await tx.scoring.findHandOff(timer.subject);
      if (!handOff) return `hand-off ${timer.subject} no longer exists`;
      if (handOff.status !== 'pending')
        return `hand-off ${timer.subject} is ${handOff.status} now: there is no SLA left to judge`;
      // Resolving the record as retried is what puts it back: the SLA check passes over hand-offs
      // with a record unresolved or dismissed.
      return undefined;
    }
  }
}

/**
 * A profile's timer (segment windows, stage) goes back unless the profile is gone or merged away
 * since (the merge decided the survivor afresh); a timer set for it since (a later event) stays if it
 * is due earlier.
 */
async function putBackProfileTimer(
  tx: StorageTx,
  timer: SetAsideTimer,
  decided: string,
  bringForward: (timers: ProfileTimer[]) => Promise<void>,
): Promise<string | undefined> {
  // Before the profile is read: a merge committing after the read would leave the timer to a
  // profile merged away.
  await tx.profiles.holdOffMerges();
  const [profile] = await tx.profiles.findProfilesByIds([timer.subject]);
  if (!profile) return `profile ${timer.subject} no longer exists`;
  if (profile.mergedInto !== null)
    return `profile ${timer.subject} was merged into ${profile.mergedInto} since, which decided ${decided} afresh`;
  await bringForward([{ workspaceId: timer.workspaceId, profileId: timer.subject, dueAt: timer.dueAt }]);
  return undefined;
}

/** Marks a set-aside event resolved without redoing it: the operator handled it another way. */
export async function dismissSetAsideEvent(
  storage: Storage,
  request: ResolveRequest,
): Promise<ResolveOutcome<SetAsideEvent>> {
  const resolution: SetAsideResolution = { how: 'dismissed', at: request.now, by: request.by };
  return storage.transaction(async (tx) => {
    const record = await tx.setAsideEvents.find(request.workspaceId, request.id);
    if (!record) return { status: 'not found' };
    if (!(await tx.setAsideEvents.resolve(record.id, resolution)))
      return { status: 'already resolved', record: await findEvent(tx, request) };
    return { status: 'resolved', record: { ...record, resolution } };
  });
}

/**
 * Redoes, now, the work of the consumer that set the event aside, for that event alone, and marks it
 * resolved, in one transaction; refused for a consumer whose work cannot be redone out of log order
 * (`retries` says which can, and how). Failing again, nothing is written and it stays set aside.
 */
export async function retrySetAsideEvent(
  storage: Storage,
  request: ResolveRequest & { retries: Readonly<Record<string, EventRetry>> },
): Promise<ResolveOutcome<SetAsideEvent>> {
  const resolution: SetAsideResolution = { how: 'retried', at: request.now, by: request.by };
  for (let attempt = 1; ; attempt++) {
    try {
      let announce: () => void = () => undefined;
      const outcome = await storage.transaction(async (tx): Promise<ResolveOutcome<SetAsideEvent>> => {
        const record = await tx.setAsideEvents.find(request.workspaceId, request.id);
        if (!record) return { status: 'not found' };
        if (record.resolution) return { status: 'already resolved', record };
        const retry = request.retries[record.consumer];
        if (!retry)
          return { status: 'refused', reason: `no retry is known for the ${record.consumer} consumer` };
        if ('refusal' in retry) return { status: 'refused', reason: retry.refusal };
        // After the consumer's batch under way, beside none: they would decide from the same state.
        await tx.setAsideEvents.holdOffConsumer(record.consumer);
        if (!(await tx.setAsideEvents.resolve(record.id, resolution)))
          return { status: 'already resolved', record: await findEvent(tx, request) };
        const event = await tx.setAsideEvents.findEvent(record.workspaceId, record.eventId);
        if (!event) throw new RetryRefused(`event ${record.eventId} is no longer in the log`);
        announce = await retry.redo(tx, event, request.now);
        return { status: 'resolved', record: { ...record, resolution } };
      });
      announce();
      return outcome;
    } catch (error) {
      if (error instanceof RetryRefused) return { status: 'refused', reason: error.message };
      if (error instanceof StaleBatchError && attempt < STALE_ATTEMPTS) continue;
      if (isPassingFailure(error)) throw error;
      return { status: 'failed', reason: describeError(error) };
    }
  }
}

async function findEvent(tx: StorageTx, request: ResolveRequest): Promise<SetAsideEvent> {
  return (await tx.setAsideEvents.find(request.workspaceId, request.id)) as SetAsideEvent;
}
