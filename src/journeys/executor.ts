import { createHash } from 'node:crypto';
import { durationMs } from '../core/duration.js';
import { GOAL_REACHED, HELD_OUT, type InstanceStatus, type JourneyInstance } from '../core/journey.js';
import type { JourneyDefinition, Step } from '../core/journey-definition.js';
import { nextLocalTime } from '../core/local-time.js';
import type { TransitionKind } from '../storage/storage.js';
import { type ConditionScope, matchesAll } from './conditions.js';
import { renderTraitValues } from './trait-updates.js';

/** What moves an instance on. */
export type Trigger =
  | { type: 'start' }
  /** A timer with this token fired (a wait ended, or a wait for an event timed out). */
  | { type: 'timer'; token: string }
  /** The event a wait_for_event step waits for arrived (the engine checked its conditions and key). */
  | { type: 'event'; token: string }
  /** The journey's goal was reached. */
  | { type: 'goal' }
  /** The journey was archived, or the instance removed by hand. */
  | { type: 'exit'; reason: string };

/** What the engine must write for a step; all of it commits in one transaction with the instance. */
export type Effect =
  | { type: 'transition'; stepId: string | null; kind: TransitionKind }
  | { type: 'timer'; token: string; dueAt: number }
  | { type: 'wait_for_event'; stepId: string; event: string }
  /** The instance left a waiting step (or ended): its timers and event waits are void. */
  | { type: 'clear_waits' }
  | { type: 'send_email'; step: Extract<Step, { type: 'send_email' }>; visit: number }
  | { type: 'send_sms'; step: Extract<Step, { type: 'send_sms' }>; visit: number }
  | { type: 'webhook'; step: Extract<Step, { type: 'webhook' }>; visit: number }
  | { type: 'update_traits'; stepId: string; set: Record<string, unknown>; visit: number }
  /** The instance took this arm of a split (`arm` null: held out), which is judged on the journey's goal. */
  | { type: 'split'; stepId: string; arm: string | null };

export interface ExecutionContext {
  now: number;
  journeyId: string;
  definition: JourneyDefinition;
  profileId: string;
  /** The profile's time zone, for wait_until. */
  timeZone: string;
  scope: ConditionScope;
}

/** Steps run without waiting before the engine calls it a loop and stops the instance. */
const MAX_STEPS_PER_ADVANCE = 100;

/**
 * The journey state machine, pure: given an instance and what happened, runs every step that can run
 * now, parks the instance in the next wait (or ends it), and lists the effects to write. A trigger
 * that no longer matches the instance (a stale timer, a wait already left) changes nothing.
 */
export function advance(
  instance: JourneyInstance,
  context: ExecutionContext,
  trigger: Trigger,
): { instance: JourneyInstance; effects: Effect[] } {
  const run = new Run(structuredClone(instance), context);
  run.handle(trigger);
  return { instance: run.instance, effects: run.effects };
}

class Run {
  readonly instance: JourneyInstance;
  readonly effects: Effect[] = [];
  readonly #context: ExecutionContext;
  /** What branches read: the context's, with the traits this move's steps set. */
  #scope: ConditionScope;
  readonly #steps: Map<string, Step>;

  constructor(instance: JourneyInstance, context: ExecutionContext) {
    this.instance = instance;
    this.#context = context;
    this.#scope = context.scope;
    this.#steps = new Map(context.definition.steps.map((step) => [step.id, step]));
  }

  handle(trigger: Trigger): void {
    if (this.instance.status !== 'active') return;
    switch (trigger.type) {
      case 'start':
        this.#runFrom(this.#context.definition.start);
        return;
      case 'timer':
        this.#onTimer(trigger.token);
        return;
      case 'event':
        this.#onEvent(trigger.token);
        return;
      case 'goal':
        this.#end('converted', GOAL_REACHED, 'converted');
        return;
      case 'exit':
        this.#end('exited', trigger.reason, 'exited');
        return;
    }
  }

