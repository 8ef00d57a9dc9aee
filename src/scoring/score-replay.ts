import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { AppError, describeError } from '../core/errors.js';
import type { GeneratedEvent } from '../core/event.js';
import { newId } from '../core/ids.js';
import { isMopsEventName } from '../core/mops-events.js';
import { modelRevision, type ScoreLedgerEntry, type ScoreModel } from '../core/score-model.js';
import { PAST_EVENTS_SCORED, type ScoreReplay } from '../core/score-replay.js';
import { profileEvent } from '../profiles/profile-events.js';
import { profilesMergedSince } from '../profiles/profiles.js';
import { chunks } from '../storage/chunks.js';
import { FAILURES_BEFORE_GIVING_UP, isPassingFailure } from '../storage/passing-failures.js';
import {
  type ProfileTimer,
  StaleBatchError,
  type Storage,
  type StorageReader,
  type StorageTx,
} from '../storage/storage.js';
import { awardsFor, ledgersByProfile, movesWithTime, round, scoreOf } from './score.js';
import { nextScoreRefresh } from './score-refresh.js';
import { CONTACTS_DOINGS_MOPS_WRITES, SCORING_CURSOR } from './scoring-batch.js';

/** Profiles per page: each page reads their past events and ledgers, and commits with its position. */
export const REPLAY_PAGE_PROFILES = 200;

/** The names a model's event rules score, as the scoring consumer scores them (Mops's own events only when a contact did them). */
function scoredNames(model: ScoreModel): string[] {
  const names = model.rules.flatMap((rule) => (rule.kind === 'event' ? [rule.event] : []));
  return [...new Set(names)].filter(
    (name) => !isMopsEventName(name) || CONTACTS_DOINGS_MOPS_WRITES.has(name),
  );
}

const hasFitRules = (model: ScoreModel) => model.rules.some((rule) => rule.kind === 'fit');

/**
 * Starts applying a score model to the events the log holds (after `since`, when given), and to the
 * traits contacts have for its fit rules: refused for an unknown model (404), one with no rules at all
 * (400: nothing to apply), and while a replay of the model is running (409).
 */
export async function requestScoreReplay(
  storage: Storage,
  options: { workspaceId: string; model: string; since: number | null; now: number },
): Promise<ScoreReplay> {
  const { workspaceId, since, now } = options;
  const settings = await storage.settings.get(workspaceId);
  const model = settings.scoring.models.find((candidate) => candidate.id === options.model);
  if (!model)
    throw new AppError('not_found', `no score model ${options.model} in the workspace's settings`, {
      field: 'model',
    });
  if (scoredNames(model).length === 0 && !hasFitRules(model))
    throw new AppError('invalid_input', `score model ${model.id} has no rules to apply`, { field: 'model' });
  const replay: ScoreReplay = {
    id: newId('srp', now),
    workspaceId,
    model: model.id,
    since,
    status: 'running',
    afterProfile: null,
    profilesTotal: await storage.segments.countProfiles(workspaceId),
    profilesDone: 0,
    profilesScored: 0,
    awards: 0,
    points: 0,
    mergesBefore: await storage.profiles.mergeSequence(),
    requestedAt: now,
    finishedAt: null,
    reason: null,
  };
  if (!(await storage.scoring.createReplay(replay))) {
    const running = (await storage.scoring.listReplays(workspaceId, model.id, 10)).find(
      (candidate) => candidate.status === 'running',
    );
    throw new AppError(
      'conflict',
      `score model ${model.id} is being applied to past events already${running ? ` (${running.id})` : ''}: wait for it to finish`,
      { field: 'model' },
    );
  }
  return replay;
}

/**
 * Stops a running replay where it has got to (what it awarded stays: every award is what its event
 * would have earned as it came). Refused for one not running (409) or unknown (404).
 */
