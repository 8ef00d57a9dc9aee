import { AppError } from '../core/errors.js';
import type { GeneratedEvent } from '../core/event.js';
import type { SalesOwner } from '../core/hand-off.js';
import { type Message, newMessage } from '../core/journey.js';
import { HAND_OFF_CREATED, SALES_ACCEPTED, SLA_MISSED, STAGE_CHANGED } from '../core/lifecycle.js';
import type { DueTimer } from '../core/timers.js';
import { singledOut } from '../pipeline/timer-scheduler.js';
import { profileEvent } from '../profiles/profile-events.js';
import {
  type HandOff,
  type MadeHandOff,
  type ProfileIdentity,
  type StageChange,
  StaleBatchError,
  type Storage,
  type StorageTx,
} from '../storage/storage.js';
import { recycleStage } from './lifecycle-stage.js';
import { scoringReadThrough } from './scoring-batch.js';

/** What the CRM receives: the hand-off (who owns it, by when sales must accept) and the profile. */
const HAND_OFF_BODY =
  '{"type": "mops.hand_off.{{ event.properties.kind }}", "hand_off": {{ event.properties | json }}, "profile": {{ profile | json }}}';

/**
 * What a hand-off call tells the CRM of: a new hand-off, its acceptance, its missed SLA, or a lead
 * sent back by hand.
 */
export type HandOffNews =
  /** With the stage the lead reached and its scores then (per model): what sales sees it as worth. */
  | { kind: 'created'; stage: string; scores: Record<string, number> }
  /** `Sales Accepted` arrived in time, from wherever sales works (the CRM, a sales tool, an e-mail). */
  | { kind: 'accepted'; acceptedAt: number }
  | { kind: 'sla_missed'; recycled: boolean }
  | { kind: 'recycled'; reason: string };

const OWED_DROPPED_ON_RECYCLE = 'recycled before the contact was known to sales';

/** A recycle by hand is on the profile as its stage change; the CRM's call alone renders under this name. */
const HAND_OFF_RECYCLED = 'Hand-off Recycled';

/** The event name a hand-off call renders under (its template's `event.name`). */
const NEWS_NAMES: Record<HandOffNews['kind'], string> = {
  created: HAND_OFF_CREATED,
  accepted: SALES_ACCEPTED,
  sla_missed: SLA_MISSED,
  recycled: HAND_OFF_RECYCLED,
};

/** The sequence a lead's hand-off calls to a destination go out in, one at a time (see `Message.sequence`). */
export const handOffSequence = (destination: string): string => `hand-off:${destination}`;

/** The webhook call telling the CRM of a hand-off, its acceptance, its missed SLA, or its recycle by hand. */
export function handOffMessage(options: {
  handOff: HandOff;
  owner: SalesOwner | undefined;
  destination: string;
  news: HandOffNews;
  at: number;
}): Message {
  const { handOff, owner, destination, news, at } = options;
  const { kind } = news;
  return newMessage(
    {
      workspaceId: handOff.workspaceId,
      profileId: handOff.profileId,
      channel: 'webhook',
      idempotencyKey: `${handOff.id}:${kind}`,
      // A lead's calls reach the CRM in the order they were made: a recycle never overtakes the
      // hand-off it ends while that one is retried.
      sequence: handOffSequence(destination),
      context: {
        event: {
          name: NEWS_NAMES[kind],
          messageId: null,
          timestamp: at,
          properties: {
            kind,
            id: handOff.id,
            status: statusTold(handOff, news),
            owner: owner ? { id: owner.id, name: owner.name, email: owner.email } : { id: handOff.owner },
            created_at: new Date(handOff.createdAt).toISOString(),
            ...(handOff.status === 'passed' ? {} : { accept_by: new Date(handOff.dueAt).toISOString() }),
            ...(news.kind === 'recycled' ? { reason: news.reason } : {}),
            ...(news.kind === 'created' ? { stage: news.stage, scores: news.scores } : {}),
            ...(news.kind === 'accepted' ? { accepted_at: new Date(news.acceptedAt).toISOString() } : {}),
          },
        },
        webhook: { destination, path: '/', method: 'POST', body: HAND_OFF_BODY },
      },
    },
    at,
  );
}

/** The hand-off's status as the call tells it: what the news made of it. */
function statusTold(handOff: HandOff, news: HandOffNews): string {
  switch (news.kind) {
    case 'created':
      return handOff.status;
    case 'accepted':
      return 'accepted';
    case 'sla_missed':
      return news.recycled ? 'recycled' : 'breached';
    case 'recycled':
      return 'recycled';
  }
}

