import type { ApiKey, Membership, Role, User, Workspace } from '../core/access.js';
import type {
  GeneratedEvent,
  NewEvent,
  RejectedEvent,
  SetAsideEvent,
  StoredEvent,
  StoredRejectedEvent,
} from '../core/event.js';
import type { HandOffStatus } from '../core/hand-off.js';
import type {
  EmailTemplate,
  Journey,
  JourneyInstance,
  JourneyVersion,
  Message,
  MessageStatus,
} from '../core/journey.js';
import type { ListAddition } from '../core/list-addition.js';
import type { MemberEntry } from '../core/member-entry.js';
import type { Account, Identity, IdentityKind, Profile, Traits } from '../core/profile.js';
import type { ScoreLedgerEntry } from '../core/score-model.js';
import type { ScoreReplay } from '../core/score-replay.js';
import type { Segment, SegmentCondition } from '../core/segment-definition.js';
import type { SetAsideResolution } from '../core/set-aside.js';
import type { DueTimer, SetAsideTimer, TimerKind } from '../core/timers.js';
import type { SuppressionReason } from '../core/topic-consent.js';
import type { WorkspaceSettings } from '../core/workspace-settings.js';
import type { DialectName } from './migrations/migrations.js';

/** One page of a list, and the opaque cursor of the next one (null on the last page). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

export interface WorkspaceStore {
  create(workspace: Workspace): Promise<void>;
  find(id: string): Promise<Workspace | undefined>;
  list(): Promise<Workspace[]>;
  listForUser(userId: string): Promise<Array<Workspace & { role: Role }>>;
  /**
   * Serialises transactions that read the list to decide whether to create a workspace, until the
   * transaction ends (PostgreSQL; SQLite's write transactions are serial already): two processes
   * starting at once on a fresh database would each find none and create the first.
   */
  lockList(): Promise<void>;
}

export interface StoredApiKey extends ApiKey {
  tokenHash: string;
}

export interface AccessStore {
  createUser(user: User & { passwordHash: string }): Promise<void>;
  findUserByEmail(email: string): Promise<(User & { passwordHash: string }) | undefined>;
  findUser(id: string): Promise<User | undefined>;
  updatePassword(userId: string, passwordHash: string): Promise<void>;
  countUsers(): Promise<number>;
  addMembership(membership: Membership & { createdAt: number }): Promise<void>;
  findMembership(workspaceId: string, userId: string): Promise<Membership | undefined>;
  /** The workspace's users with their roles, in the order they joined. */
  listMembers(workspaceId: string): Promise<Member[]>;
  /**
   * Holds the workspace's memberships against concurrent changes until the surrounding transaction
   * ends, so that a check made after it ("another owner remains") still holds when the change commits.
   */
  lockMemberships(workspaceId: string): Promise<void>;
  /** Gives a member another role; false when the user is not a member of the workspace. */
  updateMembershipRole(membership: Membership): Promise<boolean>;
  /** Takes the user out of the workspace (the user remains); false when not a member. */
  deleteMembership(workspaceId: string, userId: string): Promise<boolean>;

  /**
   * Stores a key; false, storing nothing, when the key named as its creator is revoked (a revocation
   * under way waits for this, or this for it, so its cascade never misses the new key).
   */
  createApiKey(key: StoredApiKey): Promise<boolean>;
  /** The key whose token hashes to `tokenHash`, revoked or not; callers decide what revocation means. */
  findApiKeyByHash(tokenHash: string): Promise<ApiKey | undefined>;
  listApiKeys(workspaceId: string): Promise<ApiKey[]>;
  /**
   * Marks a key revoked, by whom (see `ApiKey.revokedBy`), and with it every active key it created,
   * and theirs: the ids revoked now, or undefined when the workspace has no such key. A key revoked
   * already keeps its first revocation (its keys are still revoked).
   */
  revokeApiKey(
    workspaceId: string,
    keyId: string,
    revocation: { at: number; by: string | null },
  ): Promise<string[] | undefined>;
  touchApiKey(keyId: string, at: number): Promise<void>;

  createSession(session: {
    tokenHash: string;
    userId: string;
    createdAt: number;
    expiresAt: number;
  }): Promise<void>;
  findSession(tokenHash: string): Promise<{ userId: string; expiresAt: number } | undefined>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Ends the user's sessions but the one whose token hashes to `except` (after a password change). */
  deleteUserSessions(userId: string, options?: { except?: string }): Promise<number>;
  deleteExpiredSessions(now: number): Promise<number>;

  /** Per key (an e-mail, a client address), its failed log-ins since `since`: how many, and the first. */
  loginFailures(keys: string[], since: number): Promise<Map<string, { count: number; first: number }>>;
  /**
   * Notes a log-in under each key as failed until `releaseLoginAttempt(attempt)` takes it back, and
   * forgets failures older than `forgetBefore`.
   */
  noteLoginAttempt(keys: string[], attempt: string, at: number, forgetBefore: number): Promise<void>;
  releaseLoginAttempt(attempt: string): Promise<void>;
  clearLoginFailures(key: string): Promise<void>;
}

/** A user as a member of one workspace. */
export interface Member extends User {
  role: Role;
  joinedAt: number;
}

export interface AppendResult {
  stored: number;
  duplicates: number;
}

/** The event log. `append` is the ingest hot path; each backend implements it natively. */
export interface EventStore {
  /**
   * Appends accepted events and records rejected ones in one transaction: all or nothing. An event
   * whose (workspace, messageId) is already stored is skipped and counted as a duplicate.
   *
   * @example await storage.events.append({ events: [trackEvent], rejected: [] }) // { stored: 1, duplicates: 0 }
   */
  append(input: { events: NewEvent[]; rejected: RejectedEvent[] }): Promise<AppendResult>;
  list(workspaceId: string, page: PageRequest): Promise<Page<StoredEvent>>;
  /**
   * The names of the workspace's latest `scan` events (clients' and Mops's), each with how many of
   * them bore it, most first, then by name; at most `limit` names. Bounded whatever the log's size.
   */
  recentNames(
    workspaceId: string,
    options: { scan: number; limit: number },
  ): Promise<Array<{ name: string; count: number }>>;
  /** Rejected calls, newest first; only those received in [from, to) when a range is given. */
  listRejected(
    workspaceId: string,
    page: PageRequest,
    range?: { from: number; to: number },
  ): Promise<Page<StoredRejectedEvent>>;
  /** Events linked to any of these identities, newest first. */
  listForIdentities(identityIds: number[], page: PageRequest): Promise<Page<StoredEvent>>;
  /**
   * When the log's newest client event was received (Mops's own are dated by what they record);
   * undefined when it holds none. Ids follow receipt, and time-range reads rely on it: a writer that
   * dates receipt in the past (the demo shop's history) must date nothing before this.
   *
   * @example await storage.events.newestReceivedAt() // 1795425600000
   */
  newestReceivedAt(): Promise<number | undefined>;
  /**
   * The message ids of the workspace's events that start with `prefix`: what a load cut short (the
   * demo shop's, its ids all alike) stored already.
   */
  listMessageIdsWithPrefix(workspaceId: string, prefix: string): Promise<string[]>;
}

/** An account as fit rules read it: which one, and its traits. */
export interface AccountTraits {
  id: string;
  traits: Traits;
}

export interface IdentityKey {
  kind: IdentityKind;
  value: string;
}