export async function cancelScoreReplay(
  storage: Storage,
  options: { workspaceId: string; replayId: string; by: string; now: number },
): Promise<ScoreReplay> {
  const { workspaceId, replayId, by, now } = options;
  return storage.transaction(async (tx) => {
    const replay = await tx.scoring.findReplay(workspaceId, replayId);
    if (!replay) throw new AppError('not_found', `score replay ${replayId} does not exist`);
    const cancelled: ScoreReplay = {
      ...replay,
      status: 'cancelled',
      finishedAt: now,
      reason: `stopped by ${by}`,
    };
    if (replay.status !== 'running' || !(await tx.scoring.saveReplay(cancelled)))
      throw new AppError('conflict', `score replay ${replayId} is not running: it is ${replay.status}`, {
        field: 'replayId',
      });
    return cancelled;
  });
}

/** A replay's page failed: which replay it was, so that its failures are counted against it alone. */
export class ReplayPageFailure extends Error {
  readonly replay: ScoreReplay;

  constructor(replay: ScoreReplay, cause: unknown) {
    super(`a page of score replay ${replay.id} failed: ${describeError(cause)}`, { cause });
    this.name = 'ReplayPageFailure';
    this.replay = replay;
  }
}

/**
 * One page of the oldest running replay: the page's profiles' past events earn what the model's
 * event rules give, as the scoring consumer would have given it (once-only rules once, caps after
 * decay, no event twice), their scores are stored, and each profile that earned points gets a `Past
 * Events Scored` event (segments asking about scores decide it again). A model with fit rules scores
 * every profile of the page too: one whose traits fit now gets its score stored (and the event)
 * though it has done nothing since the model was made. Stages do not move: a score a
 * replay takes over a threshold moves the stage at the profile's next event, as after a threshold is
 * lowered, so that history does not flood sales with hand-offs. After the last page, the profiles
 * that absorbed another since the pass began are scored again (what the merged profile brought was
 * not reached, or reached under its own id). Undefined when no replay is running.
 *
 * The page's events and ledgers are read before its write transaction, so that on SQLite ingest
 * keeps appending meanwhile; the caller's turn keeps this process's scoring batches out, and the
 * transaction checks what else may have moved (the replay, merges, other processes' scoring) before
 * it writes.
 */
