/**
 * A score model applied to events received before it (or before a rule was added): the model's
 * event rules award points for past events as they would have, in the profiles' ledgers, with the
 * events' own times (so decay counts from when each happened). It works through the workspace's
 * profiles in pages, each committed with the position reached, so progress shows and a restart
 * resumes after the last page.
 */
export interface ScoreReplay {
  id: string;
  workspaceId: string;
  model: string;
  /** Only events after this moment (epoch ms) are scored; null: every event the log holds. */
  since: number | null;
  status: ScoreReplayStatus;
  /** The last profile (by id) done: the next page starts after it. */
  afterProfile: string | null;
  /** Profiles in the workspace when it was requested: how far it has to go, as an estimate. */
  profilesTotal: number;
  profilesDone: number;
  /** Profiles that earned points. */
  profilesScored: number;
  awards: number;
  /** The points awarded, before decay. */
  points: number;
  /**
   * Where the order of merges stood (`mergeSequence`) when the pass over profiles began: a profile not
   * reached yet that merged into one done since brought events the survivor has not had scored.
   */
  mergesBefore: number;
  requestedAt: number;
  finishedAt: number | null;
  /** Why it stopped before the end (`cancelled`: its model was removed; `failed`: the error). */
  reason: string | null;
}

export const SCORE_REPLAY_STATUSES = ['running', 'done', 'cancelled', 'failed'] as const;
export type ScoreReplayStatus = (typeof SCORE_REPLAY_STATUSES)[number];

/** Written on each profile a replay gave points, so that what follows scores (segments) hears of it. */
export const PAST_EVENTS_SCORED = 'Past Events Scored';
