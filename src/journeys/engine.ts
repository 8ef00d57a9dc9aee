import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { RETRYING_PREFIX } from '../channels/delivery-errors.js';
import type { Clock } from '../core/clock.js';
import { durationMs } from '../core/duration.js';
import type { StoredEvent } from '../core/event.js';
import { newId } from '../core/ids.js';
import {
  type EntryEvent,
  GOAL_REACHED,
  type Journey,
  type JourneyInstance,
  type JourneyVersion,
  LEFT_ENTRY_SEGMENT,
  MERGED_INTO_INSTANCE,
  type Message,
  type MessageStatus,
  newMessage,
} from '../core/journey.js';
import { currentMembersSegment, type JourneyDefinition } from '../core/journey-definition.js';
import { profileTimeZone } from '../core/local-time.js';
import { isGenuine } from '../core/mops-events.js';
import { type Profile, TRAITS_UPDATED } from '../core/profile.js';
import type { ScoreModel } from '../core/score-model.js';
import { SEGMENT_ENTERED, SEGMENT_EXITED } from '../core/segment-definition.js';
import type { DueTimer } from '../core/timers.js';
import { compare } from '../core/value-comparison.js';
import type { WorkspaceSettings } from '../core/workspace-settings.js';
import { singledOut } from '../pipeline/timer-scheduler.js';
import { profileEvent } from '../profiles/profile-events.js';
import { eventProfileIds } from '../profiles/profiles.js';
import { identifyTraits, ownValue, setOwn } from '../profiles/traits.js';
import { readScoresOverTime } from '../scoring/scores-over-time.js';
import type {
  JourneyTransition,
  PipelineBatch,
  Storage,
  StorageTx,
  TraitChange,
} from '../storage/storage.js';
import { type Audience, type ConditionScope, matchesAll, NO_AUDIENCE } from './conditions.js';
import { happenedSinceEntry, matchesEntry, scopeOf } from './event-scope.js';
import { advance, type Effect, type Trigger } from './executor.js';
import { goalMetWhileDecided, goalWatchUntil, meetsGoal, SplitGoalWatch } from './goals.js';
import { renderTraitValues } from './trait-updates.js';

export const JOURNEYS_CURSOR = 'journeys';

/**
 * Up to when journey timers can fire: the journeys consumer must have read every event received
 * before a timer fell due, or an order that arrived in time but waits behind a backlog (a restart, a
 * burst) would lose to the wait's timeout, and a branch would read where the profile stood before it.
 * Likewise the segment timers (a rolling window letting a profile go), the hand-off SLA checks (a
 * missed SLA recycling the stage) and the stage timers (a score reaching a threshold by time alone)
 * due before it must have run: they have schedulers of their own, which may come later after a restart.
 */
export async function journeyTimersJudgedThrough(storage: Storage, now: number): Promise<number> {
  const [firstUnread, segmentTimer, handOff, stageTimer] = await Promise.all([
    storage.firstUnprocessedAt(JOURNEYS_CURSOR),
    storage.segments.nextTimerDue(),
    storage.scoring.nextHandOffDue(),
    storage.scoring.nextStageTimerDue(),
  ]);
  let through = now;
  for (const waiting of [firstUnread, segmentTimer, handOff, stageTimer])
    if (waiting !== undefined) through = Math.min(through, waiting - 1);
  return through;
}

export interface EngineOptions {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** Called after a transaction queued messages, so the dispatcher sends them at once. */
  onMessagesQueued?: () => void;
  /** Called after a transaction set timers, so the scheduler can wake for the earliest. */
  onTimersSet?: (earliest: number) => void;
}

const SETTINGS_TTL_MS = 5_000;
/** A paused journey's timers are looked at again this much later. */
const PAUSED_TIMER_RETRY_MS = 60_000;

/**
 * Runs journeys: enters profiles on events and trait changes, moves instances on when the events they
 * wait for arrive, when their goal is reached and when their timers fire. Every move commits in one
 * transaction with everything it causes (the next timers, the queued messages, trait updates), so a
 * crash replays from the last commit and never does a step twice.
 */
export class JourneyEngine {
  readonly #options: EngineOptions;
  readonly #versions = new Map<string, JourneyVersion>();
  readonly #settingsCache = new Map<string, { settings: WorkspaceSettings; until: number }>();

  constructor(options: EngineOptions) {
    this.#options = options;
  }

  /** The pipeline batch that handles events for journeys, after profiles have resolved them. */
  eventBatch(): PipelineBatch<WorkLog> {
    return {
      prepare: async (events) => async (tx) => this.#handleEvents(tx, events),
    };
  }

  /** Wakes the dispatcher and the scheduler for what a committed batch queued and scheduled. */
  afterCommit(work: WorkLog): void {
    this.#announce(work);
  }