/** Everything identity resolution decided for one batch, written in one go. */
export interface ResolutionChanges {
  workspaceId: string;
  newProfiles: Profile[];
  /** Profiles whose traits (or merge) changed: written only over the revision they were read at. */
  updatedProfiles: Profile[];
  /**
   * Profiles only seen again (their first/last seen times or user id moved, nothing else): those
   * columns alone are written, beside whatever else changed the profile since it was read.
   */
  seenProfiles: Profile[];
  /** Profiles merged away, each by the event that merged it. */
  merges: Array<{ from: string; into: string; eventId: number }>;
  newIdentities: Array<IdentityKey & { profileId: string; createdAt: number }>;
  /** Which identity each event is filed under, for profile timelines. */
  identityEvents: Array<{ identity: IdentityKey; timestamp: number; eventId: number }>;
  upsertedAccounts: Account[];
  accountMembers: Array<{ accountId: string; profileId: string; createdAt: number }>;
  traitChanges: TraitChange[];
  accountTraitChanges: AccountTraitChange[];
}

export interface ProfileStore {
  findIdentities(workspaceId: string, keys: IdentityKey[]): Promise<Identity[]>;
  findProfilesByIds(ids: string[]): Promise<Profile[]>;
  /** Which of these events merged a profile into another (see `ResolutionChanges.merges`). */
  eventsThatMerged(eventIds: number[]): Promise<Set<number>>;
  /**
   * Holds merges off until the transaction ends (PostgreSQL: `MERGES_LOCK_KEY` shared; a merge
   * takes it exclusively). Every transaction writing what a merge moves (scores, stages, hand-offs,
   * memberships, journey instances) takes it first, before any row lock: one that locks rows first
   * can deadlock with a merge waiting for them.
   */
  holdOffMerges(): Promise<void>;
  /**
   * Takes `MERGES_LOCK_KEY` exclusively until the transaction ends (PostgreSQL), as `applyResolution`
   * with merges does: a transaction writing several resolutions, only some with merges, takes it
   * before its first write, or rows it wrote could be what a shared holder it waits for waits on.
   */
  lockForMerges(): Promise<void>;
  /**
   * Which of these profiles were merged away: a batch that decided about them from reads made
   * before a merge must write nothing for them (the merge moved their rows to the survivor).
   */
  mergedAwayAmong(profileIds: string[]): Promise<Set<string>>;
  /** Where the order of merges stands: read before a batch's reads, for `survivorsOfMergesSince`. */
  mergeSequence(): Promise<number>;
  /**
   * Which of these profiles absorbed another since `mergeSequence` said `since`: a batch that read
   * them before decided without what the merge brought.
   */
  survivorsOfMergesSince(profileIds: string[], since: number): Promise<Set<string>>;
  /** The profiles of the workspace that absorbed another since `mergeSequence` said `since`. */
  allSurvivorsOfMergesSince(workspaceId: string, since: number): Promise<string[]>;
  findAccountsByGroupIds(workspaceId: string, groupIds: string[]): Promise<Account[]>;
  /**
   * Writes what identity resolution decided; merges first take `MERGES_LOCK_KEY` exclusively. Returns
   * the stage each merged-away profile was at (gone with it; the survivor keeps its own, if any).
   * `handOffStages`: the workspace's hand-off stage and those after it. A profile of a merge standing
   * before them was sent back from sales (recycled), so its past hand-offs do not make the owed one of
   * the other go; without them, any hand-off made does.
   * @example tx.profiles.applyResolution(changes, { handOffStages: ['mql', 'sql', 'customer'] })
   */
  applyResolution(
    changes: ResolutionChanges,
    options?: { handOffStages?: readonly string[] | undefined },
  ): Promise<{ mergedStages: Map<string, string> }>;

  /**
   * Profiles newest first; `query` matches a profile id or identity value (user or anonymous id)
   * exactly, or part of a trait value whatever its case (not a trait's name), or a phone number
   * however it is punctuated; `stage`, only those at that lifecycle stage. `scoreModel`: the profiles
   * that model scored, highest current score first (see `setCurrentScores`).
   */
  list(
    workspaceId: string,
    page: PageRequest & {
      query?: string | undefined;
      stage?: string | undefined;
      scoreModel?: string | undefined;
    },
  ): Promise<Page<Profile>>;
  /** The profile, following merges to the surviving profile. */
  find(workspaceId: string, id: string): Promise<Profile | undefined>;
  /**
   * The workspace's profiles (not merged away) whose `phone` trait is this number, however it is
   * punctuated, as `phoneNumberOf` reads it; found through an index, not by reading every profile.
   *
   * @example await profiles.listHoldingPhoneNumber(workspaceId, '+393471234567') // Ada, phone '+39 347 123 4567'
   */
  listHoldingPhoneNumber(workspaceId: string, phoneNumber: string): Promise<Profile[]>;
  listIdentities(profileId: string): Promise<Identity[]>;
  listAccounts(profileId: string): Promise<Account[]>;
  /**
   * Per profile, its accounts' ids and traits (none: not a contact of any), for a batch that must tell
   * them apart; read on every scoring batch, so nothing else.
   * @example (await profiles.accountsOf(['pro_ada'])).get('pro_ada') // [{ id: 'acc_1', traits: { … } }]
   */
  accountsOf(profileIds: string[]): Promise<Map<string, AccountTraits[]>>;
  /** The workspace's account (none for an account of another workspace). */
  findAccount(workspaceId: string, accountId: string): Promise<Account | undefined>;
  /** The profiles in the workspace's account (none for an account of another workspace). */
  listAccountMembers(workspaceId: string, accountId: string): Promise<string[]>;
  /** Takes a contact out of an account; false when it was not one of its contacts. */
  removeAccountMember(workspaceId: string, accountId: string, profileId: string): Promise<boolean>;
  /**
   * The profile as it stands, its row locked until the transaction ends (PostgreSQL `FOR UPDATE`),
   * for traits set outside of an identify: read-modify-write beside identity resolution.
   */
  lockForTraits(profileId: string): Promise<Profile | undefined>;
  /**
   * Sets traits outside of an identify (a journey's update step), recording what changed; only over
   * the revision `profile` was read at (`StaleBatchError` otherwise), which it then moves on.
   */
  updateTraits(profile: Profile, changes: TraitChange[]): Promise<void>;
  /** What the identify calls among these events changed. */
  listTraitChanges(eventIds: number[]): Promise<TraitChange[]>;
  /** What the group calls among these events changed on their accounts, in the order they changed it. */
  listAccountTraitChanges(eventIds: number[]): Promise<AccountTraitChange[]>;
}

/** A trait an identify (or a journey) changed on a profile: what journeys and segments react to. */
export interface TraitChange {
  workspaceId: string;
  eventId: number | null;
  profileId: string;
  trait: string;
  value: unknown;
  previous: unknown;
  at: number;
}

/** A trait a group call changed on an account: what its contacts' fit was judged with from then on. */
export interface AccountTraitChange {
  workspaceId: string;
  eventId: number;
  accountId: string;
  trait: string;
  value: unknown;
  /** None (null, once stored) when the account had no value for it: a new account's traits, all of them. */
  previous: unknown;
  at: number;
}

export interface JourneyStore {
  create(journey: Journey): Promise<void>;
  update(journey: Journey): Promise<void>;
  find(workspaceId: string, id: string): Promise<Journey | undefined>;
  /**
   * The journey, locked until the transaction ends (PostgreSQL `FOR UPDATE`): what a change of its
   * draft or status reads, so that two changes made at once do not write over each other.
   */
  lock(workspaceId: string, id: string): Promise<Journey | undefined>;
  list(workspaceId: string): Promise<Journey[]>;
  addVersion(version: JourneyVersion): Promise<void>;
  findVersion(journeyId: string, version: number): Promise<JourneyVersion | undefined>;
  /** Versions some instance of the journey is still active on (older ones than the current, too). */
  listVersionsRunning(journeyId: string): Promise<JourneyVersion[]>;
  /** Every published journey's current version, for deciding entries. */
  listLive(workspaceId: string): Promise<Array<{ journey: Journey; version: JourneyVersion }>>;

