import { describe, expect, it } from 'vitest';
import { parseDefinition } from './journeys.js';

/** A journey of `steps` entered by hand. */
const journey = (steps: unknown[]) => ({
  name: 'Checked',
  entry: { trigger: { type: 'manual' } },
  start: 'a',
  steps: [...steps, { id: 'end', type: 'exit' }],
});

describe('journey definitions', () => {
  it.each([
    // A wait of nothing leading back to itself would loop for ever, one step at a time.
    [[{ id: 'a', type: 'wait', duration: '0s', next: 'a' }], 'definition.steps.0.duration'],
    [
      [
        {
          id: 'a',
          type: 'wait_for_event',
          event: 'Clicked',
          timeout: '0m',
          next: 'end',
          timeoutNext: 'a',
        },
      ],
      'definition.steps.0.timeout',
    ],
    // Weights adding up past what a number holds sent everyone to the holdout.
    [
      [
        {
          id: 'a',
          type: 'split',
          arms: [
            { name: 'a', weight: 1e308, next: 'end' },
            { name: 'b', weight: 1e308, next: 'end' },
          ],
        },
      ],
      'definition.steps.0.arms.0.weight',
    ],
    // Results are told by arm name: two arms of one name would be one arm in them.
    [
      [
        {
          id: 'a',
          type: 'split',
          arms: [
            { name: 'a', weight: 1, next: 'end' },
            { name: 'a', weight: 1, next: 'end' },
          ],
        },
      ],
      'definition.steps.0.arms.1.name',
    ],
  ])('refuses %j naming %s', (steps, field) => {
    expect(() => parseDefinition(journey(steps))).toThrow(
      expect.objectContaining({ code: 'invalid_input', field }),
    );
  });

  it.each([
    // Dropped in silence, each of these turned a journey into another: a branch on "in" instead of
    // "not_in", a deferral instead of a skip, re-entry once, no goal at all.
    [
      journey([
        {
          id: 'a',
          type: 'branch',
          branches: [
            { conditions: [{ source: 'segment', segment: 'seg_1', operator: 'not_in' }], next: 'end' },
          ],
          otherwise: 'end',
        },
      ]),
      'definition.steps.0.branches.0.conditions.0.operator',
    ],
    [
      journey([{ id: 'a', type: 'send_sms', body: 'Hi', whenNotAlowed: 'skip', next: 'end' }]),
      'definition.steps.0.whenNotAlowed',
    ],
    [
      {
        ...journey([]),
        start: 'end',
        entry: { trigger: { type: 'manual' }, reEntry: { policy: 'every_time' } },
      },
      'definition.entry.reEntry',
    ],
    [{ ...journey([]), start: 'end', gaol: { event: 'Order Completed' } }, 'definition.gaol'],
  ])('refuses a misspelt key rather than dropping it: %#', (definition, field) => {
    expect(() => parseDefinition(definition)).toThrow(
      expect.objectContaining({ code: 'invalid_input', field, message: `${field}: is not a known field` }),
    );
  });

  it('takes waits, timeouts and weights that mean something', () => {
    const parsed = parseDefinition(
      journey([
        { id: 'a', type: 'wait', duration: '1s', next: 'b' },
        {
          id: 'b',
          type: 'split',
          arms: [{ name: 'a', weight: 1_000_000, next: 'end' }],
          holdout: { weight: 0.5 },
        },
      ]),
    );
    expect(parsed.steps).toHaveLength(3);
  });
});
