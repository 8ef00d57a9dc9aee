import { type GeneratedEvent, groupByWorkspace, type StoredEvent } from '../core/event.js';
import { handOffDueAt, isKnownToSales } from '../core/hand-off.js';
import { newId } from '../core/ids.js';
import type { Message } from '../core/journey.js';
import { HAND_OFF_CREATED, SALES_ACCEPTED } from '../core/lifecycle.js';
import { ACCOUNT_LEFT, SMS_RECEIVED, SMS_RESUBSCRIBED, SMS_UNSUBSCRIBED } from '../core/mops-events.js';
import { type Profile, TRAITS_UPDATED } from '../core/profile.js';
import { modelRevision, type ScoreLedgerEntry } from '../core/score-model.js';
import type { WorkspaceSettings } from '../core/workspace-settings.js';
import { profileEvent } from '../profiles/profile-events.js';
import { contactsOfAccountsChanged, eventProfileIds } from '../profiles/profiles.js';
import {
  type HandOff,
  type MadeHandOff,
  type PipelineBatch,
  type ProfileTimer,
  type StageChange,
  StaleBatchError,
  type Storage,
  type StorageReader,
  type StorageTx,
  type StoredScore,
} from '../storage/storage.js';
import { applyCall, factsAsTheyAre, factsBeforeBatch, factsThenOf } from './facts-then.js';
import { handOffMessage, ownerProperties, stageChangedEvent } from './hand-offs.js';
import { advanceStage, nextStageCheck, reaches, type StageMove } from './lifecycle-stage.js';
import { assignOwner } from './owner-assignment.js';
import { awardsFor, ledgersByProfile, movesWithTime, scoreOf } from './score.js';
import { nextScoreRefresh } from './score-refresh.js';

/** The scoring consumer's cursor: after profiles, before segments (whose rules may ask about scores). */
export const SCORING_CURSOR = 'scoring';

/**
 * What a contact did that Mops writes down itself, scored as the contact's own events are (an e-mail
 * unsubscribe comes in as one): texting STOP or START, or a reply.
 */
export const CONTACTS_DOINGS_MOPS_WRITES: ReadonlySet<string> = new Set([
  SMS_UNSUBSCRIBED,
  SMS_RESUBSCRIBED,
  SMS_RECEIVED,
]);

/**
 * Mops's own events scoring reads: the traits journeys set and the accounts admins take contacts out
 * of, which fit rules read, and the above.
 */
export const MOPS_EVENTS_SCORED = [TRAITS_UPDATED, ACCOUNT_LEFT, ...CONTACTS_DOINGS_MOPS_WRITES];

export interface ScoringWork {
  /**
   * When the SLA check is due for the hand-offs created: a millisecond after the earliest deadline,
   * the first moment one can be missed.
   */
  earliestDue: number | undefined;
  /** The earliest stage timer set (a score crossing a stage's threshold by time alone). */
  earliestStageTimer: number | undefined;
  /** Messages queued (hand-offs to the CRM). */
  queued: number;
}

type Award = ScoreLedgerEntry & { workspaceId: string; profileId: string };

/** Where an event stands in its batch: by its timestamp, then (the same timestamp) by log order. */
interface EventPlace {
  timestamp: number;
  index: number;
}

function isNotBefore(place: EventPlace, other: EventPlace): boolean {
  return (
    place.timestamp > other.timestamp || (place.timestamp === other.timestamp && place.index >= other.index)
  );
}

/**
 * Scores, lifecycle and hand-off as a pipeline batch: each event earns what the workspace's score
 * models give it (into the profile's ledger, once per event), scores are recomputed from the ledger,
 * stages move forward on scores and events, and reaching the hand-off stage assigns an owner, calls
 * the CRM and starts the acceptance SLA. `Sales Accepted` stops the SLA clock.
 */