  /**
   * Fires due timers, in one transaction; returns how many it handled. Only those due by when the
   * journeys consumer has read every event received (see `journeyTimersJudgedThrough`).
   */
  async runDueTimers(limit = 500): Promise<number> {
    const now = this.#options.clock.now();
    const judgedThrough = await journeyTimersJudgedThrough(this.#options.storage, now);
    let taken: DueTimer[] = [];
    return this.#transaction(async (tx, work) => {
      const timers = await tx.journeys.claimDueTimers(judgedThrough, limit);
      taken = timers.map(({ workspaceId, instanceId, token, dueAt }) => ({
        kind: 'journey',
        workspaceId,
        subject: instanceId,
        token,
        dueAt,
      }));
      for (const timer of timers) {
        const instance = await tx.journeys.lockInstance(timer.instanceId);
        if (instance?.status === 'active') {
          const journey = await tx.journeys.find(instance.workspaceId, instance.journeyId);
          if (journey?.status === 'archived') {
            // Archiving ends instances right away; one it missed (a crash in between) ends here.
            await this.#move(
              tx,
              instance,
              { type: 'exit', reason: 'journey archived' },
              now,
              undefined,
              work,
            );
            await tx.journeys.deleteTimer(timer.id);
            continue;
          }
          if (journey?.status === 'paused') {
            await tx.journeys.setTimer({
              workspaceId: instance.workspaceId,
              instanceId: instance.id,
              token: timer.token,
              dueAt: now + PAUSED_TIMER_RETRY_MS,
            });
            work.timer(now + PAUSED_TIMER_RETRY_MS);
            continue;
          }
          const heldUntil = await this.#waitHeldUntil(tx, instance, timer, now);
          if (heldUntil !== undefined) {
            await tx.journeys.setTimer({
              workspaceId: instance.workspaceId,
              instanceId: instance.id,
              token: timer.token,
              dueAt: heldUntil,
            });
            work.timer(heldUntil);
            continue;
          }
          // An `event:` timer is an event that arrived while the journey was paused, held until now.
          const trigger: Trigger = timer.token.startsWith('event:')
            ? { type: 'event', token: timer.token }
            : { type: 'timer', token: timer.token };
          await this.#move(tx, instance, trigger, now, undefined, work);
        }
        await tx.journeys.deleteTimer(timer.id);
      }
      return timers.length;
    }).catch((error: unknown) => {
      throw singledOut(taken, error);
    });
  }

  /**
   * When the wait this timer ends should end instead, if later than now: a wait counts from when the
   * messages queued just before it went out. An e-mail held back for quiet hours, a cap or a pause (or
   * still being tried) moves the end on, so that "you did not confirm" does not go out together with
   * the question, nor a branch on a text's delivery ask before it was sent.
   */
  async #waitHeldUntil(
    tx: StorageTx,
    instance: JourneyInstance,
    timer: { token: string; dueAt: number },
    now: number,
  ): Promise<number | undefined> {
    const { waitingSince, waitingFor } = instance.state;
    if (waitingSince === undefined || waitingFor === undefined) return undefined;
    const version = await this.#version(tx, instance.journeyId, instance.version);
    const step = version?.definition.steps.find((candidate) => candidate.id === instance.stepId);
    const wait =
      step?.type === 'wait'
        ? { token: waitingFor, length: durationMs(step.duration) }
        : step?.type === 'wait_for_event'
          ? { token: waitingFor.replace(/^event:/, 'timeout:'), length: durationMs(step.timeout) }
          : undefined;
    if (wait?.token !== timer.token) return undefined;
    let end = Number.NEGATIVE_INFINITY;
    for (const message of await tx.messages.listForInstance(instance.id)) {
      if (message.createdAt < waitingSince) continue;
      const wentOutAt = UNSENT_STATUSES.has(message.status)
        ? Math.max(message.nextAttemptAt ?? now, now)
        : message.sentAt;
      if (wentOutAt !== null) end = Math.max(end, wentOutAt + wait.length);
    }
    // A message sent as it was queued (the dispatcher's few seconds) leaves the wait as it was.
    return end > now && end > timer.dueAt + HELD_BACK_AT_LEAST_MS ? end : undefined;
  }

  /** Enters a profile by hand (`POST …/journeys/:id/enrol`); undefined when its re-entry rules say no. */
  async enrol(input: {
    workspaceId: string;
    journeyId: string;
    profileId: string;
    properties: Record<string, unknown>;
  }): Promise<JourneyInstance | undefined> {
    const now = this.#options.clock.now();
    return this.#transaction(async (tx, work) => {
      const journey = await tx.journeys.find(input.workspaceId, input.journeyId);
      if (journey?.status !== 'published' || journey.currentVersion === null) return undefined;
      const version = await this.#version(tx, journey.id, journey.currentVersion);
      const profile = await tx.profiles.find(input.workspaceId, input.profileId);
      if (!version || !profile) return undefined;
      const entryEvent: EntryEvent = {
        name: 'Manual Enrolment',
        messageId: null,
        timestamp: now,
        properties: input.properties,
      };
      return this.#enter(tx, { journey, version, profile, entryEvent, now, work });
    });
  }

  /**
   * One transaction of entries made outside the log (a segment's current members entering): `fn` gets
   * the transaction and a function entering one profile on a version, under its re-entry rules
   * (undefined when they say no); what the entries queue is written with the rest of `fn`'s writes.
   */
  async entering<T>(
    fn: (
      tx: StorageTx,
      enter: (input: {
        journey: Journey;
        version: JourneyVersion;
        profile: Profile;
        entryEvent: EntryEvent;
        /** Not when the profile entered the journey at or after this moment (checked under its lock). */
        unlessEnteredSince?: number;
      }) => Promise<JourneyInstance | undefined>,
    ) => Promise<T>,
  ): Promise<T> {
    const now = this.#options.clock.now();
    return this.#transaction((tx, work) => fn(tx, (input) => this.#enter(tx, { ...input, now, work })));
  }

  /** Ends every active instance of a journey (it was archived). */
  async exitAll(workspaceId: string, journeyId: string, reason: string): Promise<number> {
    const now = this.#options.clock.now();
    return this.#transaction(async (tx, work) => {
      let count = 0;
      const ids = await tx.journeys.listActiveInstanceIds(journeyId);
      for (const id of ids) {
        const instance = await tx.journeys.lockInstance(id);
        if (instance?.status !== 'active' || instance.workspaceId !== workspaceId) continue;
        await this.#move(tx, instance, { type: 'exit', reason }, now, undefined, work);
        count++;
      }
      return count;
    });
  }

  /** One transaction of engine work: its buffered rows are written before it commits, and announced after. */
  async #transaction<T>(fn: (tx: StorageTx, work: WorkLog) => Promise<T>): Promise<T> {
    const work = new WorkLog();
    const result = await this.#options.storage.transaction(async (tx) => {
      // Instances, messages and traits are what a merge moves: it waits, or this sees it done.
      await tx.profiles.holdOffMerges();
      const value = await fn(tx, work);
      await work.write(tx);
      return value;
    });
    this.#announce(work);
    return result;
  }

  async #handleEvents(tx: StorageTx, events: StoredEvent[]): Promise<WorkLog> {
    await tx.profiles.holdOffMerges();
    const work = new WorkLog();
    const byWorkspace = new Map<string, StoredEvent[]>();
    for (const event of events) {
      const list = byWorkspace.get(event.workspaceId);
      if (list) list.push(event);
      else byWorkspace.set(event.workspaceId, [event]);
    }
    for (const [workspaceId, workspaceEvents] of byWorkspace) {
      const journeys = await tx.journeys.list(workspaceId);
      if (journeys.length === 0) continue;
      await this.#handleWorkspaceEvents(tx, workspaceId, journeys, workspaceEvents, work);
    }
    await work.write(tx);
    // Announced through afterCommit: before the commit, the dispatcher could not see the messages.
    return work;
  }

  async #handleWorkspaceEvents(
    tx: StorageTx,
    workspaceId: string,
    journeys: Journey[],
    events: StoredEvent[],
    work: WorkLog,
  ): Promise<void> {
    const now = this.#options.clock.now();
    const live: Array<{ journey: Journey; version: JourneyVersion }> = [];
    // Published or paused: their instances, ended ones too, may still hold messages back — on every
    // version they were published in (numbered from 1), each keeping its own goal and segment exits.
    // Gathered once a batch, so each event asks a set (and the rare segment-exit journeys), not
    // every version.
    const goalEvents = new Set<string>();
    const exitingOnSegmentExit: JourneyDefinition[] = [];
    for (const journey of journeys) {
      if (journey.status === 'archived' || journey.currentVersion === null) continue;
      for (let number = 1; number <= journey.currentVersion; number++) {
        const version = await this.#version(tx, journey.id, number);
        if (!version) continue;
        const { goal, entry } = version.definition;
        if (goal) goalEvents.add(goal.event);
        if (entry.trigger.type === 'segment' && entry.trigger.exitOnSegmentExit === true)
          exitingOnSegmentExit.push(version.definition);
        if (number === journey.currentVersion && journey.status === 'published')
          live.push({ journey, version });
      }
    }
    const statuses = new Map(journeys.map((journey) => [journey.id, journey.status]));
    const profileIds = await eventProfileIds(tx, workspaceId, events);
    const ids = [...new Set(profileIds.values())];
    const profiles = new Map(
      (await tx.profiles.findProfilesByIds(ids)).map((profile) => [profile.id, profile]),
    );
    const active = new Map<string, JourneyInstance[]>();
    for (const instance of await tx.journeys.listActiveInstances(workspaceId, ids)) {
      const list = active.get(instance.profileId);
      if (list) list.push(instance);
      else active.set(instance.profileId, [instance]);
    }
    for (const [profileId, instances] of active)
      active.set(profileId, await this.#oneInstancePerJourney(tx, instances, now, work));
    const earliest = Math.min(...events.map((event) => event.timestamp));
    const watch = new SplitGoalWatch(await tx.journeys.listGoalWatchedInstances(workspaceId, ids, earliest));
    const versionOf = (instance: JourneyInstance) => this.#version(tx, instance.journeyId, instance.version);
    const identifies = events.filter((event) => event.type === 'identify').map((event) => event.id);
    const changes = identifies.length > 0 ? await tx.profiles.listTraitChanges(identifies) : [];

    // Clients may deliver one flush's calls out of order; within a batch, handle them in the order they happened.
    const ordered = [...events].sort((a, b) => a.timestamp - b.timestamp || a.id - b.id);
    for (const event of ordered) {
      const profileId = profileIds.get(event.id);
      const profile = profileId === undefined ? undefined : profiles.get(profileId);
      if (!profile) continue;
      const current = active.get(profile.id) ?? [];
      await watch.hear(tx, { profile, event, versionOf });
      const moved = await this.#handleWaitsAndGoals(tx, {
        profile,
        event,
        instances: current,
        statuses,
        now,
        work,
      });
      if (moved.length > 0)
        active.set(
          profile.id,
          current.filter((instance) => !moved.includes(instance.id)),
        );
      await this.#skipWhatLeftSegmentsQueued(tx, { profile, event, exitingOnSegmentExit, now });
      await this.#convertEndedInstances(tx, { profile, event, goalEvents, now });
      const eventChanges = changes.filter((change) => change.eventId === event.id);
      for (const { journey, version } of live) {
        if (!isEntryEvent(version.definition, event, profile, eventChanges)) continue;
        const entryEvent = toEntryEvent(event);
        const instance = await this.#enter(tx, {
          journey,
          version,
          profile,
          entryEvent,
          now,
          work,
          entry: event,
          // A journey taking the segment's current members may have entered this contact already for
          // this very membership (its Segment Entered committed late): not twice for one entering.
          ...(currentMembersSegment(version.definition) === undefined
            ? {}
            : { unlessEnteredSince: event.timestamp }),
        });
        if (instance?.status === 'active')
          active.set(profile.id, [...(active.get(profile.id) ?? []), instance]);
      }
      // Those that took a split just now hear the events after this one for their goal.
      for (const instance of work.takeSplitEntrants()) watch.add(instance);
    }
  }

  /**
   * A merge brings the merged-away profile's instances to the survivor, which may be in the same
   * journey already: unless the journey allows concurrent instances, the one that entered later ends
   * (two cart reminders would otherwise go out). Returns the instances still active.
   */
  async #oneInstancePerJourney(
    tx: StorageTx,
    instances: JourneyInstance[],
    now: number,
    work: WorkLog,
  ): Promise<JourneyInstance[]> {
    if (instances.length < 2) return instances;
    const kept: JourneyInstance[] = [];
    for (const instance of [...instances].sort((a, b) => a.enteredAt - b.enteredAt)) {
      const earlier = kept.find((other) => other.journeyId === instance.journeyId);
      const version = earlier ? await this.#version(tx, instance.journeyId, instance.version) : undefined;
      if (!earlier || !version || version.definition.entry.allowConcurrent) {
        kept.push(instance);
        continue;
      }
      const locked = await tx.journeys.lockInstance(instance.id);
      if (locked?.status !== 'active') continue;
      await this.#move(tx, locked, { type: 'exit', reason: MERGED_INTO_INSTANCE }, now, undefined, work);
      // A reminder it holds back for quiet hours or a cap would still go: the second of two.
      await skipHeldBack(tx, locked.workspaceId, [locked.id], MERGED_INTO_INSTANCE, now);
    }
    return kept;
  }

  /** Moves on instances waiting for this event, and converts those whose goal it is. Returns the ids of instances that moved. */
  async #handleWaitsAndGoals(
    tx: StorageTx,
    input: {
      profile: Profile;
      event: StoredEvent;
      instances: JourneyInstance[];
      statuses: Map<string, Journey['status']>;
      now: number;
      work: WorkLog;
    },
  ): Promise<string[]> {
    const { profile, event, instances, statuses, now, work } = input;
    const moved: string[] = [];
    // A client's look-alike of an event Mops writes meets no goal and ends no wait.
    if (!isGenuine(event)) return moved;
    for (const candidate of instances) {
      const version = await this.#version(tx, candidate.journeyId, candidate.version);
      if (!version) continue;
      const definition = version.definition;
      const step = definition.steps.find((s) => s.id === candidate.stepId);
      const scope = scopeOf(profile, event, candidate);
      let trigger: Trigger | undefined;
      // A goal may also be met by an event from before the entry: one made while it was decided.
      const isGoal = meetsGoal(definition, event, candidate, profile);
      if (!happenedSinceEntry(event, candidate) && !isGoal) continue;
      if (leftEntrySegment(definition, event)) {
        trigger = { type: 'exit', reason: LEFT_ENTRY_SEGMENT };
      } else if (isGoal) {
        trigger = { type: 'goal' };
      } else if (
        step?.type === 'wait_for_event' &&
        event.name === step.event &&
        candidate.state.waitingFor?.startsWith('event:') &&
        matchesAll(step.conditions, scope) &&
        matchesEntry(event, candidate, step.matchEntryProperty)
      ) {
        trigger = { type: 'event', token: candidate.state.waitingFor };
      }
      if (!trigger) continue;
      const instance = await tx.journeys.lockInstance(candidate.id);
      if (instance?.status !== 'active') continue;
      if (trigger.type === 'event' && statuses.get(instance.journeyId) === 'paused') {
        await this.#holdWhilePaused(tx, instance, trigger.token, event, now, work);
        continue;
      }
      // Archiving ends instances; one it missed (created as it ran, on another process) ends here.
      if (statuses.get(instance.journeyId) === 'archived') {
        await this.#move(tx, instance, { type: 'exit', reason: 'journey archived' }, now, undefined, work);
        continue;
      }
      const after = await this.#move(tx, instance, trigger, now, event, work, profile);
      // Converted: a message it still holds back for quiet hours, a cap or a pause (the reminder
      // of a cart just ordered) would reach the contact after the goal it was sent to bring about.
      if (trigger.type === 'goal')
        await skipHeldBack(tx, instance.workspaceId, [instance.id], GOAL_REACHED, now);
      if (after.status !== 'active' || after.stepId !== candidate.stepId) moved.push(candidate.id);
    }
    return moved;
  }

  /**
   * A contact leaving the segment a journey entered them on, where that ends its instances
   * (`exitOnSegmentExit`), gets none of the messages they queued that have not gone yet: a cart
   * reminder held back by quiet hours or a cap would otherwise reach them after the order that took
   * them out, although the instance that queued it had already moved on (or ended) when it came.
   * Looked up only when a version of a published journey asks for that (most Segment Exited concern none).
   */
  async #skipWhatLeftSegmentsQueued(
    tx: StorageTx,
    input: {
      profile: Profile;
      event: StoredEvent;
      exitingOnSegmentExit: readonly JourneyDefinition[];
      now: number;
    },
  ): Promise<void> {
    const { profile, event, exitingOnSegmentExit, now } = input;
    if (!isGenuine(event) || !exitingOnSegmentExit.some((definition) => leftEntrySegment(definition, event)))
      return;
    const left: string[] = [];
    for (const instance of await tx.journeys.listInstancesOfProfile(profile.workspaceId, profile.id)) {
      if (!happenedSinceEntry(event, instance)) continue;
      const version = await this.#version(tx, instance.journeyId, instance.version);
      if (version && leftEntrySegment(version.definition, event)) left.push(instance.id);
    }
    await skipHeldBack(tx, profile.workspaceId, left, LEFT_ENTRY_SEGMENT, now);
  }

  /**
   * A contact meeting the goal of a journey whose instance has ended already (a text, then the exit)
   * converted all the same — the report counts it — and gets none of the messages it queued that have
   * not gone yet, as an active instance's would not (see `#handleWaitsAndGoals`): a reminder held back
   * for the night still reaches the contact the morning after the order otherwise. Looked up only for
   * an event that is the goal of a version of a published journey.
   */
  async #convertEndedInstances(
    tx: StorageTx,
    input: { profile: Profile; event: StoredEvent; goalEvents: ReadonlySet<string>; now: number },
  ): Promise<void> {
    const { profile, event, goalEvents, now } = input;
    if (event.name === null || !goalEvents.has(event.name)) return;
    const converted: string[] = [];
    for (const instance of await tx.journeys.listInstancesOfProfile(profile.workspaceId, profile.id)) {
      if (instance.status === 'active') continue;
      const version = await this.#version(tx, instance.journeyId, instance.version);
      if (version && meetsGoal(version.definition, event, instance, profile)) converted.push(instance.id);
    }
    await tx.journeys.markGoalMetAfterEnding(converted, event.timestamp);
    await skipHeldBack(tx, profile.workspaceId, converted, GOAL_REACHED, now);
  }

  /**
   * The event a paused journey's instance waits for arrived: the instance stays where it is, the event
   * is kept, and it moves on when the journey is resumed (a timer for the event replaces its timeout,
   * so the event still wins over a timeout that falls due during the pause).
   */
  async #holdWhilePaused(
    tx: StorageTx,
    instance: JourneyInstance,
    token: string,
    event: StoredEvent,
    now: number,
    work: WorkLog,
  ): Promise<void> {
    await tx.journeys.clearTimers(instance.id);
    await tx.journeys.setTimer({
      workspaceId: instance.workspaceId,
      instanceId: instance.id,
      token,
      dueAt: now,
    });
    await tx.journeys.updateInstance({
      ...instance,
      state: { ...instance.state, lastEvent: toEntryEvent(event) },
      updatedAt: now,
    });
    work.timer(now);
  }

  async #enter(
    tx: StorageTx,
    input: {
      journey: Journey;
      version: JourneyVersion;
      profile: Profile;
      entryEvent: EntryEvent;
      now: number;
      work: WorkLog;
      /** The event entering the contact, when one does. */
      entry?: StoredEvent;
      unlessEnteredSince?: number;
    },
  ): Promise<JourneyInstance | undefined> {
    const { journey, version, profile, entryEvent, now, work } = input;
    const entry = version.definition.entry;
    await tx.journeys.lockProfileEntries(profile.id);
    const last = await tx.journeys.lastEntry(journey.id, profile.id);
    if (last && input.unlessEnteredSince !== undefined && last.enteredAt >= input.unlessEnteredSince)
      return undefined;
    if (last) {
      if (last.hasActive && !entry.allowConcurrent) return undefined;
      if (entry.reentry.policy === 'once') return undefined;
      if (
        entry.reentry.policy === 'once_per_period' &&
        now - last.enteredAt < durationMs(entry.reentry.period)
      )
        return undefined;
    }
    const instance: JourneyInstance = {
      id: newId('ins', now),
      workspaceId: journey.workspaceId,
      journeyId: journey.id,
      version: version.version,
      profileId: profile.id,
      status: 'active',
      stepId: null,
      entryEvent,
      state: {},
      enteredAt: now,
      updatedAt: now,
      endedAt: null,
      endReason: null,
    };
    // Entered on a segment after meeting the goal while the segment was being decided: converted at
    // once, before its first steps send anything.
    const goalEvent = input.entry
      ? await goalMetWhileDecided(tx, {
          definition: version.definition,
          instance,
          profile,
          entry: input.entry,
        })
      : undefined;
    if (goalEvent) return this.#move(tx, instance, { type: 'goal' }, now, goalEvent, work, profile, true);
    return this.#move(tx, instance, { type: 'start' }, now, undefined, work, profile, true);
  }

  /** Advances one (locked) instance and writes everything the move causes. */
  async #move(
    tx: StorageTx,
    instance: JourneyInstance,
    trigger: Trigger,
    now: number,
    event: StoredEvent | undefined,
    work: WorkLog,
    knownProfile?: Profile,
    isNew = false,
  ): Promise<JourneyInstance> {
    const version = await this.#version(tx, instance.journeyId, instance.version);
    if (!version) {
      this.#options.logger.error(
        { instance: instance.id, version: instance.version },
        'journey version missing',
      );
      return instance;
    }
    const profile = knownProfile ?? (await tx.profiles.find(instance.workspaceId, instance.profileId));
    if (!profile) return instance;
    const settings = await this.#settings(tx, instance.workspaceId);
    const engagement = await engagementOf(tx, instance, version.definition);
    const audience = await audienceOf(
      tx,
      { profile, models: settings.scoring.models, now },
      version.definition,
    );
    const { instance: after, effects } = advance(
      instance,
      {
        now,
        journeyId: instance.journeyId,
        definition: version.definition,
        profileId: profile.id,
        timeZone: profileTimeZone(profile.traits, settings.timezone),
        scope: { ...scopeOf(profile, event, instance), engagement, audience },
      },
      trigger,
    );
    if (effects.length === 0 && !isNew) return instance;
    after.updatedAt = now;
    // Conditions on `event` after a later timer look at the event that moved the instance on last.
    if (event && trigger.type === 'event' && after.status === 'active')
      after.state.lastEvent = toEntryEvent(event);
    // A new instance is written once, as it is after its first move (before its messages and timers refer to it).
    if (isNew) await tx.journeys.insertInstance(after);
    await this.#apply(tx, { instance: after, version, profile, effects, now, work, isNew });
    if (!isNew) await tx.journeys.updateInstance(after);
    return after;
  }

  async #apply(
    tx: StorageTx,
    input: {
      instance: JourneyInstance;
      version: JourneyVersion;
      profile: Profile;
      effects: Effect[];
      now: number;
      work: WorkLog;
      isNew: boolean;
    },
  ): Promise<void> {
    const { instance, version, profile, effects, now, work, isNew } = input;
    // A new instance has no timers yet: only those set in this move exist to be cleared.
    let hasTimers = !isNew;
    const transitions: JourneyTransition[] = [];
    const journeyName = version.definition.name;
    for (const effect of effects) {
      switch (effect.type) {
        case 'transition':
          transitions.push({
            workspaceId: instance.workspaceId,
            journeyId: instance.journeyId,
            version: instance.version,
            instanceId: instance.id,
            stepId: effect.stepId,
            kind: effect.kind,
            at: now,
          });
          break;
        case 'clear_waits':
          if (hasTimers) await tx.journeys.clearTimers(instance.id);
          hasTimers = false;
          break;
        case 'timer':
          hasTimers = true;
          await tx.journeys.setTimer({
            workspaceId: instance.workspaceId,
            instanceId: instance.id,
            token: effect.token,
            dueAt: effect.dueAt,
          });
          work.timer(effect.dueAt);
          break;
        case 'wait_for_event':
          // The instance's step and token are the wait: events are matched against active instances.
          break;
        case 'send_email':
        case 'send_sms':
        case 'webhook': {
          const step = effect.step;
          const delivery = deliveryOf(effect);
          work.message(
            newMessage(
              {
                workspaceId: instance.workspaceId,
                profileId: profile.id,
                journeyId: instance.journeyId,
                instanceId: instance.id,
                stepId: step.id,
                ...delivery.fields,
                // One message per step visit: a replayed move cannot queue a second one.
                idempotencyKey: `${instance.id}:${step.id}:${effect.visit}`,
                context: {
                  event: instance.entryEvent,
                  journey: {
                    id: instance.journeyId,
                    name: journeyName,
                    version: instance.version,
                    step: step.id,
                  },
                  // E-mail templates are found through the journey version (frozen at publishing), not copied per message.
                  ...delivery.context,
                },
              },
              now,
            ),
          );
          break;
        }
        case 'update_traits':
          await this.#updateTraits(tx, profile, instance, effect, now);
          break;
        case 'split':
          await tx.journeys.recordSplitEntry({
            workspaceId: instance.workspaceId,
            journeyId: instance.journeyId,
            instanceId: instance.id,
            stepId: effect.stepId,
            arm: effect.arm,
            watchUntil: goalWatchUntil(version.definition, instance.entryEvent.timestamp),
          });
          work.splitEntrant(instance);
          break;
      }
    }
    work.transitions.push(...transitions);
  }

  async #updateTraits(
    tx: StorageTx,
    profile: Profile,
    instance: JourneyInstance,
    step: { stepId: string; set: Record<string, unknown>; visit: number },
    now: number,
  ): Promise<void> {
    // The batch read the profile before identity resolution may have written it: set over its
    // traits as they stand now, or those an identify just set would be lost.
    const current = await tx.profiles.lockForTraits(profile.id);
    if (!current) return;
    Object.assign(profile, current);
    const changes: TraitChange[] = [];
    for (const [trait, value] of Object.entries(renderTraitValues(step.set, profile, instance.entryEvent))) {
      const previous = ownValue<unknown>(profile.traits, trait);
      if (!isDeepStrictEqual(previous, value)) {
        setOwn(profile.traits, trait, value);
        setOwn(profile.traitTimes, trait, now);
        changes.push({
          workspaceId: profile.workspaceId,
          eventId: null,
          profileId: profile.id,
          trait,
          value,
          previous,
          at: now,
        });
      }
    }
    // Setting what the profile already holds writes nothing: identity resolution deciding about the
    // profile meanwhile need not decide again.
    if (changes.length === 0) return;
    profile.updatedAt = now;
    await tx.profiles.updateTraits(profile, changes);
    const event = profileEvent({
      workspaceId: profile.workspaceId,
      identity: (await tx.segments.idsOf([profile.id])).get(profile.id),
      name: TRAITS_UPDATED,
      // Each step's visit its own: two steps of one move setting traits are two changes.
      key: `${instance.id}-${step.stepId}-${step.visit}`,
      properties: {
        traits: Object.fromEntries(changes.map((change) => [change.trait, change.value])),
        journey_id: instance.journeyId,
      },
      at: now,
    });
    if (event) await tx.generatedEvents.append([event]);
  }

  async #version(tx: StorageTx, journeyId: string, version: number): Promise<JourneyVersion | undefined> {
    const key = `${journeyId}:${version}`;
    let found = this.#versions.get(key);
    if (!found) {
      found = await tx.journeys.findVersion(journeyId, version);
      if (found) {
        if (this.#versions.size > 1000) this.#versions.clear();
        this.#versions.set(key, found);
      }
    }
    return found;
  }

  /** Settings change rarely and every move needs the time zone: kept for a few seconds. */
  async #settings(tx: StorageTx, workspaceId: string): Promise<WorkspaceSettings> {
    const cached = this.#settingsCache.get(workspaceId);
    const now = this.#options.clock.now();
    if (cached && cached.until > now) return cached.settings;
    const settings = await tx.settings.get(workspaceId);
    this.#settingsCache.set(workspaceId, { settings, until: now + SETTINGS_TTL_MS });
    return settings;
  }

  #announce(work: WorkLog): void {
    if (work.messages.length > 0) this.#options.onMessagesQueued?.();
    if (work.earliestTimer !== undefined) this.#options.onTimersSet?.(work.earliestTimer);
  }
}