  insertInstance(instance: JourneyInstance): Promise<void>;
  /** Writes the instance's status, step, state and end; callers hold its lock. */
  updateInstance(instance: JourneyInstance): Promise<void>;
  /** The instance, locked until the transaction ends (PostgreSQL `FOR UPDATE`). */
  lockInstance(id: string): Promise<JourneyInstance | undefined>;
  findInstance(workspaceId: string, id: string): Promise<JourneyInstance | undefined>;
  /** Active instances of these profiles: what a batch of their events may move on or convert. */
  listActiveInstances(workspaceId: string, profileIds: string[]): Promise<JourneyInstance[]>;
  listInstancesOfProfile(workspaceId: string, profileId: string): Promise<JourneyInstance[]>;
  /**
   * These ended instances met their goal at `at`: the report counts each as converted (the first time
   * only). One held out at a split is not marked: the journey never worked on it.
   */
  markGoalMetAfterEnding(instanceIds: string[], at: number): Promise<void>;
  listActiveInstanceIds(journeyId: string): Promise<string[]>;
  /** The latest entry of this profile into this journey, and whether an instance is still active. */
  lastEntry(
    journeyId: string,
    profileId: string,
  ): Promise<{ enteredAt: number; hasActive: boolean } | undefined>;
  /** Serialises entries of one profile (PostgreSQL advisory lock); a no-op where writes are serial anyway. */
  lockProfileEntries(profileId: string): Promise<void>;
  /** Records a segment's members entering a journey; false when one for the journey is running already. */
  createMemberEntry(entry: MemberEntry): Promise<boolean>;
  /** The journey's latest, whatever its status. */
  latestMemberEntry(journeyId: string): Promise<MemberEntry | undefined>;
  /**
   * The oldest running one but those passed over (waiting for their journey or segment), held until
   * the transaction ends (PostgreSQL: one another process holds is passed over too).
   */
  claimMemberEntry(passOver: string[]): Promise<MemberEntry | undefined>;
  /** Stores a running one's position, counts and status; false when it was no longer running. */
  saveMemberEntry(entry: MemberEntry): Promise<boolean>;
  /**
   * Ends the running one of a journey (or this one, by id), its position and counts as they stand:
   * a publish or a failure read it earlier and must not write its progress back.
   */
  endMemberEntry(
    which: { journeyId: string } | { id: string },
    end: { status: 'cancelled' | 'failed'; finishedAt: number; reason: string },
  ): Promise<boolean>;

  addTransitions(transitions: JourneyTransition[]): Promise<void>;
  setTimer(timer: { workspaceId: string; instanceId: string; token: string; dueAt: number }): Promise<void>;
  clearTimers(instanceId: string): Promise<void>;
  /** Due timers, claimed for this transaction (PostgreSQL `SKIP LOCKED`); delete them once handled. */
  claimDueTimers(
    now: number,
    limit: number,
  ): Promise<Array<{ id: number; workspaceId: string; instanceId: string; token: string; dueAt: number }>>;
  deleteTimer(id: number): Promise<void>;
  nextTimerDue(): Promise<number | undefined>;
  countWaiting(): Promise<number>;

  report(journeyId: string): Promise<JourneyReport>;

  /**
   * Records an instance taking a split's arm, or held out there; a second visit of the same split
   * by the same instance (a loop back to it) is one entry, the arm being the same.
   */
  recordSplitEntry(entry: SplitEntry): Promise<void>;
  /**
   * Instances of these profiles, whatever their status, that took a split (or were held out) and
   * are still watched for their journey's goal at `at`: not met yet, and watched until then or longer.
   */
  listGoalWatchedInstances(workspaceId: string, profileIds: string[], at: number): Promise<JourneyInstance[]>;
  /** The instance met its journey's goal at `at`: each split it took counts it (once: the first time). */
  markGoalReached(instanceId: string, at: number): Promise<void>;
  /**
   * The profile's events of this name that happened at `since` or after, oldest first, as consumers
   * read them: what a contact entering a journey may have done to meet its goal already.
   */
  eventsOfProfileSince(profileId: string, name: string, since: number): Promise<StoredEvent[]>;
  /**
   * Per split step and arm (null: held out), the contacts counted, those who met the goal and those
   * still within its window; of the instances of `versions` only, when given.
   */
  tallySplits(journeyId: string, now: number, versions?: readonly number[]): Promise<SplitTally[]>;
  /** Per instance, the splits it took and the arm of each (null: held out), in the order taken. */
  listSplitArms(instanceIds: string[]): Promise<Map<string, Array<{ stepId: string; arm: string | null }>>>;
}

/** An instance's place in a split: its arm (null: held out) and how long its goal is watched. */
export interface SplitEntry {
  workspaceId: string;
  journeyId: string;
  instanceId: string;
  stepId: string;
  arm: string | null;
  /** Until when meeting the goal counts (the goal's `within` after entry); null: for as long as it takes. */
  watchUntil: number | null;
}

/**
 * One arm of a split (or its holdout, `arm` null), counted by contact: a contact who entered more than
 * once counts once, as converted if any of their entries met the goal.
 */
export interface SplitTally {
  stepId: string;
  arm: string | null;
  entered: number;
  /** Met the goal, so far. */
  converted: number;
  /**
   * Still within the goal's window. A rate must leave them out, converted or not: counting those who
   * converted early but not those who may yet would make a young split look better than it is.
   */
  pending: number;
  /** Of the pending, those who met the goal already. */
  pendingConverted: number;
}

export interface JourneyTransition {
  workspaceId: string;
  journeyId: string;
  version: number;
  instanceId: string;
  stepId: string | null;
  kind: TransitionKind;
  at: number;
}

/** entered/completed are per step; exited, converted and finished are per instance (at the step it was in). */
export type TransitionKind = 'entered' | 'completed' | 'exited' | 'converted' | 'finished';

export interface JourneyReport {
  entered: number;
  active: number;
  completed: number;
  exited: number;
  /**
   * Instances that met the goal: those it converted in the journey (their status) and those that had
   * completed or exited (not held out) when it came, within the goal's `within`.
   */
  converted: number;
  /**
   * Of the exited, those a split held out: kept from the journey on purpose, they are no part of its
   * conversion (the split's results compare them with its arms).
   */
  heldOut: number;
  steps: Record<
    string,
    { entered: number; completed: number; waiting: number; exited: number; converted: number }
  >;
  messages: Record<
    string,
    {
      sent: number;
      opened: number;
      clicked: number;
      unsubscribed: number;
      bounced: number;
      /** Marked as spam by the recipient (reported through the bounce intake). */
      complained: number;
      /** Reported delivered to the handset (SMS delivery receipts). */
      delivered: number;
      failed: number;
      suppressed: number;
      skipped: number;
      pending: number;
    }
  >;
}

export interface TemplateStore {
  upsert(template: EmailTemplate): Promise<void>;
  find(workspaceId: string, id: string): Promise<EmailTemplate | undefined>;
  list(workspaceId: string): Promise<EmailTemplate[]>;
}

export interface SettingsStore {
  get(workspaceId: string): Promise<WorkspaceSettings>;
  put(workspaceId: string, settings: WorkspaceSettings, at: number): Promise<void>;
  /** When the settings were last saved (null: never), to tell whether a copy read before is current. */
  savedAt(workspaceId: string): Promise<number | null>;
}

