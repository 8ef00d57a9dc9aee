import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { AppError, describeError } from '../core/errors.js';
import type { GeneratedEvent } from '../core/event.js';
import { newId } from '../core/ids.js';
import { isMopsEventName } from '../core/mops-events.js';
import { modelRevision, type ScoreLedgerEntry, type ScoreModel } from '../core/score-model.js';
import { PAST_EVENTS_SCORED, type ScoreReplay } from '../core/score-replay.js';
import { profileEvent } from '../profiles/profile-events.js';
import { FAILURES_BEFORE_GIVING_UP, isPassingFailure } from '../storage/passing-failures.js';
import type { Storage, StorageTx } from '../storage/storage.js';
import { awardsFor, ledgersByProfile, round, scoreOf } from './score.js';
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

/**
 * Starts applying a score model to the events the log holds (after `since`, when given): refused for
 * an unknown model (404), one without event rules (400: nothing in the past to score), and while a
 * replay of the model is running (409).
 */
export async function requestScoreReplay(
  storage: Storage,
  options: { workspaceId: string; model: string; since: number | null; now: number },
): Promise<ScoreReplay> {
  const { workspaceId, since, now } = options;
  const settings = await storage.settings.get(workspaceId);
  const model = settings.scoring.models.find((candidate) => candidate.id === options.model);
  if (!model) throw new AppError('not_found', `no score model ${options.model} in the workspace's settings`);
  if (scoredNames(model).length === 0)
    throw new AppError(
      'invalid_input',
      `score model ${model.id} has no event rules: only events earn points, and its fit rules hold or not as traits stand now`,
      { field: 'model' },
    );
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
 * One page of the oldest running replay, in one transaction: the page's profiles' past events earn
 * what the model's event rules give, as the scoring consumer would have given it (once-only rules
 * once, caps after decay, no event twice), their scores are stored, and each profile that earned
 * points gets a `Past Events Scored` event (segments asking about scores decide it again). Stages do
 * not move: a score a replay takes over a threshold moves the stage at the profile's next event, as
 * after a threshold is lowered, so that history does not flood sales with hand-offs. Undefined when
 * no replay is running.
 */
export async function replayNextPage(
  storage: Storage,
  options: { now: number; pageProfiles?: number },
): Promise<ScoreReplay | undefined> {
  const { now } = options;
  return storage.transaction(async (tx) => {
    const replay = await tx.scoring.claimReplay();
    if (!replay) return undefined;
    // The scoring consumer reads ledgers before it writes: its batch and this page take turns.
    await tx.scoring.holdConsumer(SCORING_CURSOR);
    await tx.profiles.holdOffMerges();
    const settings = await tx.settings.get(replay.workspaceId);
    const model = settings.scoring.models.find((candidate) => candidate.id === replay.model);
    if (!model) {
      const cancelled: ScoreReplay = {
        ...replay,
        status: 'cancelled',
        finishedAt: now,
        reason: `score model ${replay.model} was removed from the workspace's settings`,
      };
      await tx.scoring.saveReplay(cancelled);
      return cancelled;
    }
    const profiles = await tx.segments.listProfilesAfter(
      replay.workspaceId,
      replay.afterProfile,
      options.pageProfiles ?? REPLAY_PAGE_PROFILES,
    );
    const last = profiles.at(-1);
    if (!last) {
      const done: ScoreReplay = { ...replay, status: 'done', finishedAt: now };
      await tx.scoring.saveReplay(done);
      return done;
    }
    const scored = await scorePage(tx, { replay, model, profiles, now });
    const progressed: ScoreReplay = {
      ...replay,
      afterProfile: last.id,
      profilesDone: replay.profilesDone + profiles.length,
      profilesScored: replay.profilesScored + scored.profiles,
      awards: replay.awards + scored.awards,
      points: round(replay.points + scored.points),
    };
    await tx.scoring.saveReplay(progressed);
    return progressed;
  });
}