/**
 * What one transaction queued and scheduled, to wake the dispatcher and the scheduler after it; and
 * the rows nothing reads back before the commit (queued messages, report transitions), written
 * together at its end rather than one statement each.
 */
export class WorkLog {
  readonly messages: Message[] = [];
  readonly transitions: JourneyTransition[] = [];
  earliestTimer: number | undefined;
  #splitEntrants: JourneyInstance[] = [];

  message(message: Message): void {
    this.messages.push(message);
  }

  /** An instance that took a split in this transaction, to be watched for its goal from now on. */
  splitEntrant(instance: JourneyInstance): void {
    this.#splitEntrants.push(instance);
  }

  takeSplitEntrants(): JourneyInstance[] {
    const taken = this.#splitEntrants;
    this.#splitEntrants = [];
    return taken;
  }

  timer(dueAt: number): void {
    this.earliestTimer = this.earliestTimer === undefined ? dueAt : Math.min(this.earliestTimer, dueAt);
  }

  /** Writes the buffered rows; called once, just before the transaction commits. */
  async write(tx: StorageTx): Promise<void> {
    await tx.messages.insertMany(this.messages);
    await tx.journeys.addTransitions(this.transitions);
  }
}

function isEntryEvent(
  definition: JourneyDefinition,
  event: StoredEvent,
  profile: Profile,
  changes: TraitChange[],
): boolean {
  const trigger = definition.entry.trigger;
  if (trigger.type === 'event') {
    return (
      (event.type === 'track' || event.type === 'page' || event.type === 'screen') &&
      event.name === trigger.event &&
      isGenuine(event) &&
      matchesAll(trigger.conditions, scopeOf(profile, event, undefined))
    );
  }
  if (trigger.type === 'segment')
    return isMembershipEvent(
      event,
      trigger.on === 'entered' ? SEGMENT_ENTERED : SEGMENT_EXITED,
      trigger.segment,
    );
  if (trigger.type === 'trait_changed') {
    // `eq` holds for a list holding the value, text in another case and a date-only value on any
    // moment of that day: a change that already held it (`[vip]` to `[vip, beta]`, `US` to `us`) is
    // no becoming, and must not enter someone already VIP into a "became VIP" journey.
    return changes.some(
      (change) =>
        change.trait === trigger.trait &&
        (trigger.value === undefined ||
          (compare(change.value, 'eq', trigger.value) && !compare(change.previous, 'eq', trigger.value))),
    );
  }
  return false;
}