export interface MessageStore {
  /** Queues a message; a second one with the same idempotency key is ignored. */
  insert(message: Message): Promise<void>;
  insertMany(messages: Message[]): Promise<void>;
  /**
   * Queued or deferred messages now due, marked `sending` and held by `claimant` until `now + leaseMs`;
   * a message whose holder let its lease run out (it died mid-send) is claimed again. A message of a
   * sequence (`Message.sequence`) waits while one made before it for its profile is unsettled.
   */
  claimDue(claim: { now: number; limit: number; leaseMs: number; claimant: string }): Promise<Message[]>;
  /**
   * Gives back messages `claimant` claimed but never tried (it is stopping): queued again, due as
   * before, the attempt their claim counted given back. Answers how many it gave back.
   */
  releaseClaims(release: { ids: string[]; claimant: string; now: number }): Promise<number>;
  /** Extends the lease of messages `claimant` still holds; answers the ids it holds. */
  renewClaims(renewal: { ids: string[]; claimant: string; until: number }): Promise<Set<string>>;
  nextDue(): Promise<number | undefined>;
  /**
   * Writes the outcome of an attempt (status, reason, times, counters) if `claimant` still holds the
   * message — `sending` under its claim, not settled nor re-driven since (`null`: a message nobody
   * claimed, such as a test send); false when it does not.
   */
  update(message: Message, claimant: string | null): Promise<boolean>;
  /**
   * `update` for many messages held by one claimant, in one statement; answers the ids it wrote, and
   * those the claimant had settled already (a write that committed but whose answer was lost).
   */
  settleAll(messages: Message[], claimant: string): Promise<Set<string>>;
  find(workspaceId: string, id: string): Promise<Message | undefined>;
  findById(id: string): Promise<Message | undefined>;
  list(
    workspaceId: string,
    filter: {
      profileId?: string;
      journeyId?: string;
      status?: MessageStatus;
      channel?: Message['channel'];
      /** Without test sends (the `test` topic): the failed texts to re-drive are journeys' own. */
      excludingTestSends?: boolean;
      /** Webhook calls to this destination (its id in the settings) only. */
      webhookDestination?: string;
    },
    page: PageRequest,
  ): Promise<Page<Message>>;
  listForInstance(instanceId: string): Promise<Message[]>;
  /**
   * Messages that failed for good, in every workspace, by channel (the webhook dead letters, the texts
   * listed as failed; test sends are not counted): for the metrics, read off the index on status.
   */
  countFailedByChannel(): Promise<Map<Message['channel'], number>>;
  /**
   * Puts failed messages of a channel back in the queue, due now, with their attempts counted from
   * zero (re-driving the dead-letter list); only `ids` when given, only calls to `webhookDestination`
   * when given. Answers the ids requeued, and those left failed because their journey is archived
   * (nothing of an archived journey is sent).
   */
  requeueFailed(query: {
    workspaceId: string;
    channel: Message['channel'];
    ids?: string[];
    webhookDestination?: string;
    now: number;
  }): Promise<{ requeued: string[]; ofArchivedJourneys: string[] }>;
  /**
   * Makes the workspace's deferred messages whose reason starts with one of these due now, to be judged
   * again (quiet hours or caps changed, a journey resumed: `journeyId`, its messages only): those still
   * not allowed are deferred anew. Answers how many.
   */
  redueDeferred(
    workspaceId: string,
    query: { reasonsStartingWith: string[]; now: number; journeyId?: string },
  ): Promise<number>;
  /**
   * Skips what these journey instances queued that no attempt has gone to yet — queued, or held back
   * by quiet hours, a cap or a pause — with `reason`. One being sent, or waiting for a retry after an
   * attempt (which may have reached its receiver: counted, or deferred for a reason starting with one
   * of `keepingReasonsStartingWith`), is left to finish. Answers how many it skipped.
   */
  skipUntried(query: {
    workspaceId: string;
    instanceIds: string[];
    reason: string;
    now: number;
    keepingReasonsStartingWith: string[];
  }): Promise<number>;
  /**
   * Replaces what the message is rendered with, if `claimant` still holds it (null: a message sent
   * outside the dispatcher, a test send, which nobody claims); false when it does not.
   */
  saveContext(message: Pick<Message, 'id' | 'context'>, claimant: string | null): Promise<boolean>;
  /** How many test sends (e-mail and texts, the `test` topic) the workspace made since `since`. */
  countTestSendsSince(workspaceId: string, since: number): Promise<number>;
  /**
   * Which of these provider message ids the workspace's messages on the channel to the address were
   * recorded as, whatever profile they were for (profiles may share a phone).
   */
  providerIdsRecorded(query: {
    workspaceId: string;
    address: string;
    channel: Message['channel'];
    providerMessageIds: string[];
  }): Promise<Set<string>>;
  /** The profiles the workspace's messages on the channel went to at this address, whatever its case. */
  listRecipientsAt(query: {
    workspaceId: string;
    channel: Message['channel'];
    address: string;
  }): Promise<string[]>;
  /**
   * Per address (as recorded on the messages; matched whatever its case), when messages on the channel
   * were sent to it after `since` (oldest first), for whichever of the workspace's profiles, outside
   * some topics.
   */
  sentTimes(query: {
    workspaceId: string;
    addresses: string[];
    channel: string;
    since: number;
    exceptTopics: string[];
  }): Promise<Map<string, number[]>>;
  /** Records the first time a tracking event happened; false when it had already. */
  /** Stores a text's short links; false (nothing stored) when one of the codes is taken already. */
  addShortLinks(
    links: Array<{ code: string; workspaceId: string; messageId: string; url: string; createdAt: number }>,
  ): Promise<boolean>;
  /** Where a short link goes, and the text it was sent in. */
  findShortLink(code: string): Promise<{ workspaceId: string; messageId: string; url: string } | undefined>;
  markFirst(
    id: string,
    field: 'opened_at' | 'clicked_at' | 'unsubscribed_at' | 'bounced_at' | 'complained_at' | 'delivered_at',
    at: number,
  ): Promise<boolean>;
}

export interface ConsentStore {
  /**
   * Notes an inbound text by the provider's id for it; false when it was noted before (a retried
   * webhook or a replayed request), and then it must not be acted on again.
   */
  noteInboundText(entry: {
    workspaceId: string;
    messageSid: string;
    from: string;
    at: number;
  }): Promise<boolean>;
  suppress(entry: {
    workspaceId: string;
    channel: string;
    address: string;
    reason: SuppressionReason;
    at: number;
  }): Promise<void>;
  /** Lifts a suppression, only if it is for `reason` (a START lifts an opt-out, never a bounce); false if none. */
  unsuppress(entry: {
    workspaceId: string;
    channel: string;
    address: string;
    reason: SuppressionReason;
  }): Promise<boolean>;
  findSuppression(
    workspaceId: string,
    channel: string,
    address: string,
  ): Promise<SuppressionReason | undefined>;
  /** The suppressed ones among these addresses (lower-cased), with their reason. */
  findSuppressions(
    workspaceId: string,
    channel: string,
    addresses: string[],
  ): Promise<Map<string, SuppressionReason>>;
  /** The workspace's suppressions by address; with `channel` or `address`, only those. */
  listSuppressions(
    workspaceId: string,
    page: PageRequest & { channel?: string | undefined; address?: string | undefined },
  ): Promise<Page<{ channel: string; address: string; reason: SuppressionReason; createdAt: number }>>;
  setSubscription(entry: {
    workspaceId: string;
    profileId: string;
    topic: string;
    isSubscribed: boolean;
    at: number;
  }): Promise<void>;
  findSubscriptions(workspaceId: string, profileId: string): Promise<Record<string, boolean>>;
  /** Per profile, the topics it chose (topics it never changed follow their default). */
  listSubscriptions(workspaceId: string, profileIds: string[]): Promise<Map<string, Record<string, boolean>>>;
}

/** A profile's event as segment rules and score models read it. */
export interface ProfileEventFact {
  profileId: string;
  eventId: number;
  name: string;
  timestamp: number;
  properties: Record<string, unknown>;
}