export async function replayNextPage(
  storage: Storage,
  options: { clock: Clock; pageProfiles?: number },
): Promise<ScoreReplay | undefined> {
  const pageProfiles = options.pageProfiles ?? REPLAY_PAGE_PROFILES;
  const replay = await storage.scoring.claimReplay();
  if (!replay) return undefined;
  try {
    // Before any read: a merge committed after it is one these reads may have missed part of, and a
    // scoring batch committed after it may have written ledger entries they missed.
    const mergesBefore = await storage.profiles.mergeSequence();
    const scoredThrough = await storage.scoring.consumerPosition(SCORING_CURSOR);
    // An operator's retry of an event scoring set aside awards it without moving the cursor.
    const retriedBefore = await storage.setAsideEvents.retriedCount(SCORING_CURSOR);
    const settings = await storage.settings.get(replay.workspaceId);
    const model = settings.scoring.models.find((candidate) => candidate.id === replay.model);
    const profiles = model
      ? await storage.segments.listProfilesAfter(replay.workspaceId, replay.afterProfile, pageProfiles)
      : [];
    let earned =
      model && profiles.length > 0 ? await plannedAwards(storage, { replay, model, profiles }) : undefined;
    return await storage.transaction(async (tx) => {
      const current = await tx.scoring.claimReplay();
      if (
        current?.id !== replay.id ||
        current.afterProfile !== replay.afterProfile ||
        current.mergesBefore !== replay.mergesBefore
      )
        throw new StaleBatchError(`score replay ${replay.id} moved on while its page was read`);
      // The scoring consumer reads ledgers before it writes: its batch and this page take turns.
      const scoredNow = await tx.scoring.holdConsumer(SCORING_CURSOR);
      await tx.profiles.holdOffMerges();
      // After the locks: the events this page writes are received when they are appended.
      const now = options.clock.now();
      // The model as it stands now: one changed since the reads is planned afresh at the next page.
      const settingsNow = await tx.settings.get(replay.workspaceId);
      const modelNow = settingsNow.scoring.models.find((candidate) => candidate.id === replay.model);
      if (model && (!modelNow || modelRevision(modelNow) !== modelRevision(model)))
        throw new StaleBatchError(`score model ${replay.model} changed while a page of its replay was read`);
      if (!model) {
        const reason = `score model ${replay.model} was removed from the workspace's settings`;
        return saved(tx, { ...replay, status: 'cancelled', finishedAt: now, reason });
      }
      const last = profiles.at(-1);
      // Another process's batch, or a retried event, committed since the reads (in this process
      // batches take turns with pages): the page is planned again from the ledgers as they stand, so
      // that nothing it counts was awarded already.
      const retriedNow = await tx.setAsideEvents.retriedCount(SCORING_CURSOR);
      if (model && earned && (scoredNow !== scoredThrough || retriedNow !== retriedBefore))
        earned = await plannedAwards(tx, { replay, model, profiles });
      if (last && earned) {
        const scored = await writeAwards(tx, { replay, model, earned, profiles, mergesBefore, now });
        return saved(tx, {
          ...tallied(replay, scored),
          afterProfile: last.id,
          profilesDone: replay.profilesDone + profiles.length,
        });
      }
      const mergesNow = await tx.profiles.mergeSequence();
      if (mergesNow === replay.mergesBefore) return saved(tx, { ...replay, status: 'done', finishedAt: now });
      // Merges are few: their survivors are read and scored in this one transaction, and the next
      // page looks again.
      const survivors = await tx.profiles.allSurvivorsOfMergesSince(replay.workspaceId, replay.mergesBefore);
      let next: ScoreReplay = { ...replay, mergesBefore: mergesNow };
      for (const ids of chunks(survivors, pageProfiles)) {
        const live = await tx.segments.findLiveProfiles(replay.workspaceId, ids, false);
        const planned = await plannedAwards(tx, { replay, model, profiles: live });
        const scored = await writeAwards(tx, {
          replay,
          model,
          earned: planned,
          profiles: live,
          mergesBefore: mergesNow,
          now,
        });
        next = tallied(next, scored);
      }
      return saved(tx, next);
    });
  } catch (error) {
    throw new ReplayPageFailure(replay, error);
  }
}

/** The replay with a page's scoring added to its counts. */
function tallied(
  replay: ScoreReplay,
  scored: { profiles: number; awards: number; points: number },
): ScoreReplay {
  return {
    ...replay,
    profilesScored: replay.profilesScored + scored.profiles,
    awards: replay.awards + scored.awards,
    points: round(replay.points + scored.points),
  };
}

/** Saves where the replay has got to; one another process ended meanwhile rolls the page back. */
async function saved(tx: StorageTx, replay: ScoreReplay): Promise<ScoreReplay> {
  if (!(await tx.scoring.saveReplay(replay)))
    throw new StaleBatchError(`score replay ${replay.id} was ended elsewhere`);
  return replay;
}

type Award = ScoreLedgerEntry & { workspaceId: string; profileId: string };

/** Per profile, what its past events earn under the model, given its ledger as read. */
async function plannedAwards(
  reader: StorageReader,
  options: { replay: ScoreReplay; model: ScoreModel; profiles: ReadonlyArray<{ id: string }> },
): Promise<Map<string, Award[]>> {
  const { replay, model, profiles } = options;
  const { workspaceId } = replay;
  const ids = profiles.map((profile) => profile.id);
  const [facts, ledger] = await Promise.all([
    reader.segments.eventFacts({
      workspaceId,
      profileIds: ids,
      names: scoredNames(model).map((name) => ({ name, since: replay.since, withProperties: true })),
    }),
    reader.scoring.ledger(ids),
  ]);
  const ledgers = ledgersByProfile(ledger);
  // Oldest first, so that a once-only rule and a cap see the awards before each event as the
  // consumer did; an event the ledger holds already (scored as it came) earns nothing again.
  const earned = new Map<string, Award[]>();
  for (const fact of facts) {
    const profileLedger = ledgers.get(fact.profileId) ?? [];
    const event = {
      id: fact.eventId,
      name: fact.name,
      timestamp: fact.timestamp,
      properties: fact.properties,
    };
    // Only what came before the event counts against its rule's cap and once-only (awards of later
    // events, scored as they came, are put in order when scores are read): see `awardsFor`.
    for (const award of awardsFor(model, event, profileLedger)) {
      profileLedger.push(award);
      const list = earned.get(fact.profileId) ?? [];
      list.push({ ...award, workspaceId, profileId: fact.profileId });
      earned.set(fact.profileId, list);
    }
    ledgers.set(fact.profileId, profileLedger);
  }
  return earned;
}

