import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { AppError, describeError, isAppError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { ListAddition } from '../core/list-addition.js';
import type { Segment } from '../core/segment-definition.js';
import { PROFILES_CURSOR } from '../profiles/profiles.js';
import { chunks } from '../storage/chunks.js';
import { FAILURES_BEFORE_GIVING_UP, isPassingFailure } from '../storage/passing-failures.js';
import { ORDER_SLACK_MS } from '../storage/received-order.js';
import type { Storage } from '../storage/storage.js';
import { addToStaticList } from './static-list.js';

/** How long an addition waits for contacts the pipeline has not made profiles of, while it lags. */
export const MAX_WAIT_MS = 60 * 60_000;
const IDS_PER_LOOKUP = 1000;

/** The static segment an import adds its contacts to; 400 naming `field` for any other. */
export async function staticListFor(
  storage: Storage,
  input: { workspaceId: string; segmentId: string; field: string },
): Promise<Segment> {
  const segment = await storage.segments.find(input.workspaceId, input.segmentId);
  if (!segment)
    throw new AppError('invalid_input', `${input.field}: segment ${input.segmentId} does not exist`, {
      field: input.field,
    });
  if (segment.kind !== 'static')
    throw new AppError(
      'invalid_input',
      `${input.field}: ${segment.name} is a live segment, which follows its rule; choose a static one`,
      { field: input.field },
    );
  return segment;
}

/** Records that these imported contacts join the static segment once they are profiles. */
export async function requestListAddition(
  storage: Storage,
  input: { workspaceId: string; segmentId: string; userIds: string[]; now: number },
): Promise<ListAddition> {
  const addition: ListAddition = {
    id: newId('lad', input.now),
    workspaceId: input.workspaceId,
    segmentId: input.segmentId,
    userIds: [...new Set(input.userIds)],
    status: 'waiting',
    matched: 0,
    unmatched: 0,
    added: 0,
    requestedAt: input.now,
    finishedAt: null,
    reason: null,
  };
  await storage.transaction((tx) => tx.segments.createListAddition(addition));
  return addition;
}

/** The profiles of these user ids, by user id, for those that have one. */
async function profilesOf(storage: Storage, addition: ListAddition): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const ids of chunks(addition.userIds, IDS_PER_LOOKUP)) {
    const identities = await storage.profiles.findIdentities(
      addition.workspaceId,
      ids.map((value) => ({ kind: 'user' as const, value })),
    );
    for (const identity of identities) found.set(identity.value, identity.profileId);
  }
  return found;
}

/**
 * Adds the contacts of one waiting addition, when they are ready: the pipeline having made profiles of
 * every event received before the addition was asked for (those not found then never will be), or
 * every one found already, or MAX_WAIT_MS gone by. Undefined when it must wait longer.
 */
async function addWhenReady(
  storage: Storage,
  addition: ListAddition,
  now: () => number,
): Promise<ListAddition | undefined> {
  // Read before the identities: what was received before the request and read by then is resolved by then.
  // Received times may run out of log order by ORDER_SLACK_MS (processes whose clocks differ): an event
  // stamped a little after the import may stand before its calls in the log.
  const firstUnread = await storage.firstUnprocessedAt(PROFILES_CURSOR);
  const isThrough = firstUnread === undefined || firstUnread > addition.requestedAt + ORDER_SLACK_MS;
  const found = await profilesOf(storage, addition);
  // Behind with others' events: ready all the same once each of these contacts is a profile.
  if (!isThrough && found.size < addition.userIds.length && now() - addition.requestedAt < MAX_WAIT_MS)
    return undefined;
  const segment = await storage.segments.find(addition.workspaceId, addition.segmentId);
  const fail = (reason: string): ListAddition => ({
    ...addition,
    status: 'failed',
    finishedAt: now(),
    reason,
  });
  if (!segment) return fail(`segment ${addition.segmentId} was deleted`);
  const profileIds = [...new Set(found.values())];
  // Counted with each page's commit: one cut short by a crash counts on from there when it runs again.
  let added = addition.added;
  try {
    for (const page of chunks(profileIds, IDS_PER_LOOKUP))
      added += await addToStaticList(
        storage,
        {
          workspaceId: addition.workspaceId,
          segmentId: segment.id,
          segmentName: segment.name,
          now,
          alsoInTransaction: (tx, count) => tx.segments.countListAdditionAdded(addition.id, count),
        },
        page,
      );
  } catch (error) {
    if (isAppError(error) && error.code === 'conflict') return fail(error.message);
    throw error;
  }
  return {
    ...addition,
    status: 'done',
    matched: profileIds.length,
    unmatched: addition.userIds.length - found.size,
    added,
    finishedAt: now(),
  };
}

/** Failed runs in a row of each addition (by id), kept by the caller between runs. */
export type ListAdditionFailures = Map<string, number>;

/**
 * Adds the waiting additions whose contacts are ready, oldest first; returns how many ended. One that
 * fails is tried again at the next run, until it has failed FAILURES_BEFORE_GIVING_UP times, when it
 * ends as `failed` with its error. Adding is idempotent (only contacts not in the list yet are added),
 * so one cut short by a crash adds the rest when it runs again.
 */
export async function runListAdditions(
  storage: Storage,
  options: { clock: Clock; logger: Logger; failures?: ListAdditionFailures },
): Promise<number> {
  const { clock, logger } = options;
  const failures = options.failures ?? new Map<string, number>();
  const now = () => clock.now();
  // Most looks find nothing waiting: they cost one read, not the connection running alone takes.
  if (!(await storage.segments.anyListAdditionWaiting())) return 0;
  // One process at a time: two adding the same contacts would only split the count of those added.
  const run = await storage.runAlone('list-additions', async () => {
    const passOver: string[] = [];
    let ended = 0;
    for (;;) {
      const addition = await storage.segments.claimListAddition(passOver);
      if (!addition) return ended;
      let outcome: ListAddition | undefined;
      try {
        outcome = await addWhenReady(storage, addition, now);
      } catch (error) {
        if (isPassingFailure(error)) throw error;
        const runs = (failures.get(addition.id) ?? 0) + 1;
        failures.set(addition.id, runs);
        if (runs < FAILURES_BEFORE_GIVING_UP) {
          logger.warn(
            { err: error, addition: addition.id },
            'adding imported contacts to a list failed; tried again',
          );
          passOver.push(addition.id);
          continue;
        }
        outcome = { ...addition, status: 'failed', finishedAt: now(), reason: describeError(error) };
      }
      if (!outcome) {
        passOver.push(addition.id);
        continue;
      }
      const ending = outcome;
      await storage.transaction((tx) => tx.segments.saveListAddition(ending));
      failures.delete(addition.id);
      ended++;
      logger.info(
        { addition: addition.id, segment: addition.segmentId, status: ending.status, added: ending.added },
        'imported contacts added to a list',
      );
    }
  });
  return run.ran ? run.value : 0;
}