/** The identity Mops files its own events about a profile under. */
export interface ProfileIdentity {
  identityId: number;
  kind: IdentityKind;
  value: string;
}

export interface SegmentMemberChange {
  segmentId: string;
  profileId: string;
  workspaceId: string;
  at: number;
}

export interface SegmentChange {
  id: string;
  at: number;
  name?: string;
  description?: string | null;
  rule?: SegmentCondition | null;
  isNewVersion?: boolean;
}

export interface SegmentStore {
  /**
   * Serialises changes to the workspace's segment definitions until the transaction ends (PostgreSQL;
   * SQLite's write transactions are serial already): two edits checked apart could each be sound and
   * together ask in a circle, or one could ask about a segment another deletes.
   */
  lockDefinitions(workspaceId: string): Promise<void>;
  create(segment: Segment): Promise<void>;
  /**
   * Changes what is given and nothing else, so an edit never writes back a backfill's progress it
   * read before. A new `rule`, or `isNewVersion`, makes a new version (counted up in the statement:
   * two edits at once are two versions) to backfill from the first profile.
   */
  update(change: SegmentChange): Promise<void>;
  find(workspaceId: string, id: string): Promise<Segment | undefined>;
  list(workspaceId: string): Promise<Segment[]>;
  /** Deletes the segment with its members and timers; false when there is none. */
  delete(workspaceId: string, id: string): Promise<boolean>;
  /** The workspace's live segments (every workspace's without one): what each event is evaluated against. */
  listLive(workspaceId?: string): Promise<Segment[]>;
  /** Segments whose backfill has not finished, nor stopped on a failure, in any workspace. */
  listBackfilling(): Promise<Segment[]>;
  /**
   * Stops the backfill of `version`, which failed the same way at every attempt, keeping why; the
   * segment stays `backfilling` until it is saved again. Nothing when it has moved on meanwhile.
   */
  stopBackfill(stop: { id: string; version: number; failure: string }): Promise<void>;
  /** Records how far the backfill of `version` got; false when the segment has moved on to another version. */
  saveBackfillProgress(progress: {
    id: string;
    version: number;
    after: string | null;
    done: number;
    total: number;
    finishedAt: number | null;
  }): Promise<boolean>;
  /**
   * Where this version's backfill resumes (`after`: null before its first batch), locked until the
   * transaction ends; undefined once the segment has moved on to another version or finished it.
   */
  backfillPosition(id: string, version: number): Promise<{ after: string | null } | undefined>;
  /**
   * Starts the clock of this version's backfill at `at`, unless a batch of it has committed (a resumed
   * backfill keeps its start): the start in force, undefined once the segment moved on.
   */
  startBackfill(id: string, version: number, at: number): Promise<number | undefined>;

  /** Per profile, the segments it is in (among `segmentIds`, when given). */
  memberships(profileIds: string[], segmentIds?: string[]): Promise<Map<string, Set<string>>>;
  /** Adds and removes members; an entry already present keeps its first entry time. */
  applyMembership(changes: { entered: SegmentMemberChange[]; exited: SegmentMemberChange[] }): Promise<void>;
  /** Adds members not in their segment yet; the ones it added (another writer may have added the rest). */
  addMembers(entered: SegmentMemberChange[]): Promise<SegmentMemberChange[]>;
  /** Per profile, its timer: the next moment one of its time-dependent segments may change. */
  timersOf(profileIds: string[]): Promise<Map<string, number>>;
  /**
   * The same, read again and locked until the transaction ends (PostgreSQL), so that no timer is
   * handled (`takeDueTimers` skips locked ones) while a batch writes what it decided from the first
   * read; undefined on SQLite, where the consumer and the timers take turns on one connection.
   */
  lockTimersOf(profileIds: string[]): Promise<Map<string, number> | undefined>;
  /**
   * Brings each profile's timer forward to `dueAt` when that is earlier, or sets it when there is none
   * (timers are only brought forward: one due too early finds nothing changed and sets the next).
   */
  bringTimersForward(timers: ProfileTimer[]): Promise<void>;
  /** Due timers, claimed for this transaction (PostgreSQL `SKIP LOCKED`) and deleted: set what is still needed. */
  takeDueTimers(now: number, limit: number): Promise<ProfileTimer[]>;
  nextTimerDue(): Promise<number | undefined>;
  /** The newest event's id in the log (0 when empty). */
  newestEventId(): Promise<number>;
  /** When the first event after a consumer's position was received; undefined when none is in the log yet. */
  firstReceivedAfter(position: string): Promise<number | undefined>;
  countMembers(segmentId: string): Promise<number>;
  createListAddition(addition: ListAddition): Promise<void>;
  findListAddition(workspaceId: string, id: string): Promise<ListAddition | undefined>;
  /**
   * The oldest waiting one but those passed over (their contacts not resolved yet), held until the
   * transaction ends (PostgreSQL: one another process holds is passed over too).
   */
  claimListAddition(passOver: string[]): Promise<ListAddition | undefined>;
  /** Stores a waiting one's outcome (all but `added`, which the adding counts); false when it was no longer waiting. */
  saveListAddition(addition: ListAddition): Promise<boolean>;
  /** Whether any is waiting: a look that reads no list of contacts. */
  anyListAdditionWaiting(): Promise<boolean>;
  /** Counts contacts a waiting one has added so far (in the transaction that added them). */
  countListAdditionAdded(id: string, added: number): Promise<void>;
  listMembers(segmentId: string, page: PageRequest): Promise<Page<{ profileId: string; enteredAt: number }>>;
  listSegmentsOfProfile(profileId: string): Promise<Array<{ segmentId: string; enteredAt: number }>>;

  /**
   * The profiles' events with these names, oldest first: per name, only those after its `since` (when
   * given) and with their properties only when asked (parsing them is most of the cost).
   */
  eventFacts(query: {
    workspaceId: string;
    profileIds: string[];
    names: Array<{ name: string; since: number | null; withProperties: boolean }>;
  }): Promise<ProfileEventFact[]>;
  /**
   * Every event of this name since `since`, with its profile (for backfills); properties only when
   * asked. The log has no index by name: a window reads only the ids received since it began.
   */
  eventsNamed(query: {
    workspaceId: string;
    name: string;
    since: number | null;
    withProperties: boolean;
  }): Promise<ProfileEventFact[]>;
  /** Live profiles by id after `after`, with their traits, for a backfill batch. */
  listProfilesAfter(
    workspaceId: string,
    after: string | null,
    limit: number,
  ): Promise<Array<{ id: string; traits: Record<string, unknown>; lastSeenAt: number }>>;
  countProfiles(workspaceId: string): Promise<number>;
  /**
   * Which of these profiles events changed after `since` (their profile row, by processing time); on
   * PostgreSQL their rows stay locked to the transaction, so none changes before it commits.
   */
  changedSince(profileIds: string[], since: number): Promise<Set<string>>;
  /** These profiles, those of the workspace not merged away; traits only when asked (parsing them costs). */
  findLiveProfiles(
    workspaceId: string,
    ids: string[],
    withTraits: boolean,
  ): Promise<Array<{ id: string; traits: Record<string, unknown>; lastSeenAt: number }>>;
  /** Per profile, the identity events written about it are filed under (its first user id, else anonymous id). */
  idsOf(profileIds: string[]): Promise<Map<string, ProfileIdentity>>;
  /** Per profile, the traits of each of its accounts. */
  accountTraits(profileIds: string[]): Promise<Map<string, Array<Record<string, unknown>>>>;
}

/**
 * A hand-off to sales. One owed (`awaiting_identity`: the profile reached the hand-off stage before it
 * was known to sales) has no owner, message or SLA yet; made, it keeps its id and `owedAt`.
 */