/**
 * Writes planned awards, less those of profiles merged away since the reads (the survivor is scored
 * again at the end of the pass), and the scores of the profiles that earned points — of every
 * profile of the page, under a model with fit rules, whose stored score is not what it comes to now —
 * recomputed from their ledgers as they stand in the transaction.
 */
async function writeAwards(
  tx: StorageTx,
  options: {
    replay: ScoreReplay;
    model: ScoreModel;
    earned: Map<string, Award[]>;
    /** The page's profiles, in order. */
    profiles: ReadonlyArray<{ id: string }>;
    mergesBefore: number;
    now: number;
  },
): Promise<{ profiles: number; awards: number; points: number }> {
  const { replay, model, now } = options;
  const { workspaceId } = replay;
  const candidates = hasFitRules(model)
    ? options.profiles.map((profile) => profile.id)
    : [...options.earned.keys()];
  const mergedAway = await profilesMergedSince(tx, candidates, options.mergesBefore);
  const scoredIds = candidates.filter((profileId) => !mergedAway.has(profileId));
  if (scoredIds.length === 0) return { profiles: 0, awards: 0, points: 0 };
  const awards = scoredIds.flatMap((profileId) => options.earned.get(profileId) ?? []);
  await tx.scoring.addAwards(awards);

  // Ledgers, traits and accounts as they stand in the transaction: what a batch wrote since the reads counts.
  const [ledger, scoredProfiles, accounts, identities, stored] = await Promise.all([
    tx.scoring.ledger(scoredIds),
    tx.profiles.findProfilesByIds(scoredIds),
    tx.segments.accountTraits(scoredIds),
    tx.segments.idsOf(scoredIds),
    tx.scoring.scores(scoredIds),
  ]);
  const ledgers = ledgersByProfile(ledger);
  const traits = new Map(scoredProfiles.map((profile) => [profile.id, profile.traits]));
  const revision = modelRevision(model);
  const scores = [];
  const events: GeneratedEvent[] = [];
  // Past awards fade from when they were earned: the current score follows them from here.
  const refreshes: ProfileTimer[] = [];
  for (const profileId of scoredIds) {
    const profileAwards = options.earned.get(profileId) ?? [];
    const profileLedger = ledgers.get(profileId) ?? [];
    const facts = { traits: traits.get(profileId) ?? {}, accounts: accounts.get(profileId) ?? [] };
    const { score } = scoreOf(model, profileLedger, facts, now);
    const refreshAt = movesWithTime(model)
      ? nextScoreRefresh([model], { ledger: profileLedger, facts, scores: new Map([[model.id, score]]) }, now)
      : undefined;
    if (refreshAt !== undefined) refreshes.push({ workspaceId, profileId, dueAt: refreshAt });
    const before = stored.get(profileId)?.[model.id];
    // Nothing earned and the score stored as it stands (no fit rule newly holding): nothing to write.
    if (profileAwards.length === 0 && before?.score === score && before.modelRevision === revision) continue;
    if (profileAwards.length === 0 && before === undefined && score === 0) continue;
    scores.push({ workspaceId, profileId, model: model.id, modelRevision: revision, score, at: now });
    const event = profileEvent({
      workspaceId,
      identity: identities.get(profileId),
      name: PAST_EVENTS_SCORED,
      key: `${replay.id}-${profileId}`,
      properties: {
        model: model.id,
        replay_id: replay.id,
        awards: profileAwards.length,
        points: round(profileAwards.reduce((sum, award) => sum + award.points, 0)),
        score,
      },
      at: now,
    });
    if (event) events.push(event);
  }
  // In profile order, as every writer of scores: two never wait on each other's rows in a circle.
  await tx.scoring.setScores(scores.sort((a, b) => (a.profileId < b.profileId ? -1 : 1)));
  await tx.scoring.bringScoreRefreshesForward(refreshes);
  await tx.generatedEvents.append(events);
  return {
    profiles: scores.length,
    awards: awards.length,
    points: awards.reduce((sum, award) => sum + award.points, 0),
  };
}