export const scoringBatch = (now: () => number): PipelineBatch<ScoringWork> => ({
  async prepare(events, reader) {
    const at = now();
    // An event retried since would be left out of the scores this batch writes (SQLite reads before
    // taking the write lock; PostgreSQL's retry waits for the batch).
    const retriedBefore = await reader.setAsideEvents.retriedCount(SCORING_CURSOR);
    const writes: Array<(tx: StorageTx) => Promise<ScoringWork>> = [];
    // Scores and stages move on what contacts do, not on what Mops says about them — except the
    // traits a journey sets, which fit rules read as they read an identify's, and what contacts did
    // that Mops writes down for them.
    const scored = events.filter(
      (event) =>
        event.origin !== 'mops' || isTraitsUpdate(event) || isAccountLeft(event) || isContactsDoing(event),
    );
    for (const [workspaceId, workspaceEvents] of groupByWorkspace(scored)) {
      const settings = await reader.settings.get(workspaceId);
      if (settings.scoring.models.length === 0 && !settings.lifecycle) continue;
      const named = workspaceEvents.filter((event) => earnsPoints(event));
      const identified = workspaceEvents.filter(
        (event) =>
          event.type === 'identify' ||
          event.type === 'group' ||
          isTraitsUpdate(event) ||
          isAccountLeft(event),
      );
      const mayHaveMerged = workspaceEvents.filter(mayMerge);
      if (
        named.length === 0 &&
        identified.length === 0 &&
        !(await hasMerged(reader, mayHaveMerged)) &&
        !(await owesHandOff(reader, { workspaceId, settings, events: mayHaveMerged }))
      )
        continue;
      writes.push(await decideWorkspace(reader, { workspaceId, settings, events: workspaceEvents, at }));
    }
    return async (tx) => {
      let work = NO_WORK;
      if (writes.length > 0 && (await tx.setAsideEvents.retriedCount(SCORING_CURSOR)) !== retriedBefore)
        throw new StaleBatchError('a set-aside event was retried while the batch was scored');
      for (const write of writes) work = addedWork(work, await write(tx));
      return work;
    };
  },
});

export const NO_WORK: ScoringWork = { earliestDue: undefined, earliestStageTimer: undefined, queued: 0 };

/** Two pieces of scoring work as one: the earliest of their deadlines, the sum of their messages. */
export function addedWork(one: ScoringWork, other: ScoringWork): ScoringWork {
  return {
    earliestDue: earliest(one.earliestDue, other.earliestDue),
    earliestStageTimer: earliest(one.earliestStageTimer, other.earliestStageTimer),
    queued: one.queued + other.queued,
  };
}

function earliest(one: number | undefined, other: number | undefined): number | undefined {
  if (one === undefined) return other;
  return other === undefined ? one : Math.min(one, other);
}

/**
 * Up to when scoring has read every event received: a timer judging what scoring decided (an SLA, a
 * stage check) waits for it, or a `Sales Accepted` or a score received in time but waiting behind a
 * backlog would not count.
 */
export async function scoringReadThrough(storage: Storage, now: number): Promise<number> {
  const firstUnscored = await storage.firstUnprocessedAt(SCORING_CURSOR);
  return firstUnscored === undefined ? now : Math.min(now, firstUnscored - 1);
}

/**
 * Scoring's work for one event it set aside, redone now, out of log order: sound, as awards are
 * kept per event (none is earned twice) and scores are recomputed from the ledger.
 */
export async function rescoreEvent(tx: StorageTx, event: StoredEvent, at: number): Promise<ScoringWork> {
  const write = await scoringBatch(() => at).prepare([event], tx, { after: '', through: '' });
  return write(tx);
}

/** The Traits Updated a journey's update_traits step writes: traits changed, nothing done. */
function isTraitsUpdate(event: StoredEvent): boolean {
  return event.origin === 'mops' && event.name === TRAITS_UPDATED;
}

/** The Account Left an admin's removal of a contact from an account writes: its account traits changed. */
function isAccountLeft(event: StoredEvent): boolean {
  return event.origin === 'mops' && event.name === ACCOUNT_LEFT;
}

/** An alias, or a call naming both ids: it may merge a visitor into a known profile. */
function mayMerge(event: StoredEvent): boolean {
  return event.type === 'alias' || (event.userId !== null && event.anonymousId !== null);
}

