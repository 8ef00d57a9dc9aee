import { describe, expect, it } from 'vitest';
import type { JourneyDefinition } from '../core/journey-definition.js';
import { loopWithoutWait, stepsInOrder } from './step-order.js';

type Steps = Pick<JourneyDefinition, 'start' | 'steps'>;

describe('stepsInOrder', () => {
  it('puts a step after every step leading to it, not where breadth-first first meets it', () => {
    const abandonedCart = {
      start: 'wait_order',
      steps: [
        {
          id: 'wait_order',
          type: 'wait_for_event',
          event: 'Order Completed',
          next: 'done',
          timeoutNext: 'reminder',
        },
        { id: 'reminder', type: 'send_email', template: 'tpl', next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    } as unknown as Steps;
    expect(stepsInOrder(abandonedCart)).toEqual(['wait_order', 'reminder', 'done']);
  });

  it('leaves a loop back out of the order, and steps nothing reaches out of the list', () => {
    const nudges = {
      start: 'nudge',
      steps: [
        { id: 'stray', type: 'exit' },
        { id: 'nudge', type: 'send_email', template: 'tpl', next: 'wait' },
        { id: 'wait', type: 'wait_for_event', event: 'Clicked', next: 'done', timeoutNext: 'nudge' },
        { id: 'done', type: 'exit' },
      ],
    } as unknown as Steps;
    expect(stepsInOrder(nudges)).toEqual(['nudge', 'wait', 'done']);
    expect(stepsInOrder({ start: '', steps: [] })).toEqual([]);
  });
});

describe('loopWithoutWait', () => {
  const tagged = (id: string, next: string) => ({ id, type: 'update_traits', set: {}, next });

  it('finds steps leading back to one another with no wait among them', () => {
    const steps = [
      { id: 'mail', type: 'send_email', template: 'tpl', next: 'vip' },
      { id: 'vip', type: 'branch', branches: [{ conditions: [], next: 'done' }], otherwise: 'tag' },
      tagged('tag', 'mail'),
      { id: 'done', type: 'exit' },
    ];
    expect(loopWithoutWait({ steps } as unknown as Steps)).toEqual(['mail', 'vip', 'tag', 'mail']);
    expect(loopWithoutWait({ steps: [tagged('self', 'self')] } as unknown as Steps)).toEqual([
      'self',
      'self',
    ]);
  });

  it('lets a loop through any kind of wait be', () => {
    for (const wait of [
      { id: 'pause', type: 'wait', duration: '1d', next: 'mail' },
      { id: 'pause', type: 'wait_until', time: '09:00', next: 'mail' },
      { id: 'pause', type: 'wait_for_event', event: 'Clicked', next: 'done', timeoutNext: 'mail' },
    ]) {
      const steps = [
        { id: 'mail', type: 'send_email', template: 'tpl', next: 'pause' },
        wait,
        { id: 'done', type: 'exit' },
      ];
      expect(loopWithoutWait({ steps } as unknown as Steps)).toBeUndefined();
    }
  });
});