/** Failed pages in a row of each replay, kept by the caller between runs. */
export type ReplayFailures = Map<string, number>;

/**
 * Pages per run: the scheduler runs again at once while there are more, and a stop waits for one
 * run, not for a whole replay of a million profiles.
 */
const PAGES_PER_RUN = 20;
/** A page's own time again, at most this long, left to the scoring consumer before the next page. */
const MAX_REST_MS = 1000;

/**
 * Runs pages of the running replays, each taking its turn with the scoring consumer (`turn`) and
 * then resting as long as it took, so that scoring (on PostgreSQL, other processes' batches, which
 * skip a cursor a page holds) keeps at least half of the time; the number of pages done. A replay
 * whose page fails at every attempt while the database answers stops as `failed`, with the error;
 * the database away stops the run, to be tried again.
 */
export async function runScoreReplays(
  storage: Storage,
  options: {
    clock: Clock;
    logger: Logger;
    turn?: <T>(work: () => Promise<T>) => Promise<T>;
    failures?: ReplayFailures;
    pageProfiles?: number;
  },
): Promise<number> {
  const { clock, logger } = options;
  const turn = options.turn ?? ((work) => work());
  const failures = options.failures ?? new Map<string, number>();
  let pages = 0;
  while (pages < PAGES_PER_RUN) {
    const startedAt = performance.now();
    let replay: ScoreReplay | undefined;
    try {
      replay = await turn(() =>
        replayNextPage(storage, {
          clock,
          ...(options.pageProfiles ? { pageProfiles: options.pageProfiles } : {}),
        }),
      );
    } catch (error) {
      if (!(error instanceof ReplayPageFailure) || isPassingFailure(error.cause)) throw error;
      // Taken or ended by another process meanwhile: nothing failed, and the next page reads afresh.
      if (error.cause instanceof StaleBatchError) {
        pages++;
        await rest(Math.min(MAX_REST_MS, performance.now() - startedAt));
        continue;
      }
      // Tried again at the next run; one given up on leaves the others to go on now.
      if (!(await replayFailed(storage, { failure: error, logger, failures, at: clock.now() }))) return pages;
      continue;
    }
    if (!replay) return pages;
    pages++;
    failures.delete(replay.id);
    if (replay.status !== 'running')
      logger.info(
        { replay: replay.id, model: replay.model, status: replay.status, awards: replay.awards },
        'score replay',
      );
    await rest(Math.min(MAX_REST_MS, performance.now() - startedAt));
  }
  return pages;
}

const rest = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A page failed: it is tried again at the next run, until it has failed FAILURES_BEFORE_GIVING_UP
 * times, when the replay stops as `failed`. Whether it stopped.
 */
async function replayFailed(
  storage: Storage,
  options: { failure: ReplayPageFailure; logger: Logger; failures: ReplayFailures; at: number },
): Promise<boolean> {
  const { failure, logger, failures, at } = options;
  const { replay } = failure;
  const runs = (failures.get(replay.id) ?? 0) + 1;
  failures.set(replay.id, runs);
  if (runs < FAILURES_BEFORE_GIVING_UP) {
    logger.warn(
      { err: failure.cause, replay: replay.id },
      'score replay page failed; it is tried again at the next run',
    );
    return false;
  }
  const reason = describeError(failure.cause);
  await storage.transaction((tx) =>
    tx.scoring.saveReplay({ ...replay, status: 'failed', finishedAt: at, reason }),
  );
  failures.delete(replay.id);
  logger.error(
    { err: failure.cause, replay: replay.id },
    'score replay stopped: its page failed at every attempt',
  );
  return true;
}