/**
 * Who has the lead, as the profile's hand-off events say it: a journey entered on one of them (a
 * missed SLA alerting the owner in the team's chat) has only the event to address the owner by.
 * An owner since dropped from the settings is named by id alone.
 */
export function ownerProperties(ownerId: string, owner: SalesOwner | undefined): Record<string, string> {
  return owner ? { owner: owner.id, owner_name: owner.name, owner_email: owner.email } : { owner: ownerId };
}

/** `Lifecycle Stage Changed` on the profile, for its timeline and for journeys. */
export function stageChangedEvent(
  change: StageChange,
  identity: ProfileIdentity | undefined,
): GeneratedEvent | undefined {
  return profileEvent({
    workspaceId: change.workspaceId,
    identity,
    name: STAGE_CHANGED,
    key: `${change.profileId}-${change.to}`,
    properties: { from: change.from, to: change.to, reason: change.reason },
    at: change.at,
  });
}

/**
 * Hand-offs whose SLA ran out without `Sales Accepted`: marked breached, the CRM and the profile told,
 * and the lead recycled when the workspace says so. Returns how many it handled and how many
 * messages it queued.
 */
export async function runOverdueHandOffs(
  storage: Storage,
  options: { now: number; limit?: number },
): Promise<{ handled: number; queued: number }> {
  const { now } = options;
  const judgedThrough = await scoringReadThrough(storage, now);
  let taken: DueTimer[] = [];
  try {
    return await storage.transaction(async (tx) => {
      await tx.profiles.holdOffMerges();
      const overdue = await tx.scoring.claimOverdueHandOffs(judgedThrough, options.limit ?? 100);
      taken = overdue.map(({ workspaceId, id, dueAt }) => ({
        kind: 'hand-off',
        workspaceId,
        subject: id,
        token: null,
        dueAt,
      }));
      let queued = 0;
      for (const handOff of overdue) queued += await breach(tx, handOff, now);
      return { handled: overdue.length, queued };
    });
  } catch (error) {
    // A stage scoring moved while it was judged: nothing was written, and the next round judges again.
    if (error instanceof StaleBatchError) return { handled: 0, queued: 0 };
    throw singledOut(taken, error);
  }
}

async function breach(tx: StorageTx, handOff: MadeHandOff, now: number): Promise<number> {
  const settings = await tx.settings.get(handOff.workspaceId);
  const owner = settings.handOff?.owners.find((candidate) => candidate.id === handOff.owner);
  const acceptedAt = await acceptedBeside(tx, handOff);
  if (acceptedAt !== undefined) {
    if (!(await tx.scoring.settleHandOff(handOff.id, { status: 'accepted', acceptedAt }))) return 0;
    const destination = settings.handOff?.destination;
    if (!destination) return 0;
    await tx.messages.insert(
      handOffMessage({
        handOff,
        owner,
        destination,
        news: { kind: 'accepted', acceptedAt },
        at: now,
      }),
    );
    return 1;
  }
  const lifecycle = settings.lifecycle;
  const stage = (await tx.scoring.stages([handOff.profileId])).get(handOff.profileId);
  // A lead that has moved past the hand-off stage meanwhile (a purchase made it a customer) is told
  // of as missed, but not sent back.
  const isStillHandedOff =
    lifecycle !== undefined &&
    stage !== undefined &&
    settings.handOff !== undefined &&
    lifecycle.stages.indexOf(stage) <= lifecycle.stages.indexOf(settings.handOff.stage);
  const recycle =
    settings.handOff?.recycleOnMiss && lifecycle && isStillHandedOff
      ? recycleStage(lifecycle, stage)
      : undefined;
  const status = recycle ? 'recycled' : 'breached';
  if (!(await tx.scoring.settleHandOff(handOff.id, { status, breachedAt: now }))) return 0;
  const ids = (await tx.segments.idsOf([handOff.profileId])).get(handOff.profileId);
  const events: GeneratedEvent[] = [];
  const missed = profileEvent({
    workspaceId: handOff.workspaceId,
    identity: ids,
    name: SLA_MISSED,
    key: handOff.id,
    properties: {
      hand_off_id: handOff.id,
      ...ownerProperties(handOff.owner, owner),
      recycled: recycle !== undefined,
    },
    at: now,
  });
  if (missed) events.push(missed);
  if (recycle) {
    const change = {
      workspaceId: handOff.workspaceId,
      profileId: handOff.profileId,
      from: recycle.from ?? null,
      to: recycle.to,
      reason: 'hand-off SLA missed',
      at: now,
    };
    // The stage moved since it was read (scoring on another process): all of this is judged again.
    if ((await tx.scoring.setStages([change])).length > 0)
      throw new StaleBatchError(`the stage of ${handOff.profileId} moved while its missed SLA was judged`);
    const changed = stageChangedEvent(change, ids);
    if (changed) events.push(changed);
  }
  await tx.generatedEvents.append(events);
  const destination = settings.handOff?.destination;
  if (!destination) return 0;
  await tx.messages.insert(
    handOffMessage({
      handOff,
      owner,
      destination,
      news: { kind: 'sla_missed', recycled: recycle !== undefined },
      at: now,
    }),
  );
  return 1;
}