export interface HandOff {
  id: string;
  workspaceId: string;
  profileId: string;
  /** Null while owed (and when dropped before it was made). */
  owner: string | null;
  status: HandOffStatus;
  messageId: string | null;
  /** When it was made (for one owed, when it was owed): the SLA counts from here. */
  createdAt: number;
  dueAt: number;
  acceptedAt: number | null;
  breachedAt: number | null;
  /** When the profile reached the hand-off stage unknown to sales; null for one made at once. */
  owedAt: number | null;
  /** Why an owed hand-off was dropped (`dropped`), else null. */
  droppedReason: string | null;
}

/** A hand-off made with an owner: what creating or making an owed one writes. */
export type MadeHandOff = HandOff & { owner: string };

export interface StageChange {
  workspaceId: string;
  profileId: string;
  from: string | null;
  to: string;
  reason: string;
  at: number;
}

/** A profile's score under a model as of its last scored event. */
export interface StoredScore {
  workspaceId: string;
  profileId: string;
  model: string;
  /** `modelRevision` of the model as the score was computed. */
  modelRevision: string;
  score: number;
  at: number;
}

/**
 * Due timers set aside: each failed the same way at every attempt while the database answered (see
 * `TimerScheduler`), and the timers after it went on.
 *
 * @example
 * await storage.transaction((tx) => tx.setAsideTimers.add(timer, 'TypeError: …', now));
 */
export interface SetAsideTimerStore {
  /**
   * Keeps the timer with the reason and takes it off the due timers, in the caller's transaction; false,
   * with nothing done, when it no longer stands as it was (handled, or moved, meanwhile).
   */
  add(timer: DueTimer, reason: string, at: number): Promise<boolean>;
  /** Newest first: the unresolved ones, or with `isResolved` those an operator retried or dismissed. */
  list(workspaceId: string, page: PageRequest, filter?: SetAsideFilter): Promise<Page<SetAsideTimer>>;
  /** The workspace's record, resolved or not. */
  find(workspaceId: string, id: number): Promise<SetAsideTimer | undefined>;
  /** Marks it resolved, in the caller's transaction; false when it already was. */
  resolve(id: number, resolution: SetAsideResolution): Promise<boolean>;
  /** How many unresolved of each kind, in every workspace (for /metrics). */
  countByKind(): Promise<Map<TimerKind, number>>;
}

export interface SetAsideFilter {
  isResolved?: boolean;
}

/**
 * Events a consumer of the log set aside (see `Storage.setAside`), and what an operator does with them.
 *
 * @example
 * await storage.transaction(async (tx) => {
 *   await tx.setAsideEvents.holdOffConsumer('scoring');
 *   await tx.setAsideEvents.resolve(id, { how: 'retried', at: now, by: 'user:usr_…' });
 * });
 */
export interface SetAsideEventStore {
  /** Newest first: the unresolved ones, or with `isResolved` those an operator retried or dismissed. */
  list(workspaceId: string, page: PageRequest, filter?: SetAsideFilter): Promise<Page<SetAsideEvent>>;
  /** The workspace's record, resolved or not. */
  find(workspaceId: string, id: number): Promise<SetAsideEvent | undefined>;
  /** The event in the log it is of, as a consumer reads it. */
  findEvent(workspaceId: string, eventId: number): Promise<StoredEvent | undefined>;
  /** Marks it resolved, in the caller's transaction; false when it already was. */
  resolve(id: number, resolution: SetAsideResolution): Promise<boolean>;
  /**
   * Waits for the consumer's batch under way in any process to commit, and holds off its next until
   * the surrounding transaction ends (PostgreSQL; SQLite's write transactions are serial already).
   */
  holdOffConsumer(cursor: string): Promise<void>;
  /**
   * How many of the consumer's events were retried so far: a batch that read before a retry and
   * writes after it (SQLite reads outside the write lock) would write over what the retry decided.
   */
  retriedCount(consumer: string): Promise<number>;
  /** How many unresolved each consumer has, in every workspace (for /metrics). */
  countByConsumer(): Promise<Map<string, number>>;
}

export interface ScoringStore {
  /** The ledger entries of these profiles, oldest first. */
  ledger(profileIds: string[]): Promise<Array<ScoreLedgerEntry & { profileId: string }>>;
  ledgerOfProfile(profileId: string): Promise<ScoreLedgerEntry[]>;
  /** Adds awards; one already recorded (same profile, model, rule, event) is skipped. */
  addAwards(awards: Array<ScoreLedgerEntry & { workspaceId: string; profileId: string }>): Promise<void>;
  setScores(scores: StoredScore[]): Promise<void>;
  /**
   * Per profile, its stored score under each model, with the model's revision it was computed under
   * and when it was stored (`at`).
   */
  scores(
    profileIds: string[],
  ): Promise<Map<string, Record<string, { score: number; modelRevision: string | null; at: number }>>>;
  /**
   * How the workspace's profiles spread over their stored scores of a model (each as of the
   * profile's last scored event), in buckets of `bucket` points; `otherRevisions` counts the scores
   * computed under another revision of the model than `modelRevision` (which are not current).
   */
  distribution(
    workspaceId: string,
    model: { id: string; modelRevision: string },
    bucket: number,
  ): Promise<{ buckets: Array<{ from: number; count: number }>; otherRevisions: number }>;

  /** How many profiles hold a stored score of a model, and when the latest was written (0 for none). */
  scoresWritten(workspaceId: string, model: string): Promise<{ count: number; lastAt: number }>;
  /** The profiles holding a stored score of a model, by id after `after`, with their traits. */
  scoredProfilesAfter(
    workspaceId: string,
    model: string,
    after: string | null,
    limit: number,
  ): Promise<Array<{ id: string; traits: Record<string, unknown>; modelRevision: string | null }>>;
  /**
   * Stores scores recomputed under the model's current revision for profiles whose stored one is of
   * another; a score stored under the current revision meanwhile (a newer event's) is left alone.
   */
  refreshScores(
    model: { id: string; modelRevision: string },
    scores: Array<{ profileId: string; score: number }>,
  ): Promise<void>;

  /** Records a score replay; false when one of the same model is running already. */
  createReplay(replay: ScoreReplay): Promise<boolean>;
  findReplay(workspaceId: string, id: string): Promise<ScoreReplay | undefined>;
  /** A model's replays, newest first. */
  listReplays(workspaceId: string, model: string, limit: number): Promise<ScoreReplay[]>;
  /**
   * The oldest running replay, held until the transaction ends (PostgreSQL: one another process
   * holds is skipped).
   */
  claimReplay(): Promise<ScoreReplay | undefined>;
  /** Stores a running replay's position, counts and status; false when it was no longer running. */
  saveReplay(replay: ScoreReplay): Promise<boolean>;
  /**
   * Waits for the batch in flight of the log consumer with this cursor (scoring's, for a replay) and
   * holds its next one off until the transaction ends: PostgreSQL locks the cursor's row, which other
   * processes' batches claim with SKIP LOCKED; SQLite has one process, whose caller takes turns with
   * the consumer. Returns where the consumer's cursor stands (undefined: it never ran).
   */
  holdConsumer(cursor: string): Promise<string | undefined>;
  /** Where a log consumer's cursor stands, unlocked (undefined: it never ran). */
  consumerPosition(cursor: string): Promise<string | undefined>;

  stages(profileIds: string[]): Promise<Map<string, string>>;
  /** Per profile with a stage, when it moved to it. */
  stagesSince(profileIds: string[]): Promise<Map<string, number>>;
  /**
   * Moves profiles to stages, each only from the stage it names (`from`, null for none), recording
   * each move in their history. Returns the moves refused because the profile's stage had moved
   * meanwhile (a scoring batch, an SLA recycle elsewhere): the caller decides again or gives up.
   */
  setStages(changes: StageChange[]): Promise<StageChange[]>;
  /** The stages the workspace's profiles are at, each once. */
  stagesHeld(workspaceId: string): Promise<string[]>;
  stageHistory(profileId: string): Promise<StageChange[]>;
  /** Per profile, every stage it has held (its history's moves), recycled out of or not. */
  stagesEverHeld(profileIds: string[]): Promise<Map<string, Set<string>>>;