  #onTimer(token: string): void {
    const waitingFor = this.instance.state.waitingFor;
    const step = this.#current();
    if (!step || !waitingFor) return;
    if (waitingFor === token && (step.type === 'wait' || step.type === 'wait_until')) {
      this.#leave(step);
      this.#runFrom(step.next);
    } else if (step.type === 'wait_for_event' && waitingFor === token.replace(/^timeout:/, 'event:')) {
      this.#leave(step);
      this.#runFrom(step.timeoutNext);
    }
  }

  #onEvent(token: string): void {
    const step = this.#current();
    if (step?.type !== 'wait_for_event' || this.instance.state.waitingFor !== token) return;
    this.#leave(step);
    this.#runFrom(step.next);
  }

  #runFrom(firstStepId: string): void {
    let stepId: string | undefined = firstStepId;
    for (let count = 0; stepId !== undefined; count++) {
      if (count >= MAX_STEPS_PER_ADVANCE) {
        this.#end(
          'exited',
          `more than ${MAX_STEPS_PER_ADVANCE} steps without a wait: the journey loops`,
          'exited',
        );
        return;
      }
      const step = this.#steps.get(stepId);
      if (!step) {
        this.#end('exited', `step ${stepId} does not exist in version ${this.instance.version}`, 'exited');
        return;
      }
      stepId = this.#run(step);
    }
  }

  /** Runs one step; returns the next step's id, or undefined when the instance parked or ended. */
  #run(step: Step): string | undefined {
    const { now } = this.#context;
    const visits = { ...(this.instance.state.visits ?? {}) };
    const visit = (visits[step.id] ?? 0) + 1;
    visits[step.id] = visit;
    this.instance.state.visits = visits;
    this.instance.stepId = step.id;
    this.effects.push({ type: 'transition', stepId: step.id, kind: 'entered' });

    switch (step.type) {
      case 'wait':
        this.instance.state.waitingSince = now;
        return this.#park(`wait:${step.id}:${visit}`, now + durationMs(step.duration));
      case 'wait_until':
        return this.#park(
          `wait:${step.id}:${visit}`,
          nextLocalTime(now, this.#context.timeZone, step.time, step.days),
        );
      case 'wait_for_event': {
        this.instance.state.waitingFor = `event:${step.id}:${visit}`;
        this.instance.state.waitingSince = now;
        this.effects.push({ type: 'wait_for_event', stepId: step.id, event: step.event });
        this.effects.push({
          type: 'timer',
          token: `timeout:${step.id}:${visit}`,
          dueAt: now + durationMs(step.timeout),
        });
        return undefined;
      }
      case 'branch': {
        const taken = step.branches.find((branch) => matchesAll(branch.conditions, this.#scope));
        this.#complete(step);
        return taken ? taken.next : step.otherwise;
      }
      case 'split': {
        const arm = chooseArm(step, `${this.#context.journeyId}:${step.id}:${this.#context.profileId}`);
        this.effects.push({ type: 'split', stepId: step.id, arm: arm?.name ?? null });
        if (arm === undefined) {
          this.#end('exited', HELD_OUT, 'exited');
          return undefined;
        }
        this.instance.state.arms = { ...(this.instance.state.arms ?? {}), [step.id]: arm.name };
        this.#complete(step);
        return arm.next;
      }
      case 'send_email':
      case 'send_sms':
        this.effects.push(
          step.type === 'send_email'
            ? { type: 'send_email', step, visit }
            : { type: 'send_sms', step, visit },
        );
        this.#complete(step);
        return step.next;
      case 'webhook':
        this.effects.push({ type: 'webhook', step, visit });
        this.#complete(step);
        return step.next;
      case 'update_traits':
        this.effects.push({ type: 'update_traits', stepId: step.id, set: step.set, visit });
        // A branch later in this move sees the traits as the step leaves them (a new object: the
        // scope's traits are the profile's, which the engine compares against when it writes).
        this.#scope = {
          ...this.#scope,
          traits: {
            ...this.#scope.traits,
            ...renderTraitValues(
              step.set,
              { id: this.#context.profileId, traits: this.#scope.traits },
              this.#scope.entryEvent,
            ),
          },
        };
        this.#complete(step);
        return step.next;
      case 'exit':
        this.#complete(step);
        this.#end('completed', 'reached an exit step', null);
        return undefined;
    }
  }

  #park(token: string, dueAt: number): undefined {
    this.instance.state.waitingFor = token;
    this.effects.push({ type: 'timer', token, dueAt });
    return undefined;
  }

  #leave(step: Step): void {
    delete this.instance.state.waitingFor;
    delete this.instance.state.waitingSince;
    this.effects.push({ type: 'clear_waits' });
    this.#complete(step);
  }

  #complete(step: Step): void {
    this.effects.push({ type: 'transition', stepId: step.id, kind: 'completed' });
  }

  #end(status: Exclude<InstanceStatus, 'active'>, reason: string, kind: TransitionKind | null): void {
    if (kind) this.effects.push({ type: 'transition', stepId: this.instance.stepId, kind });
    this.effects.push({ type: 'transition', stepId: null, kind: 'finished' });
    this.effects.push({ type: 'clear_waits' });
    delete this.instance.state.waitingFor;
    this.instance.status = status;
    this.instance.endReason = reason;
    this.instance.endedAt = this.#context.now;
    this.instance.stepId = status === 'completed' ? null : this.instance.stepId;
  }

  #current(): Step | undefined {
    return this.instance.stepId === null ? undefined : this.#steps.get(this.instance.stepId);
  }
}

/**
 * The arm for this profile: a hash of journey, step and profile, so the same person always lands in
 * the same arm (and holdout) however often they enter. Undefined means the holdout.
 */
export function chooseArm(step: Extract<Step, { type: 'split' }>, seed: string) {
  const total = step.arms.reduce((sum, arm) => sum + arm.weight, 0) + (step.holdout?.weight ?? 0);
  const point = (createHash('sha256').update(seed).digest().readUInt32BE(0) / 2 ** 32) * total;
  let cumulative = 0;
  for (const arm of step.arms) {
    cumulative += arm.weight;
    if (point < cumulative) return arm;
  }
  return step.holdout ? undefined : step.arms.at(-1);
}