async function scorePage(
  tx: StorageTx,
  options: {
    replay: ScoreReplay;
    model: ScoreModel;
    profiles: Array<{ id: string; traits: Record<string, unknown> }>;
    now: number;
  },
): Promise<{ profiles: number; awards: number; points: number }> {
  const { replay, model, profiles, now } = options;
  const { workspaceId } = replay;
  const ids = profiles.map((profile) => profile.id);
  const names = scoredNames(model);
  const [facts, ledger] = await Promise.all([
    tx.segments.eventFacts({
      workspaceId,
      profileIds: ids,
      names: names.map((name) => ({ name, since: replay.since, withProperties: true })),
    }),
    tx.scoring.ledger(ids),
  ]);
  const ledgers = ledgersByProfile(ledger);
  // Oldest first, so that a once-only rule and a cap see the awards before each event as the
  // consumer did; an event the ledger holds already (scored as it came) earns nothing again.
  const earned = new Map<string, Array<ScoreLedgerEntry & { workspaceId: string; profileId: string }>>();
  for (const fact of facts) {
    const profileLedger = ledgers.get(fact.profileId) ?? [];
    const event = {
      id: fact.eventId,
      name: fact.name,
      timestamp: fact.timestamp,
      properties: fact.properties,
    };
    for (const award of awardsFor(model, event, profileLedger)) {
      profileLedger.push(award);
      const list = earned.get(fact.profileId) ?? [];
      list.push({ ...award, workspaceId, profileId: fact.profileId });
      earned.set(fact.profileId, list);
    }
    ledgers.set(fact.profileId, profileLedger);
  }
  if (earned.size === 0) return { profiles: 0, awards: 0, points: 0 };
  const awards = [...earned.values()].flat();
  await tx.scoring.addAwards(awards);

  const scoredIds = [...earned.keys()];
  const [accounts, identities] = await Promise.all([
    tx.segments.accountTraits(scoredIds),
    tx.segments.idsOf(scoredIds),
  ]);
  const traits = new Map(profiles.map((profile) => [profile.id, profile.traits]));
  const revision = modelRevision(model);
  const scores = [];
  const events: GeneratedEvent[] = [];
  for (const [profileId, profileAwards] of earned) {
    const { score } = scoreOf(
      model,
      ledgers.get(profileId) ?? [],
      { traits: traits.get(profileId) ?? {}, accounts: accounts.get(profileId) ?? [] },
      now,
    );
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
  await tx.scoring.setScores(scores);
  await tx.generatedEvents.append(events);
  return {
    profiles: earned.size,
    awards: awards.length,
    points: awards.reduce((sum, award) => sum + award.points, 0),
  };
}

/** Failed pages in a row of each replay, kept by the caller between runs. */
export type ReplayFailures = Map<string, number>;

/**
 * Runs every running replay to its end, page by page, each page taking its turn with the scoring
 * consumer (`turn`); the number of pages done. A replay whose page fails at every attempt while the
 * database answers stops as `failed`, with the error; the database away stops the run, to be tried
 * again.
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
  for (;;) {
    let replay: ScoreReplay | undefined;
    try {
      replay = await turn(() =>
        replayNextPage(storage, {
          now: clock.now(),
          ...(options.pageProfiles ? { pageProfiles: options.pageProfiles } : {}),
        }),
      );
    } catch (error) {
      if (isPassingFailure(error)) throw error;
      // Tried again at the next run; one given up on leaves the others to go on now.
      if (!(await replayFailed(storage, { error, logger, failures, at: clock.now() }))) return pages;
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
  }
}

/**
 * A page failed: it is tried again at the next run, until it has failed FAILURES_BEFORE_GIVING_UP
 * times, when the replay stops as `failed`. Whether it stopped.
 */
async function replayFailed(
  storage: Storage,
  options: { error: unknown; logger: Logger; failures: ReplayFailures; at: number },
): Promise<boolean> {
  const { error, logger, failures, at } = options;
  // The failing page is the oldest running replay's: the one a claim takes first.
  const replay = await storage.transaction((tx) => tx.scoring.claimReplay());
  if (!replay) return false;
  const runs = (failures.get(replay.id) ?? 0) + 1;
  failures.set(replay.id, runs);
  if (runs < FAILURES_BEFORE_GIVING_UP) {
    logger.warn(
      { err: error, replay: replay.id },
      'score replay page failed; it is tried again at the next run',
    );
    return false;
  }
  const reason = describeError(error);
  await storage.transaction((tx) =>
    tx.scoring.saveReplay({ ...replay, status: 'failed', finishedAt: at, reason }),
  );
  failures.delete(replay.id);
  logger.error({ err: error, replay: replay.id }, 'score replay stopped: its page failed at every attempt');
  return true;
}