/** Mops's Segment Entered or Exited of this segment: a client sending a look-alike moves nobody. */
function isMembershipEvent(event: StoredEvent, name: string, segmentId: string): boolean {
  const properties = event.payload.properties as Record<string, unknown> | undefined;
  return (
    event.origin === 'mops' &&
    event.type === 'track' &&
    event.name === name &&
    properties?.segment_id === segmentId
  );
}

/**
 * Skips, with `reason`, what these instances queued that has not gone yet; a message waiting for a
 * retry after an attempt may have reached its receiver, and goes on.
 */
async function skipHeldBack(
  tx: StorageTx,
  workspaceId: string,
  instanceIds: string[],
  reason: string,
  now: number,
): Promise<void> {
  if (instanceIds.length === 0) return;
  await tx.messages.skipUntried({
    workspaceId,
    instanceIds,
    reason,
    now,
    keepingReasonsStartingWith: [RETRYING_PREFIX],
  });
}

/** Whether the event is the contact leaving the segment an instance entered on, when that ends it. */
function leftEntrySegment(definition: JourneyDefinition, event: StoredEvent): boolean {
  const trigger = definition.entry.trigger;
  return (
    trigger.type === 'segment' &&
    trigger.on === 'entered' &&
    trigger.exitOnSegmentExit === true &&
    isMembershipEvent(event, SEGMENT_EXITED, trigger.segment)
  );
}