  /** The workspace's next round-robin turn among its sales owners (0 before the first). */
  roundRobinTurn(workspaceId: string): Promise<number>;
  setRoundRobinTurn(workspaceId: string, turn: number): Promise<void>;
  createHandOff(handOff: HandOff): Promise<void>;
  /**
   * Ends a pending hand-off (accepted, breached or recycled); false when it was no longer pending —
   * another transaction ended it first (sales accepted as the SLA ran out), which stays as it was.
   */
  settleHandOff(
    id: string,
    outcome:
      | { status: 'accepted'; acceptedAt: number }
      | { status: 'breached' | 'recycled'; breachedAt: number | null },
  ): Promise<boolean>;
  /**
   * Ends a made hand-off still with sales (`pending`, `accepted`, `passed` or `breached`) as
   * `recycled`: the lead was sent back by hand. When it was accepted or missed stays as it was. False
   * when it was not with sales (owed, dropped, or recycled already): the CRM is told of it once.
   * @example if (await tx.scoring.recycleHandOff(handOff.id)) ended.push(handOff)
   */
  recycleHandOff(id: string): Promise<boolean>;
  /**
   * Makes an owed hand-off (`awaiting_identity`, same id) as `made` says; false when it was no longer
   * owed — another transaction made or dropped it first.
   */
  makeOwedHandOff(made: MadeHandOff): Promise<boolean>;
  /** Drops an owed hand-off, saying why; false when it was no longer owed. */
  dropOwedHandOff(id: string, reason: string): Promise<boolean>;
  findHandOff(id: string): Promise<HandOff | undefined>;
  /** The profile's hand-offs still waiting for sales: one at most, but a merge may bring another. */
  pendingHandOffs(profileId: string): Promise<HandOff[]>;
  /**
   * The profile's made hand-offs still with sales (`pending`, `accepted`, `passed` or `breached`),
   * oldest first: what a recycle by hand ends. Usually one, but a merge may bring the other profile's.
   * @example for (const handOff of await tx.scoring.handOffsWithSales(profileId)) await tx.scoring.recycleHandOff(handOff.id)
   */
  handOffsWithSales(profileId: string): Promise<HandOff[]>;
  /** Per profile, its owed hand-offs (`awaiting_identity`), oldest first: one at most. */
  owedHandOffs(profileIds: string[]): Promise<Map<string, HandOff[]>>;
  /**
   * Per profile, its latest hand-off by when it was made (`createdAt`), whatever its status but
   * `dropped` (none: the profile has never been handed off).
   */
  latestHandOffs(profileIds: string[]): Promise<Map<string, HandOff>>;
  /** Newest first by when each was made (an owed one by when it was owed, until it is made). */
  listHandOffs(
    workspaceId: string,
    /** `missed`: only those whose SLA ran out, sent back (recycled) on the miss or not. */
    filter: { profileId?: string; status?: HandOff['status']; missed?: boolean },
    page: PageRequest,
  ): Promise<Page<HandOff>>;
  /** Hand-offs in every workspace, by status (those whose SLA was missed are `breached` or `recycled`): for the metrics. */
  countHandOffsByStatus(): Promise<Map<HandOff['status'], number>>;
  /**
   * Pending hand-offs past their SLA at `now` (their deadline strictly before it: one accepted at the
   * deadline's millisecond is in time), claimed for this transaction (PostgreSQL `SKIP LOCKED`).
   */
  claimOverdueHandOffs(now: number, limit: number): Promise<MadeHandOff[]>;
  /** When the SLA check is next due: a millisecond after the earliest pending deadline (see `claimOverdueHandOffs`). */
  nextHandOffDue(): Promise<number | undefined>;

  /**
   * Brings each profile's stage timer (the next moment time alone may take a score over a stage's
   * threshold) forward to `dueAt` when that is earlier, or sets it when there is none.
   */
  bringStageTimersForward(timers: ProfileTimer[]): Promise<void>;
  /** Due stage timers, claimed for this transaction (PostgreSQL `SKIP LOCKED`) and deleted. */
  takeDueStageTimers(now: number, limit: number): Promise<ProfileTimer[]>;
  nextStageTimerDue(): Promise<number | undefined>;
  /**
   * Brings each profile's score refresh (the next moment decay or a timed fit rule may have moved a
   * score past what its `current_score` may be off by) forward to `dueAt`, or sets it.
   */
  bringScoreRefreshesForward(timers: ProfileTimer[]): Promise<void>;
  /** Makes the score refresh of every profile holding a score of these models due at `dueAt`. */
  bringModelScoreRefreshesForward(workspaceId: string, models: string[], dueAt: number): Promise<void>;
  /** Due score refreshes, claimed for this transaction (PostgreSQL `SKIP LOCKED`) and deleted. */
  takeDueScoreRefreshes(now: number, limit: number): Promise<ProfileTimer[]>;
  nextScoreRefreshDue(): Promise<number | undefined>;
  /**
   * Stores scores as they stand now for ranking (`current_score`), each only where the score it was
   * computed beside is still the one stored at `storedAt`: a scoring batch since wrote a newer one.
   */
  setCurrentScores(
    scores: Array<{ profileId: string; model: string; currentScore: number; storedAt: number }>,
  ): Promise<void>;
}

/** A profile's timer: when something about it is to be decided again. */
export interface ProfileTimer {
  profileId: string;
  workspaceId: string;
  dueAt: number;
}

/** A time range cut into buckets of `bucketMs`, bucket 0 starting at `from`; times in epoch ms, `to` exclusive. */
export interface BucketQuery {
  workspaceId: string;
  from: number;
  to: number;
  bucketMs: number;
}

export interface EventBucketCounts {
  bucket: number;
  /** Events clients sent. */
  received: number;
  /** Events Mops wrote itself (`origin = mops`: Segment Entered, …). */
  generated: number;
  /** Calls that failed validation. */
  rejected: number;
}

export interface MessageBucketCounts {
  bucket: number;
  sent: number;
  opened: number;
  clicked: number;
  bounced: number;
  /** Given up on without a bounce: no channel set up, refused by the provider, retries run out. */
  failed: number;
}

/**
 * Counts over time for the console's dashboard; only buckets with something in them are answered.
 *
 * @example await storage.dashboard.eventCounts({ workspaceId, from, to: from + HOUR, bucketMs: MINUTE })
 */
export interface DashboardStore {
  /** Events by `received_at`, clients' and Mops's own apart, and rejected calls. */
  eventCounts(query: BucketQuery): Promise<EventBucketCounts[]>;
  /**
   * Messages by when they were sent, first opened, first clicked, bounced, and given up on otherwise
   * (`failed`, by when it was last changed); of one channel, when given.
   */
  messageCounts(query: BucketQuery & { channel?: Message['channel'] }): Promise<MessageBucketCounts[]>;
  /** Why the messages `failed` counts were given up on in [from, to): the commonest reasons first. */
  failureReasons(query: {
    workspaceId: string;
    from: number;
    to: number;
    channel?: Message['channel'];
    limit: number;
  }): Promise<FailureReason[]>;
  /**
   * Why messages are waiting to go out now, whenever they were queued: `queued` (reason null: about to
   * go, or re-driven), or `deferred` (to be retried, or held by quiet hours, a cap or a paused
   * journey); the commonest reasons first.
   */
  waitingReasons(query: {
    workspaceId: string;
    channel?: Message['channel'];
    limit: number;
  }): Promise<FailureReason[]>;
  /**
   * The lifecycle funnel: per stage, the contacts at it now, and those who moved forward into it in
   * [from, to) — from an earlier stage of `stages` (their order) or none, each contact once per stage.
   */
  lifecycleCounts(query: {
    workspaceId: string;
    stages: string[];
    from: number;
    to: number;
  }): Promise<{ now: Map<string, number>; reached: Map<string, number> }>;
}

