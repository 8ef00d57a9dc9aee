import { describe, expect, it } from 'vitest';
import { parseDefinition } from '../journeys/journeys.js';
import { describeIssue, firstDroppedKey } from './input-issues.js';
import { SegmentRule } from './segment-definition.js';

/** The field and message a 400 would carry for a journey branching on `condition`. */
function branchRefusal(condition: unknown): { field: string; message: string } {
  try {
    parseDefinition(
      {
        name: 'Branching',
        entry: { trigger: { type: 'manual' } },
        start: 'branch',
        steps: [
          {
            id: 'branch',
            type: 'branch',
            branches: [{ conditions: [condition], next: 'end' }],
            otherwise: 'end',
          },
          { id: 'end', type: 'exit' },
        ],
      },
      'draft',
    );
  } catch (error) {
    const { field, message } = error as { field: string; message: string };
    return { field, message };
  }
  throw new Error('accepted');
}

describe('input issues', () => {
  it('names the field of the branch of a union that was meant, not the first one tried', () => {
    const at = 'draft.steps.0.branches.0.conditions.0';
    expect(branchRefusal({ source: 'score', model: 'engagement', op: 'gte' }).field).toBe(`${at}.value`);
    expect(branchRefusal({ source: 'segment', segment: 's', op: 'eq' }).field).toBe(`${at}.op`);
    expect(branchRefusal({ source: 'lifecycle', op: 'in', stage: 'mql' }).field).toBe(`${at}.stages`);
    expect(branchRefusal({ source: 'segmnt', segment: 's' })).toMatchObject({
      field: `${at}.source`,
      message: expect.stringContaining("'segment'"),
    });
  });

  it('goes into nested rules, and names a misspelt key', () => {
    const describe = (rule: unknown) => {
      const parsed = SegmentRule.safeParse(rule);
      return parsed.success ? undefined : describeIssue(parsed.error.issues[0], ['rule']);
    };
    expect(describe({ all: [{ type: 'trait', path: 'a', op: 'equals' }] })?.field).toBe('rule.all.0.op');
    expect(describe({ not: { any: [{ type: 'evnt' }] } })?.field).toBe('rule.not.any.0.type');
    expect(describe({ type: 'event', event: 'x', window: '30d', atleast: 3 })).toEqual({
      field: 'rule.window',
      message: 'is not a known field (nor is atleast)',
      detail: { code: 'unknown_field' },
    });
    // Two mistakes inside an `all` (or `any`) are still mistakes inside it, not a leaf without a type.
    const twoMistakes = [
      { type: 'trait', path: 'country', op: 'eq' },
      { not: { type: 'subscription', topic: 'marketing', subscribed: 'no' } },
    ];
    expect(describe({ all: twoMistakes })?.field).toBe('rule.all.1.not.subscribed');
    expect(describe({ any: [twoMistakes[0]] })?.field).toBe('rule.any.0.value');
    expect(describe({ not: { any: twoMistakes } })?.field).toBe('rule.not.any.1.not.subscribed');
    // A required key misspelt is named as such, not as a missing `all`.
    expect(describe({ type: 'trait', path: 'country', operator: 'eq', value: 'IT' })).toEqual({
      field: 'rule.operator',
      message: 'is not a known field',
      detail: { code: 'unknown_field' },
    });
    expect(describe({ any: [{ type: 'event', name: 'Order Completed' }] })?.field).toBe('rule.any.0.name');
    expect(describe({ type: 'score', modle: 'fit', min: 1 })?.field).toBe('rule.modle');
    // Every operator a trait takes is named, dates relative to now among them.
    expect(describe({ type: 'trait', path: 'a' })).toMatchObject({
      field: 'rule.op',
      message: expect.stringContaining('"not_within_last"'),
    });
    // What a standard check found comes along, for a client to word: the leaf meant, not the union.
    expect(describe({ type: 'event', event: 'x', atLeast: 2_000_000 })?.detail).toEqual({
      code: 'too_big',
      origin: 'number',
      limit: 1_000_000,
      inclusive: true,
    });
    expect(describe({ all: [{ type: 'trait', op: 'eq', value: 1 }] })?.detail).toEqual({ code: 'required' });
    // A leaf with a type no condition has is named at its type.
    expect(describe({ type: 'trial', path: 'a', op: 'eq', value: 1 })?.field).toBe('rule.type');
  });
});

describe('firstDroppedKey', () => {
  it('finds a key parsing left out, however deep, but not one passed over or left undefined', () => {
    const input = { a: { b: [{ c: 1, typo: 2 }] }, shown: true, gone: undefined };
    expect(firstDroppedKey(input, { a: { b: [{ c: 1 }] } }, new Set(['shown']))).toEqual([
      'a',
      'b',
      0,
      'typo',
    ]);
    expect(firstDroppedKey({ a: 1, shown: true }, { a: 1 }, new Set(['shown']))).toBeUndefined();
    expect(firstDroppedKey({ a: [1, 2] }, { a: [1, 2], added: 'default' })).toBeUndefined();
  });
});