/** How much later than queued a message must go out to move the end of the wait after it. */
const HELD_BACK_AT_LEAST_MS = 60_000;

/** A message that has not gone out yet, and still may. */
const UNSENT_STATUSES: ReadonlySet<MessageStatus> = new Set(['queued', 'deferred', 'sending']);

function toEntryEvent(event: StoredEvent): EntryEvent {
  const properties = event.type === 'identify' ? identifyTraits(event.payload) : event.payload.properties;
  return {
    name: event.name ?? (event.type === 'identify' ? 'Identify' : null),
    messageId: event.messageId,
    timestamp: event.timestamp,
    properties:
      properties !== null && typeof properties === 'object' ? (properties as Record<string, unknown>) : {},
  };
}

/** Where the profile stands (segments, scores, stage), when a branch of its journey asks. */
async function audienceOf(
  tx: StorageTx,
  at: { profile: Profile; models: readonly ScoreModel[]; now: number },
  definition: JourneyDefinition,
): Promise<Audience> {
  const { profile, now } = at;
  const profileId = profile.id;
  const sources = new Set(
    definition.steps.flatMap((step) =>
      step.type === 'branch' ? step.branches.flatMap((b) => b.conditions.map((c) => c.source)) : [],
    ),
  );
  if (!sources.has('segment') && !sources.has('score') && !sources.has('lifecycle')) return NO_AUDIENCE;
  const [segments, scores, stages] = await Promise.all([
    sources.has('segment') ? tx.segments.memberships([profileId]) : undefined,
    // Recomputed from the ledger: the stored score is as of the last event, before the decay since.
    sources.has('score') ? readScoresOverTime(tx, { profiles: [profile], models: at.models }) : undefined,
    sources.has('lifecycle') ? tx.scoring.stages([profileId]) : undefined,
  ]);
  const memberOf = segments?.get(profileId) ?? new Set<string>();
  const profileScores = scores?.get(profileId);
  return {
    isInSegment: (segmentId) => memberOf.has(segmentId),
    score: (model) => profileScores?.get(model)?.at(now),
    stage: stages?.get(profileId),
  };
}