export interface FailureReason {
  channel: Message['channel'];
  /** The last error, as the message keeps it; null when none was kept. */
  reason: string | null;
  count: number;
}

/** Events Mops itself writes to the log inside a transaction (Segment Entered, …); they commit with it. */
export interface GeneratedEventWriter {
  append(events: GeneratedEvent[]): Promise<void>;
}

/** The stores a pipeline batch reads from while it decides what to write. */
export type StorageReader = Omit<StorageTx, 'generatedEvents'>;

/**
 * One step of an event consumer: look at a batch of events, read what it needs, decide, then write.
 * `prepare` must only read: on SQLite it runs before the write lock is taken, so that ingest keeps
 * appending meanwhile; the function it returns does the writes, in the transaction that also moves
 * the cursor.
 */
export interface PipelineBatch<T> {
  /** `span`: where the consumer's cursor stands before these events, and where the batch leaves it. */
  prepare(
    events: StoredEvent[],
    reader: StorageReader,
    span: CursorSpan,
  ): Promise<(tx: StorageTx) => Promise<T>>;
}

export interface PipelineReadOptions {
  /** Read no further than this other cursor. */
  notBeyond?: string;
  /** Mops's own events (Segment Entered, …) are passed over: the cursor moves past them unread. */
  skipMopsEvents?: boolean;
  /** With `skipMopsEvents`: Mops's own events of these names are read all the same. */
  mopsEventsRead?: string[];
  /**
   * The limit counts every event the batch reads, Mops's own too, not only the clients': a consumer
   * going one event at a time past a failed batch reads exactly one, whoever wrote it.
   */
  countsEveryEvent?: boolean;
}

/** Positions of a consumer's cursor (opaque, backend-specific). */
export interface CursorSpan {
  after: string;
  through: string;
}

export type PipelineOutcome<T> =
  /** Another process holds the cursor, or moved it while this one was preparing: nothing was done. */
  | { status: 'busy' }
  | { status: 'idle' }
  /** The batch's reads went stale before it wrote (`StaleBatchError`): nothing was done; go again. */
  | { status: 'stale' }
  | { status: 'done'; events: StoredEvent[]; result: T };

/**
 * The advisory lock merges take exclusively and writers of per-profile state share (PostgreSQL):
 * one key for all, as merges are rare and a lock per profile would fill PostgreSQL's lock table.
 */
export const MERGES_LOCK_KEY = 'profile-merges';

/**
 * Thrown by a batch's write when what it read changed underneath it (a profile it decided about was
 * merged away meanwhile): the transaction rolls back and the batch is prepared again from fresh reads.
 */
export class StaleBatchError extends Error {
  override name = 'StaleBatchError';
}

/** For `runPipelineBatch`: a stale batch, rolled back, is an outcome; anything else stays an error. */
export function staleAsOutcome(error: unknown): { status: 'stale' } {
  if (error instanceof StaleBatchError) return { status: 'stale' };
  throw error;
}

/** The stores that run inside one transaction. */
export interface StorageTx {
  workspaces: WorkspaceStore;
  access: AccessStore;
  profiles: ProfileStore;
  journeys: JourneyStore;
  templates: TemplateStore;
  settings: SettingsStore;
  messages: MessageStore;
  consent: ConsentStore;
  segments: SegmentStore;
  scoring: ScoringStore;
  setAsideTimers: SetAsideTimerStore;
  setAsideEvents: SetAsideEventStore;
  generatedEvents: GeneratedEventWriter;
}

/**
 * All persistent state. Two backends implement it, SQLite (embedded, default) and PostgreSQL
 * (several processes share one database); `storage.contract.ts` holds the tests both must pass.
 *
 * @example
 * const storage = await openStorage(config.database);
 * await storage.migrate();
 * const { stored } = await storage.events.append({ events, rejected: [] });
 */
export interface Storage {
  readonly dialect: DialectName;
  /** Applies pending migrations; returns the names applied now. */
  migrate(): Promise<string[]>;
  ping(): Promise<void>;
  /** Settings of the database server that will hurt Mops, each explained for the operator. */
  checkServer(): Promise<string[]>;
  close(): Promise<void>;

  workspaces: WorkspaceStore;
  access: AccessStore;
  events: EventStore;
  profiles: ProfileStore;
  journeys: JourneyStore;
  templates: TemplateStore;
  settings: SettingsStore;
  messages: MessageStore;
  consent: ConsentStore;
  segments: SegmentStore;
  scoring: ScoringStore;
  setAsideTimers: SetAsideTimerStore;
  setAsideEvents: SetAsideEventStore;
  dashboard: DashboardStore;

  /** Runs `fn` in one write transaction, committed when it resolves and rolled back when it throws. */
  transaction<T>(fn: (tx: StorageTx) => Promise<T>): Promise<T>;
  /**
   * Runs `fn`'s reads against one snapshot of the database, so what it reads in several statements
   * belongs together (PostgreSQL: a read-only REPEATABLE READ transaction; SQLite: one read
   * transaction). For a few quick reads only, all through `snapshot`: a write in `fn` fails, and on
   * SQLite the process's other statements (appends too) wait until `fn` ends — one through this
   * storage inside `fn` would wait for ever.
   */
  readSnapshot<T>(fn: (snapshot: StorageTx) => Promise<T>): Promise<T>;
  /**
   * Calls `listener` after events were appended: in this process, and on PostgreSQL in any process
   * (LISTEN/NOTIFY). Returns the function that unsubscribes.
   */
  onEventsAppended(listener: () => void): () => void;
  /**
   * Runs one batch of the named event consumer: the events committed after its cursor, in commit
   * order, up to `limit` of the clients' (Mops's own events in between come along without counting:
   * a burst of Segment Entered costs no extra batches). The batch may hold no events at all when it
   * only passes over skipped ones. The batch's writes and the cursor's move commit together, so a crash at
   * any point replays exactly the batch that did not commit. One process at a time holds a cursor.
   * With `notBeyond`, it reads no further than that other cursor (journeys after profiles).
   */
  runPipelineBatch<T>(
    cursor: string,
    limit: number,
    batch: PipelineBatch<T>,
    at: number,
    options?: PipelineReadOptions,
  ): Promise<PipelineOutcome<T>>;
  /**
   * Moves a consumer's cursor past a batch it cannot process, keeping each of its events with the
   * reason, in one transaction. False, with nothing done, when the cursor no longer stands at
   * `span.after` (another process got past the batch meanwhile).
   */
  setAside(
    cursor: string,
    span: CursorSpan,
    events: StoredEvent[],
    reason: string,
    at: number,
  ): Promise<boolean>;
  /**
   * Runs `work` unless another process is running work under the same key, for long work (a segment's
   * backfill) that three processes doing at once would only triple. PostgreSQL holds a session
   * advisory lock on a connection of its own, so a process that dies lets go of it with its connection
   * and no lease has to run out; SQLite runs the work at once (one process writes a database file).
   */
  runAlone<T>(key: string, work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
  /** The consumer's current lag, in events not yet processed. */
  pipelineLag(cursor: string): Promise<number>;
  /** When the first event the consumer has not processed yet was received; undefined when it is caught up. */
  firstUnprocessedAt(cursor: string): Promise<number | undefined>;
}
