import { describe, expect, it } from 'vitest';
import type { JourneyInstance } from '../core/journey.js';
import { JourneyDefinition } from '../core/journey-definition.js';
import { type ConditionScope, NO_AUDIENCE } from './conditions.js';
import { advance, chooseArm, type Effect } from './executor.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');

const abandonedCart = JourneyDefinition.parse({
  name: 'Abandoned cart',
  entry: { trigger: { type: 'event', event: 'Cart Updated' } },
  start: 'wait-for-order',
  steps: [
    {
      id: 'wait-for-order',
      type: 'wait_for_event',
      event: 'Order Completed',
      matchEntryProperty: 'properties.cart_id',
      timeout: '1h',
      next: 'done',
      timeoutNext: 'reminder',
    },
    { id: 'reminder', type: 'send_email', template: 'tpl_cart', next: 'wait-a-day' },
    { id: 'wait-a-day', type: 'wait', duration: '1d', next: 'check-opened' },
    {
      id: 'check-opened',
      type: 'branch',
      branches: [{ conditions: [{ source: 'message', step: 'reminder', op: 'opened' }], next: 'done' }],
      otherwise: 'tag',
    },
    { id: 'tag', type: 'update_traits', set: { cart_reminder_ignored: true }, next: 'done' },
    { id: 'done', type: 'exit' },
  ],
});

function instance(overrides: Partial<JourneyInstance> = {}): JourneyInstance {
  return {
    id: 'ins_1',
    workspaceId: 'ws',
    journeyId: 'jrn_1',
    version: 1,
    profileId: 'prf_1',
    status: 'active',
    stepId: null,
    entryEvent: { name: 'Cart Updated', messageId: 'm1', timestamp: NOW, properties: { cart_id: 'c-1' } },
    state: {},
    enteredAt: NOW,
    updatedAt: NOW,
    endedAt: null,
    endReason: null,
    ...overrides,
  };
}

function context(now: number, scope: Partial<ConditionScope> = {}, definition = abandonedCart) {
  return {
    now,
    journeyId: 'jrn_1',
    definition,
    profileId: 'prf_1',
    timeZone: 'Europe/Rome',
    scope: {
      traits: {},
      event: undefined,
      entryEvent: undefined,
      engagement: () => ({ opened: false, clicked: false, delivered: false }),
      audience: NO_AUDIENCE,
      ...scope,
    },
  };
}

const types = (effects: Effect[]) =>
  effects.map((effect) => (effect.type === 'transition' ? `${effect.kind}:${effect.stepId}` : effect.type));

