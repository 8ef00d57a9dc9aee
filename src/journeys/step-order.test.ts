import { describe, expect, it } from 'vitest';
import type { JourneyDefinition } from '../core/journey-definition.js';
import { stepsInOrder } from './step-order.js';

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