/**
 * Whether one of these events merged two profiles (an alias, or a login carrying the visitor's
 * anonymous id), which scores nothing by itself: the survivor's ledger is the two joined, whose score
 * may reach a threshold neither did, and sales may now know a visitor owed a hand-off.
 */
async function hasMerged(reader: StorageReader, events: StoredEvent[]): Promise<boolean> {
  return events.length > 0 && (await reader.profiles.eventsThatMerged(events.map(({ id }) => id))).size > 0;
}

/**
 * Whether a profile of these events is owed a hand-off: a call naming both ids may have given a
 * visitor its user id without a merge, and the hand-off is made then.
 */
async function owesHandOff(
  reader: StorageReader,
  options: { workspaceId: string; settings: WorkspaceSettings; events: StoredEvent[] },
): Promise<boolean> {
  if (!options.settings.handOff || options.events.length === 0) return false;
  const profileIds = new Set((await eventProfileIds(reader, options.workspaceId, options.events)).values());
  return (await reader.scoring.owedHandOffs([...profileIds])).size > 0;
}

/** A contact's named event: what score rules award points for and stage rules move on. */
function earnsPoints(event: StoredEvent): boolean {
  return (
    (event.origin !== 'mops' || isContactsDoing(event)) && event.name !== null && event.type !== 'identify'
  );
}

/** A STOP, START or reply the contact texted, which Mops writes on the profile (see `CONTACTS_DOINGS_MOPS_WRITES`). */
function isContactsDoing(event: StoredEvent): boolean {
  return event.origin === 'mops' && event.name !== null && CONTACTS_DOINGS_MOPS_WRITES.has(event.name);
}

/**
 * Dates each move no earlier than the move before it (the profile's stored stage, an SLA recycle
 * made while the event that moves it again waited in the log, or the batch's own) and no later than
 * `at`, so that a profile's stage history reads in the order its moves were made.
 */
async function keepHistoryInOrder(reader: StorageReader, moves: StageChange[], at: number): Promise<void> {
  if (moves.length === 0) return;
  const latest = await reader.scoring.stagesSince([...new Set(moves.map((change) => change.profileId))]);
  for (const change of moves) {
    change.at = Math.max(Math.min(change.at, at), latest.get(change.profileId) ?? Number.NEGATIVE_INFINITY);
    latest.set(change.profileId, change.at);
  }
}

/**
 * Scores, stages and hand-offs of the profiles of these events, and of `alsoDecide` (profiles whose
 * stage timer fell due: time alone may have taken a score over a threshold), as of `at`.
 */