describe('advance', () => {
  it('parks a new instance in the wait for the order, with a timeout timer', () => {
    const { instance: parked, effects } = advance(instance(), context(NOW), { type: 'start' });
    expect(parked.stepId).toBe('wait-for-order');
    expect(parked.state.waitingFor).toBe('event:wait-for-order:1');
    expect(effects).toContainEqual({
      type: 'timer',
      token: 'timeout:wait-for-order:1',
      dueAt: NOW + 3_600_000,
    });
    expect(effects).toContainEqual({
      type: 'wait_for_event',
      stepId: 'wait-for-order',
      event: 'Order Completed',
    });
  });

  it('sends the reminder when the order does not come within the hour, then waits a day', () => {
    const parked = advance(instance(), context(NOW), { type: 'start' }).instance;
    const later = NOW + 3_600_000;
    const { instance: next, effects } = advance(parked, context(later), {
      type: 'timer',
      token: 'timeout:wait-for-order:1',
    });
    expect(types(effects)).toEqual([
      'clear_waits',
      'completed:wait-for-order',
      'entered:reminder',
      'send_email',
      'completed:reminder',
      'entered:wait-a-day',
      'timer',
    ]);
    expect(effects).toContainEqual({ type: 'timer', token: 'wait:wait-a-day:1', dueAt: later + 86_400_000 });
    expect(next.stepId).toBe('wait-a-day');
  });

  it('leaves quietly when the order comes, and ignores the stale timeout afterwards', () => {
    const parked = advance(instance(), context(NOW), { type: 'start' }).instance;
    const ordered = advance(parked, context(NOW + 60_000), {
      type: 'event',
      token: 'event:wait-for-order:1',
    });
    expect(ordered.instance).toMatchObject({ status: 'completed', endReason: 'reached an exit step' });
    expect(types(ordered.effects)).not.toContain('send_email');
    const stale = advance(ordered.instance, context(NOW + 3_600_000), {
      type: 'timer',
      token: 'timeout:wait-for-order:1',
    });
    expect(stale.effects).toEqual([]);
  });

  it('branches on whether the reminder was opened', () => {
    const atDay = advance(
      advance(instance(), context(NOW), { type: 'start' }).instance,
      context(NOW + 3_600_000),
      { type: 'timer', token: 'timeout:wait-for-order:1' },
    ).instance;
    const dayLater = NOW + 3_600_000 + 86_400_000;
    const ignored = advance(atDay, context(dayLater), { type: 'timer', token: 'wait:wait-a-day:1' });
    expect(ignored.effects).toContainEqual({
      type: 'update_traits',
      stepId: 'tag',
      set: { cart_reminder_ignored: true },
      visit: 1,
    });
    const opened = advance(
      atDay,
      context(dayLater, { engagement: () => ({ opened: true, clicked: false, delivered: false }) }),
      {
        type: 'timer',
        token: 'wait:wait-a-day:1',
      },
    );
    expect(types(opened.effects)).not.toContain('update_traits');
    expect(opened.instance.status).toBe('completed');
  });

  it('converts on the goal from wherever the instance waits', () => {
    const parked = advance(instance(), context(NOW), { type: 'start' }).instance;
    const { instance: converted, effects } = advance(parked, context(NOW + 5), { type: 'goal' });
    expect(converted).toMatchObject({ status: 'converted', stepId: 'wait-for-order', endedAt: NOW + 5 });
    expect(types(effects)).toEqual(['converted:wait-for-order', 'finished:null', 'clear_waits']);
  });

  it('waits until the next 09:00 in the profile time zone, on the days given', () => {
    const definition = JourneyDefinition.parse({
      name: 'Morning',
      entry: { trigger: { type: 'manual' } },
      start: 'nine',
      steps: [
        { id: 'nine', type: 'wait_until', time: '09:00', days: ['mon'], next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    // Monday 23 Nov 2026, 10:00 UTC = 11:00 in Rome: the next Monday 09:00 in Rome is 30 Nov, 08:00 UTC.
    const { effects } = advance(instance(), context(NOW, {}, definition), { type: 'start' });
    expect(effects).toContainEqual({
      type: 'timer',
      token: 'wait:nine:1',
      dueAt: Date.parse('2026-11-30T08:00:00Z'),
    });
  });

  it('stops an instance that loops without waiting', () => {
    const definition = JourneyDefinition.parse({
      name: 'Loop',
      entry: { trigger: { type: 'manual' } },
      start: 'a',
      steps: [
        { id: 'a', type: 'update_traits', set: { n: 1 }, next: 'b' },
        { id: 'b', type: 'update_traits', set: { n: 2 }, next: 'a' },
      ],
    });
    const { instance: stopped } = advance(instance(), context(NOW, {}, definition), { type: 'start' });
    expect(stopped.status).toBe('exited');
    expect(stopped.endReason).toMatch(/loops/);
  });
});

describe('chooseArm', () => {
  const split = {
    id: 's',
    type: 'split' as const,
    arms: [
      { name: 'a', weight: 45, next: 'x' },
      { name: 'b', weight: 45, next: 'y' },
    ],
    holdout: { weight: 10 },
  };

  it('gives the same profile the same arm every time, and splits a population by weight', () => {
    expect(chooseArm(split, 'j:s:prf_42')?.name).toBe(chooseArm(split, 'j:s:prf_42')?.name);
    const counts = { a: 0, b: 0, holdout: 0 };
    for (let i = 0; i < 20_000; i++)
      counts[(chooseArm(split, `j:s:prf_${i}`)?.name ?? 'holdout') as keyof typeof counts]++;
    expect(counts.a / 20_000).toBeCloseTo(0.45, 1);
    expect(counts.b / 20_000).toBeCloseTo(0.45, 1);
    expect(counts.holdout / 20_000).toBeCloseTo(0.1, 1);
  });
});

describe('JourneyDefinition', () => {
  it('names the field of a step that points nowhere', () => {
    const result = JourneyDefinition.safeParse({
      name: 'Broken',
      entry: { trigger: { type: 'manual' } },
      start: 'a',
      steps: [{ id: 'a', type: 'wait', duration: '1h', next: 'missing' }],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({
      path: ['steps', 0, 'next'],
      message: 'next names no step: missing',
    });
  });
});

describe('a branch on a trait', () => {
  /** Whether a profile with these traits takes the branch asking the condition (as segment rules compare). */
  const takesBranch = (traits: Record<string, unknown>, condition: Record<string, unknown>) => {
    const definition = JourneyDefinition.parse({
      name: 'Branch on a trait',
      entry: { trigger: { type: 'manual' } },
      start: 'check',
      steps: [
        {
          id: 'check',
          type: 'branch',
          branches: [{ conditions: [{ source: 'trait', ...condition }], next: 'matched' }],
          otherwise: 'done',
        },
        { id: 'matched', type: 'update_traits', set: { matched: true }, next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    const { effects } = advance(instance(), context(NOW, { traits }, definition), { type: 'start' });
    return effects.some((effect) => effect.type === 'update_traits');
  };

  it('takes a list trait as holding a value when one of its elements does', () => {
    const traits = { tags: ['vip', 'beta'] };
    expect(takesBranch(traits, { path: 'tags', op: 'in', value: ['vip', 'gold'] })).toBe(true);
    expect(takesBranch(traits, { path: 'tags', op: 'eq', value: 'vip' })).toBe(true);
    expect(takesBranch(traits, { path: 'tags', op: 'contains', value: 'beta' })).toBe(true);
    expect(takesBranch(traits, { path: 'tags', op: 'neq', value: 'vip' })).toBe(false);
    expect(takesBranch(traits, { path: 'tags', op: 'in', value: ['gold'] })).toBe(false);
  });

  it('takes a date as the instant it names, and a day alone as any moment of that UTC day', () => {
    const traits = { renews_at: '2026-01-05T10:00:00Z' };
    expect(takesBranch(traits, { path: 'renews_at', op: 'eq', value: '2026-01-05T11:00:00+01:00' })).toBe(
      true,
    );
    expect(takesBranch(traits, { path: 'renews_at', op: 'in', value: ['2026-01-05'] })).toBe(true);
    expect(takesBranch(traits, { path: 'renews_at', op: 'eq', value: '2026-01-06' })).toBe(false);
  });

  it('reads a number or a yes/no trait as its text for contains', () => {
    expect(takesBranch({ zip: 12345 }, { path: 'zip', op: 'contains', value: '234' })).toBe(true);
    expect(takesBranch({ trial: true }, { path: 'trial', op: 'contains', value: 'tru' })).toBe(true);
    expect(takesBranch({ zip: 12345 }, { path: 'zip', op: 'contains', value: '9' })).toBe(false);
  });

  it('takes text with a leading zero for a code that equals no number', () => {
    const traits = { zip: '01234' };
    expect(takesBranch(traits, { path: 'zip', op: 'eq', value: 1234 })).toBe(false);
    expect(takesBranch(traits, { path: 'zip', op: 'gt', value: 1000 })).toBe(false);
    expect(takesBranch(traits, { path: 'zip', op: 'eq', value: '01234' })).toBe(true);
  });
});