/**
 * When sales accepted another hand-off of the profile while this one waited: the same person handed
 * off twice before two profiles were known to be theirs, one accepted, then merged. That acceptance
 * answers this one too, as a `Sales Accepted` read after the merge would have.
 */
async function acceptedBeside(tx: StorageTx, handOff: HandOff): Promise<number | undefined> {
  const { items } = await tx.scoring.listHandOffs(
    handOff.workspaceId,
    { profileId: handOff.profileId, status: 'accepted' },
    { limit: 20 },
  );
  return items
    .map((other) => other.acceptedAt)
    .find(
      (acceptedAt): acceptedAt is number =>
        acceptedAt !== null && acceptedAt >= handOff.createdAt && acceptedAt <= handOff.dueAt,
    );
}

/**
 * Sends a profile back to the recycle stage by hand (sales rejected it); every hand-off sales has ends
 * as `recycled` — pending, accepted, passed or breached, a merge's older one too — and the CRM is told
 * of each once (`queued`: the calls queued for it).
 */
export async function recycleProfile(
  storage: Storage,
  options: { workspaceId: string; profileId: string; reason: string; now: number },
): Promise<{ from: string | null; to: string; queued: number } | undefined> {
  const { workspaceId, profileId, now } = options;
  return storage.transaction(async (tx) => {
    await tx.profiles.holdOffMerges();
    const settings = await tx.settings.get(workspaceId);
    if (!settings.lifecycle) return undefined;
    const current = (await tx.scoring.stages([profileId])).get(profileId);
    const move = recycleStage(settings.lifecycle, current);
    if (!move) return undefined;
    const change = {
      workspaceId,
      profileId,
      from: move.from ?? null,
      to: move.to,
      reason: options.reason,
      at: now,
    };
    // Hand-offs before the stage, in the order the SLA check and scoring lock them: the other order
    // could deadlock with them on PostgreSQL. What sales has ends, every hand-off however it stands —
    // pending, or one sales accepted or whose SLA ran out without a recycle: each is in the CRM under
    // its owner until the CRM hears of this. A merge may have brought the other profile's, older.
    const ended: HandOff[] = [];
    for (const handOff of await tx.scoring.handOffsWithSales(profileId))
      if (await tx.scoring.recycleHandOff(handOff.id)) ended.push(handOff);
    // One still owed is owed no longer: the lead must reach the stage again to be handed off.
    for (const owed of (await tx.scoring.owedHandOffs([profileId])).get(profileId) ?? [])
      await tx.scoring.dropOwedHandOff(owed.id, OWED_DROPPED_ON_RECYCLE);
    if ((await tx.scoring.setStages([change])).length > 0)
      throw new AppError('conflict', `the stage of ${profileId} changed meanwhile: try again`);
    const event = stageChangedEvent(change, (await tx.segments.idsOf([profileId])).get(profileId));
    if (event) await tx.generatedEvents.append([event]);
    // The CRM, which was handed the lead, learns that sales need not work it any longer.
    const handOffSettings = settings.handOff;
    const destination = handOffSettings?.destination;
    if (destination)
      for (const handOff of ended)
        await tx.messages.insert(
          handOffMessage({
            handOff,
            owner: handOffSettings.owners.find((candidate) => candidate.id === handOff.owner),
            destination,
            news: { kind: 'recycled', reason: options.reason },
            at: now,
          }),
        );
    return { from: change.from, to: change.to, queued: destination ? ended.length : 0 };
  });
}