/** Whether the instance's earlier messages were opened, clicked or delivered, when a branch of its journey asks. */
async function engagementOf(
  tx: StorageTx,
  instance: JourneyInstance,
  definition: JourneyDefinition,
): Promise<ConditionScope['engagement']> {
  const asks = definition.steps.some(
    (step) =>
      step.type === 'branch' && step.branches.some((b) => b.conditions.some((c) => c.source === 'message')),
  );
  if (!asks) return () => ({ opened: false, clicked: false, delivered: false });
  const messages = await tx.messages.listForInstance(instance.id);
  return (stepId) => {
    const sent = messages.filter((message) => message.stepId === stepId);
    return {
      opened: sent.some((m) => m.openedAt !== null),
      clicked: sent.some((m) => m.clickedAt !== null),
      delivered: sent.some((m) => m.deliveredAt !== null),
    };
  };
}

type SendEffect = Extract<Effect, { type: 'send_email' | 'send_sms' | 'webhook' }>;

/** What a sending step puts on its message: channel, topic, and what the channel needs at send time. */
function deliveryOf(effect: SendEffect): {
  fields: Pick<Message, 'channel' | 'templateId' | 'topic' | 'whenNotAllowed'>;
  context: Pick<Message['context'], 'webhook' | 'sms'>;
} {
  switch (effect.type) {
    case 'send_email':
      return {
        fields: {
          channel: 'email',
          templateId: effect.step.template,
          topic: effect.step.topic,
          whenNotAllowed: effect.step.whenNotAllowed,
        },
        context: {},
      };
    case 'send_sms':
      return {
        fields: {
          channel: 'sms',
          templateId: null,
          topic: effect.step.topic,
          whenNotAllowed: effect.step.whenNotAllowed,
        },
        context: {
          sms: { body: effect.step.body, ...(effect.step.trackLinks === true ? { trackLinks: true } : {}) },
        },
      };
    case 'webhook': {
      const { destination, path, method, body } = effect.step;
      return {
        fields: { channel: 'webhook', templateId: null, topic: null, whenNotAllowed: 'defer' },
        context: { webhook: { destination, path, method, body } },
      };
    }
  }
}