export async function decideWorkspace(
  reader: StorageReader,
  options: {
    workspaceId: string;
    settings: WorkspaceSettings;
    events: StoredEvent[];
    alsoDecide?: readonly string[];
    at: number;
  },
): Promise<(tx: StorageTx) => Promise<ScoringWork>> {
  const { workspaceId, settings, events, at } = options;
  // Before any read: a merge committed after it is one these reads may have missed part of.
  const mergesBefore = await reader.profiles.mergeSequence();
  const profileOfEvent = await eventProfileIds(reader, workspaceId, events);
  // A group call setting an account's traits changes the fit of every contact of the account, not
  // only of the one that made it: their scores and score thresholds are decided again too.
  const profileIds = [
    ...new Set([
      ...profileOfEvent.values(),
      ...(await contactsOfAccountsChanged(reader, workspaceId, events)),
      ...(options.alsoDecide ?? []),
    ]),
  ];
  const [profiles, accountsOf, ledger, storedScores, stages] = await Promise.all([
    reader.profiles.findProfilesByIds(profileIds),
    reader.profiles.accountsOf(profileIds),
    reader.scoring.ledger(profileIds),
    reader.scoring.scores(profileIds),
    reader.scoring.stages(profileIds),
  ]);
  const ledgers = ledgersByProfile(ledger);
  // The fit facts as they stand now, after every call of the batch.
  const asTheyAre = factsAsTheyAre(accountsOf);
  const factsNow = (profile: Profile) => factsThenOf(asTheyAre, profile);

  // Each score as it stood just before this batch's events, decay included: with the stored one, what
  // tells whether the score reaches a stage's threshold now or had reached it already. Judged when
  // the events were received, not when they are read: a backlog or a restart must not let decay take
  // a score below a threshold it reached in time.
  const firstReceived = new Map<string, number>();
  /** Per profile, when the latest of its batch's events was received: what a move they make is dated by. */
  const lastReceived = new Map<string, number>();
  /** Per profile, the place of the latest of its batch's events: where a move they make together stands. */
  const lastPlace = new Map<string, EventPlace>();
  for (const [index, event] of events.entries()) {
    const profileId = profileOfEvent.get(event.id);
    if (profileId === undefined) continue;
    if (!firstReceived.has(profileId)) firstReceived.set(profileId, event.receivedAt);
    lastReceived.set(profileId, Math.max(lastReceived.get(profileId) ?? event.receivedAt, event.receivedAt));
    const place = { timestamp: event.timestamp, index };
    const last = lastPlace.get(profileId);
    if (!last || isNotBefore(place, last)) lastPlace.set(profileId, place);
  }
  const scoreBefore = new Map<string, number>();
  const hasScoreThresholds = settings.lifecycle?.rules.some((rule) => rule.kind === 'score') ?? false;
  const stagesHeld = hasScoreThresholds
    ? await reader.scoring.stagesEverHeld(profileIds)
    : new Map<string, Set<string>>();
  // The traits and account traits each profile had before the batch's identify and group calls, then
  // after each in turn: the fit points a score held before an event, which a recycled lead's dip is
  // judged with.
  const factsThen = hasScoreThresholds
    ? await factsBeforeBatch(reader, { events, profileOfEvent, profiles, accountsOf })
    : asTheyAre;
  for (const profile of hasScoreThresholds ? profiles : []) {
    const stored = storedScores.get(profile.id);
    for (const model of settings.scoring.models) {
      const storedScore = stored?.[model.id]?.score;
      if (storedScore === undefined) continue;
      const facts = factsThenOf(factsThen, profile);
      const before = firstReceived.get(profile.id) ?? at;
      const { score } = scoreOf(model, ledgers.get(profile.id) ?? [], facts, before);
      scoreBefore.set(`${profile.id}:${model.id}`, Math.min(storedScore, score));
    }
  }

  const awards: Award[] = [];
  /** Each move, with the place of the event that made it (none: time alone, a stage timer's). */
  const stageMoves: Array<StageChange & { move: StageMove; by: EventPlace | undefined }> = [];
  /** Per profile, when its first `Sales Accepted` of the batch was received. */
  const accepted = new Map<string, number>();
  /** Per profile, its batch's `Sales Accepted` events in log order, each with when it was received. */
  const acceptances = new Map<string, Array<EventPlace & { receivedAt: number }>>();
  const lifecycle = settings.lifecycle;
  // A move is dated by the receipt of the event that made it, as scores are judged: a backlog or a
  // restart must not date an MQL by when the batch ran (the funnel counts moves by date).
  const move = (
    profileId: string,
    next: StageMove | undefined,
    reason: string,
    made: { at: number; by: EventPlace | undefined },
  ) => {
    if (!next) return;
    const change = { workspaceId, profileId, from: next.from ?? null, to: next.to, reason, at: made.at };
    stageMoves.push({ ...change, move: next, by: made.by });
    stages.set(profileId, next.to);
  };

  // Each score at each of the batch's events, one by one, as if each came in a batch of its own (how
  // events fall into batches is no business of the lifecycle): a score that reaches a threshold at one
  // event moves the stage though later ones take it below again, and the lowest it fell to (from just
  // before the batch) tells whether a recycled lead dipped below it and reached it again.
  const profilesById = new Map(profiles.map((profile) => [profile.id, profile]));
  const scoresThenOf = (
    profileId: string,
    profileLedger: readonly ScoreLedgerEntry[],
    receivedAt: number,
  ) => {
    const profile = profilesById.get(profileId);
    if (!profile || profile.mergedInto !== null || !lifecycle) return undefined;
    const facts = factsThenOf(factsThen, profile);
    return new Map(
      settings.scoring.models.map((model) => [
        model.id,
        scoreOf(model, profileLedger, facts, receivedAt).score,
      ]),
    );
  };
  /** Lowers each lowest score to the score just before an event's award: decay between two events is a dip too. */
  const noteDip = (profileId: string, profileLedger: readonly ScoreLedgerEntry[], receivedAt: number) => {
    for (const [model, score] of scoresThenOf(profileId, profileLedger, receivedAt) ?? []) {
      const lowest = scoreBefore.get(`${profileId}:${model}`);
      if (lowest !== undefined) scoreBefore.set(`${profileId}:${model}`, Math.min(lowest, score));
    }
  };
  const scoreAtEvent = (
    profileId: string,
    profileLedger: readonly ScoreLedgerEntry[],
    receivedAt: number,
    place: EventPlace,
  ) => {
    const scoresThen = scoresThenOf(profileId, profileLedger, receivedAt);
    if (!scoresThen || !lifecycle) return;
    for (const model of settings.scoring.models) {
      const key = `${profileId}:${model.id}`;
      const lowest = scoreBefore.get(key);
      const score = scoresThen.get(model.id) as number;
      move(
        profileId,
        advanceStage(lifecycle, stages.get(profileId), {
          kind: 'score',
          model: model.id,
          score,
          previous: lowest,
          held: stagesHeld.get(profileId),
          others: scoresThen,
        }),
        `score ${model.id} reached ${score}`,
        { at: receivedAt, by: place },
      );
      if (lowest !== undefined) scoreBefore.set(key, Math.min(lowest, score));
    }
  };

  for (const [index, event] of events.entries()) {
    const profileId = profileOfEvent.get(event.id);
    applyCall(factsThen, event, profileId);
    if (profileId === undefined || event.name === null || !earnsPoints(event)) continue;
    const properties = (event.payload.properties ?? {}) as Record<string, unknown>;
    const fact = { id: event.id, name: event.name, timestamp: event.timestamp, properties };
    const profileLedger = ledgers.get(profileId) ?? [];
    const eventAwards = settings.scoring.models.flatMap((model) => awardsFor(model, fact, profileLedger));
    const isAwarded = eventAwards.length > 0;
    if (isAwarded && hasScoreThresholds) noteDip(profileId, profileLedger, event.receivedAt);
    for (const award of eventAwards) {
      profileLedger.push(award);
      awards.push({ ...award, workspaceId, profileId });
    }
    ledgers.set(profileId, profileLedger);
    const place = { timestamp: event.timestamp, index };
    if (event.name === SALES_ACCEPTED) {
      if (!accepted.has(profileId)) accepted.set(profileId, event.receivedAt);
      acceptances.set(profileId, [
        ...(acceptances.get(profileId) ?? []),
        { ...place, receivedAt: event.receivedAt },
      ]);
    }
    // The event's own rules first, then the score it left: as a batch of this one event would have it.
    if (lifecycle)
      move(
        profileId,
        advanceStage(lifecycle, stages.get(profileId), { kind: 'event', event: fact }),
        `event ${event.name}`,
        { at: event.receivedAt, by: place },
      );
    if (isAwarded && hasScoreThresholds) scoreAtEvent(profileId, profileLedger, event.receivedAt, place);
  }

  const scores: StoredScore[] = [];
  /** Per profile, each model's score at `at`. */
  const scoresAt = new Map<string, Map<string, number>>();
  const revisions = new Map(settings.scoring.models.map((model) => [model.id, modelRevision(model)]));
  for (const profile of profiles) {
    if (profile.mergedInto !== null) continue;
    const facts = factsNow(profile);
    const profileScores = new Map(
      settings.scoring.models.map((model) => [
        model.id,
        scoreOf(model, ledgers.get(profile.id) ?? [], facts, at).score,
      ]),
    );
    scoresAt.set(profile.id, profileScores);
    for (const model of settings.scoring.models) {
      const score = profileScores.get(model.id) as number;
      const stored = storedScores.get(profile.id)?.[model.id];
      const revision = revisions.get(model.id) as string;
      if (stored?.score !== score || stored.modelRevision !== revision)
        scores.push({
          workspaceId,
          profileId: profile.id,
          model: model.id,
          modelRevision: revision,
          score,
          at,
        });
      const previous = scoreBefore.get(`${profile.id}:${model.id}`);
      if (lifecycle)
        move(
          profile.id,
          advanceStage(lifecycle, stages.get(profile.id), {
            kind: 'score',
            model: model.id,
            score,
            previous,
            held: stagesHeld.get(profile.id),
            others: profileScores,
          }),
          `score ${model.id} reached ${score}`,
          // Traits, or time alone (a stage timer), as of the batch's last event of the profile, or now.
          { at: lastReceived.get(profile.id) ?? at, by: lastPlace.get(profile.id) },
        );
    }
  }
  await keepHistoryInOrder(reader, stageMoves, at);

  // Reaching the hand-off stage (or passing it on the way further) hands the lead to sales, once —
  // if sales can tell who it is. If not, the hand-off is owed, and made in the batch that finds the
  // profile known (an identify, or a merge into a known profile) and still at or past the stage.
  const handOffs: MadeHandOff[] = [];
  const owedNow: HandOff[] = [];
  const messages: Message[] = [];
  const handOff = settings.handOff;
  let turns: { before: number; after: number } | undefined;
  if (handOff && lifecycle) {
    turns = { before: await reader.scoring.roundRobinTurn(workspaceId), after: 0 };
    turns.after = turns.before;
    const byId = new Map(profiles.map((profile) => [profile.id, profile]));
    const owed = await reader.scoring.owedHandOffs(profileIds);
    const handOffIndex = lifecycle.stages.indexOf(handOff.stage);
    /**
     * `madeBy`: the place of the event whose move makes it (none for an owed one, made as the profile
     * is known). `since`: when its SLA starts — as the move is dated, by when Mops received the event
     * that made it (a backlog must not lengthen the SLA by the time the event waited in the log); for
     * an owed one, by when the batch's latest event of the profile, which found it known, was received.
     */
    const due: Array<{ profileId: string; to: string; madeBy: EventPlace | undefined; since: number }> = [];
    for (const change of stageMoves)
      if (reaches(lifecycle, change.move, handOff.stage))
        due.push({ profileId: change.profileId, to: change.to, madeBy: change.by, since: change.at });
    for (const profileId of owed.keys()) {
      const stage = stages.get(profileId);
      if (stage !== undefined && lifecycle.stages.indexOf(stage) >= handOffIndex)
        due.push({ profileId, to: stage, madeBy: undefined, since: lastReceived.get(profileId) ?? at });
    }
    // A lead sales accepts after its hand-off ended (its SLA missed, the lead sent back) stays with the
    // owner who had it: whoever accepted it late works from that owner's copy.
    const previous =
      accepted.size > 0
        ? await reader.scoring.latestHandOffs([...accepted.keys()])
        : new Map<string, HandOff>();
    const decided = new Set<string>();
    for (const { profileId, to, madeBy, since } of due) {
      const profile = byId.get(profileId);
      if (!profile || profile.mergedInto !== null || decided.has(profile.id)) continue;
      decided.add(profile.id);
      if ((await reader.scoring.pendingHandOffs(profile.id)).length > 0) continue;
      const owedOne = owed.get(profile.id)?.[0];
      if (!isKnownToSales(profile)) {
        if (!owedOne)
          owedNow.push({
            id: newId('hof', at),
            workspaceId,
            profileId: profile.id,
            owner: null,
            status: 'awaiting_identity',
            messageId: null,
            createdAt: since,
            dueAt: since,
            acceptedAt: null,
            breachedAt: null,
            owedAt: since,
            droppedReason: null,
          });
        continue;
      }
      // A Sales Accepted in this batch accepts the hand-off it makes too (a lead taken straight to SQL),
      // or one that events before it made — not one made after it: that acceptance was of something
      // else (a hand-off ended before). A lead taken past the stage by anything else (a purchase made
      // it a customer) still gets its owner and the CRM its news, but sales has nothing to accept: no
      // SLA runs for it. One received after the deadline is too late, though a backlog brings it in the
      // same batch: the SLA check records the miss.
      const slaDueAt = handOffDueAt(handOff, since, settings.timezone);
      const acceptance = acceptances
        .get(profile.id)
        ?.find(
          (candidate) =>
            (madeBy === undefined || isNotBefore(candidate, madeBy)) && candidate.receivedAt <= slaDueAt,
        );
      const isAccepted = acceptance !== undefined;
      const previousOwner = isAccepted
        ? handOff.owners.find((candidate) => candidate.id === previous.get(profile.id)?.owner)
        : undefined;
      const { owner, by } = previousOwner
        ? { owner: previousOwner, by: 'kept' as const }
        : assignOwner(handOff, factsNow(profile), turns.after, at);
      // Only a lead no rule places takes a turn: the rotation stays fair among the owners.
      if (by === 'round_robin') turns.after++;
      const isPast = lifecycle.stages.indexOf(to) > handOffIndex;
      const status = isAccepted ? 'accepted' : isPast ? 'passed' : 'pending';
      const created: MadeHandOff = {
        id: owedOne?.id ?? newId('hof', at),
        workspaceId,
        profileId: profile.id,
        owner: owner.id,
        status,
        messageId: null,
        createdAt: since,
        dueAt: status === 'passed' ? since : slaDueAt,
        acceptedAt: acceptance?.receivedAt ?? null,
        breachedAt: null,
        owedAt: owedOne?.owedAt ?? null,
        droppedReason: null,
      };
      if (handOff.destination) {
        const message = handOffMessage({
          handOff: created,
          owner,
          destination: handOff.destination,
          news: {
            kind: 'created',
            stage: to,
            scores: Object.fromEntries(scoresAt.get(profile.id) ?? new Map<string, number>()),
          },
          at,
        });
        created.messageId = message.id;
        messages.push(message);
      }
      handOffs.push(created);
    }
  }
  // Sales Accepted accepts every hand-off of the profile waiting for sales (a merge may have brought two).
  // One received after a hand-off's deadline is too late for it, whenever scoring reads it: the SLA
  // check (which waits for events received before the deadline) records the miss instead.
  const acceptedHandOffs: Array<{ handOff: HandOff; acceptedAt: number }> = [];
  for (const [profileId, receivedAt] of accepted)
    for (const pending of await reader.scoring.pendingHandOffs(profileId))
      if (receivedAt <= pending.dueAt) acceptedHandOffs.push({ handOff: pending, acceptedAt: receivedAt });

  // Where time alone (a negative award fading, a fit rule starting to hold) takes a score over a
  // further stage's threshold, the stage is checked again then, not only at the profile's next event.
  const stageTimers: ProfileTimer[] = [];
  if (lifecycle && hasScoreThresholds)
    for (const profile of profiles) {
      if (profile.mergedInto !== null) continue;
      const dueAt = nextStageCheck(
        lifecycle,
        settings.scoring.models,
        {
          stage: stages.get(profile.id),
          ledger: ledgers.get(profile.id) ?? [],
          facts: factsNow(profile),
          scores: scoresAt.get(profile.id) ?? new Map(),
        },
        at,
      );
      if (dueAt !== undefined) stageTimers.push({ workspaceId, profileId: profile.id, dueAt });
    }
  // Where decay or a timed fit rule will move a score, the current score the contacts list ranks by
  // is stored again then (see `nextScoreRefresh`).
  const refreshes: ProfileTimer[] = [];
  if (settings.scoring.models.some(movesWithTime))
    for (const profile of profiles) {
      if (profile.mergedInto !== null) continue;
      const dueAt = nextScoreRefresh(
        settings.scoring.models,
        {
          ledger: ledgers.get(profile.id) ?? [],
          facts: factsNow(profile),
          scores: scoresAt.get(profile.id) ?? new Map(),
        },
        at,
      );
      if (dueAt !== undefined) refreshes.push({ workspaceId, profileId: profile.id, dueAt });
    }

  const changedProfiles = [
    ...new Set([...stageMoves.map((change) => change.profileId), ...handOffs.map((h) => h.profileId)]),
  ];
  const ids = changedProfiles.length > 0 ? await reader.segments.idsOf(changedProfiles) : new Map();
  const generated: GeneratedEvent[] = [];
  for (const { move: _move, by: _by, ...change } of stageMoves) {
    const event = stageChangedEvent(change, ids.get(change.profileId));
    if (event) generated.push(event);
  }
  for (const created of handOffs) {
    const owner = handOff?.owners.find((candidate) => candidate.id === created.owner);
    const event = profileEvent({
      workspaceId,
      identity: ids.get(created.profileId),
      name: HAND_OFF_CREATED,
      key: created.id,
      properties: {
        hand_off_id: created.id,
        ...ownerProperties(created.owner, owner),
        status: created.status,
        ...(created.status === 'passed' ? {} : { due_at: new Date(created.dueAt).toISOString() }),
      },
      // Beside the stage move that made it, not after the backlog it waited in.
      at: created.createdAt,
    });
    if (event) generated.push(event);
  }

  return async (tx) => {
    // A merge committed since the reads above moved these profiles' ledgers and stages to the
    // survivor: decided again, the events are the survivor's.
    await tx.profiles.holdOffMerges();
    if ((await tx.profiles.mergedAwayAmong(profileIds)).size > 0)
      throw new StaleBatchError('a profile of the batch was merged away while it was scored');
    // One that absorbed another was scored without the ledger and the higher score the merge brought.
    if ((await tx.profiles.survivorsOfMergesSince(profileIds, mergesBefore)).size > 0)
      throw new StaleBatchError('a profile of the batch absorbed another while it was scored');
    await tx.scoring.addAwards(awards);
    await tx.scoring.setScores(scores);
    // Hand-offs before stages, in the order the SLA check locks them (it claims a hand-off, then
    // recycles the stage): the other order could deadlock with it on PostgreSQL.
    // Unless the SLA check ended it in the meantime: a hand-off told to the CRM as missed stays so.
    const toSend = [...messages];
    for (const { handOff: handOffAccepted, acceptedAt } of acceptedHandOffs) {
      const isSettled = await tx.scoring.settleHandOff(handOffAccepted.id, {
        status: 'accepted',
        acceptedAt,
      });
      // The CRM hears of it whoever told Mops (a sales tool, a rep's reply): its copy of the lead closes.
      if (isSettled && handOff?.destination)
        toSend.push(
          handOffMessage({
            handOff: handOffAccepted,
            owner: handOff.owners.find((owner) => owner.id === handOffAccepted.owner),
            destination: handOff.destination,
            news: { kind: 'accepted', acceptedAt },
            at,
          }),
        );
    }
    for (const created of [...owedNow, ...handOffs.filter((made) => made.owedAt === null)])
      await tx.scoring.createHandOff(created);
    // Made once: a merge that dropped it, or another process that made it, since it was read.
    for (const made of handOffs)
      if (made.owedAt !== null && !(await tx.scoring.makeOwedHandOff(made)))
        throw new StaleBatchError(
          `the owed hand-off ${made.id} was made or dropped while the batch was scored`,
        );
    // An SLA recycle (or a merge) that moved a stage since it was read: decided again from there.
    if (
      (await tx.scoring.setStages(stageMoves.map(({ move: _move, by: _by, ...change }) => change))).length > 0
    )
      throw new StaleBatchError('a stage moved while the batch was scored');
    await tx.scoring.bringStageTimersForward(stageTimers);
    await tx.scoring.bringScoreRefreshesForward(refreshes);
    if (turns && turns.after !== turns.before) await tx.scoring.setRoundRobinTurn(workspaceId, turns.after);
    if (toSend.length > 0) await tx.messages.insertMany(toSend);
    await tx.generatedEvents.append(generated);
    let earliestDue: number | undefined;
    for (const created of handOffs)
      if (created.status === 'pending') earliestDue = earliest(earliestDue, created.dueAt + 1);
    let earliestStageTimer: number | undefined;
    for (const timer of stageTimers) earliestStageTimer = earliest(earliestStageTimer, timer.dueAt);
    return { earliestDue, earliestStageTimer, queued: toSend.length };
  };
}
