import { describe, expect, it } from 'vitest';
import { registeredMessages } from '../i18n.js';
import {
  type ApiRule,
  builderFromRule,
  type ConditionNode,
  conditionNode,
  type EventDraft,
  type GroupNode,
  groupNode,
  newCondition,
  ruleFromBuilder,
} from './rule-model.js';
import './messages.js';
import { formatList, formatLiteral, parseList, parseLiteral } from '../app/typed-values.js';
import { addChild, locateField, PROBLEM_KEYS, removeNode, updateNode, validateBuilder } from './rule-tree.js';

/** Every kind of leaf, in the form the API stores (defaults written out). */
const LEAVES: ApiRule[] = [
  { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
  { type: 'trait', path: 'age', op: 'gte', value: 18 },
  { type: 'trait', path: 'vip', op: 'eq', value: true },
  { type: 'trait', path: 'code', op: 'eq', value: '42' },
  { type: 'trait', path: 'country', op: 'in', value: ['IT', 'SM', 7, 'a, b'] },
  { type: 'trait', path: 'email', op: 'exists' },
  { type: 'trait', path: 'address', op: 'eq', value: { city: 'Roma' } },
  { type: 'trait', path: 'note', op: 'eq', value: '[draft]' },
  { type: 'trait', path: 'tags', op: 'contains', value: '{"a":1}' },
  { type: 'trait', path: 'trial_started_at', op: 'within_last', value: '14d' },
  { type: 'trait', path: 'signed_up_at', op: 'lt', value: '2026-01-01' },
  { type: 'account_trait', path: 'industry', op: 'contains', value: 'retail' },
  {
    type: 'event',
    event: 'Order Completed',
    where: [
      { path: 'total', op: 'gte', value: 20 },
      { path: 'currency', op: 'in', value: ['EUR', 'USD'] },
    ],
    within: '30d',
    atLeast: 2,
    atMost: 5,
  },
  { type: 'event', event: 'Signed In', where: [], atLeast: 1 },
  { type: 'event', event: 'Unsubscribed', where: [], within: '7d', atLeast: 0, atMost: 0 },
  { type: 'event_time', event: 'Signed In', which: 'last', op: 'not_within_last', value: '30d' },
  { type: 'event_time', event: 'Signed Up', which: 'first', op: 'before', value: '2026-03-01' },
  { type: 'segment', segment: 'seg_buyers', is: 'not_in' },
  { type: 'subscription', topic: 'marketing', subscribed: false },
  { type: 'subscription', topic: 'marketing', channel: 'sms', subscribed: true },
  { type: 'score', model: 'engagement', min: 50 },
  { type: 'score', model: 'engagement', min: -10.5, max: 80 },
  { type: 'lifecycle', stages: ['mql', 'sql'] },
];

const newEvent = () => newCondition('event') as EventDraft;
const roundTrip = (rule: ApiRule) => ruleFromBuilder(builderFromRule(rule));

describe('the condition builder model', () => {
  it.each(LEAVES.map((leaf) => [JSON.stringify(leaf), leaf] as const))(
    'round-trips %s unchanged inside a group',
    (_, leaf) => {
      expect(roundTrip({ all: [leaf] })).toEqual({ all: [leaf] });
      expect(roundTrip({ any: [{ not: leaf }] })).toEqual({ any: [{ not: leaf }] });
    },
  );

  it('round-trips nested all / any / not groups', () => {
    const rule: ApiRule = {
      all: [
        { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
        {
          any: [
            { type: 'event', event: 'Order Completed', where: [], within: '30d', atLeast: 1 },
            { type: 'event', event: 'Signed In', where: [], atLeast: 1 },
            { not: { all: [{ type: 'lifecycle', stages: ['customer'] }, { any: LEAVES }] } },
          ],
        },
      ],
    };
    expect(roundTrip(rule)).toEqual(rule);
    // Opening what was saved gives the same tree again.
    expect(roundTrip(roundTrip(rule))).toEqual(rule);
  });

  it('puts a lone condition (or a negated group) at the root into a group', () => {
    const leaf: ApiRule = { type: 'segment', segment: 'seg_1', is: 'in' };
    expect(roundTrip(leaf)).toEqual({ all: [leaf] });
    expect(roundTrip({ not: { any: [leaf] } })).toEqual({ all: [{ not: { any: [leaf] } }] });
  });

  it('fills in what the API defaults when reading a rule written by hand', () => {
    expect(
      roundTrip({
        all: [
          { type: 'event', event: 'Signed In' },
          { type: 'segment', segment: 'seg_1' },
          { type: 'subscription', topic: 'news' },
        ],
      }),
    ).toEqual({
      all: [
        { type: 'event', event: 'Signed In', where: [], atLeast: 1 },
        { type: 'segment', segment: 'seg_1', is: 'in' },
        { type: 'subscription', topic: 'news', subscribed: true },
      ],
    });
  });

  it('cancels a double negation', () => {
    const leaf: ApiRule = { type: 'trait', path: 'vip', op: 'eq', value: true };
    expect(roundTrip({ all: [{ not: { not: leaf } }] })).toEqual({ all: [leaf] });
  });

  it('turns "did not perform" into at most 0 times and back', () => {
    const root = groupNode('all', [
      conditionNode({ ...newEvent(), event: 'Order Completed', performed: false, within: '30d' }),
    ]);
    const rule = ruleFromBuilder(root);
    expect(rule).toEqual({
      all: [{ type: 'event', event: 'Order Completed', where: [], within: '30d', atLeast: 0, atMost: 0 }],
    });
    const reopened = builderFromRule(rule).children[0] as ConditionNode;
    expect(reopened.condition).toMatchObject({ performed: false, within: '30d' });
  });

  it('builds the rule a person clicks together', () => {
    let root = groupNode('all', []);
    const plan = conditionNode({ type: 'trait', path: ' plan ', op: 'eq', value: 'pro' });
    const either = groupNode('any', []);
    root = addChild(addChild(root, root.id, plan), root.id, either);
    const ordered = conditionNode({
      ...newEvent(),
      event: 'Order Completed',
      within: '30d',
      atLeast: '1',
    });
    root = addChild(root, either.id, ordered);
    root = addChild(root, either.id, conditionNode({ ...newEvent(), event: 'Signed In' }));
    root = updateNode(root, either.id, (node) => ({ ...node, negated: true }));
    expect(ruleFromBuilder(root)).toEqual({
      all: [
        { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
        {
          not: {
            any: [
              { type: 'event', event: 'Order Completed', where: [], within: '30d', atLeast: 1 },
              { type: 'event', event: 'Signed In', where: [], atLeast: 1 },
            ],
          },
        },
      ],
    });
    root = removeNode(root, ordered.id);
    expect(((root.children[1] as GroupNode).children[0] as ConditionNode).condition).toMatchObject({
      event: 'Signed In',
    });
    expect(removeNode(root, root.id)).toBe(root);
  });
});

describe('typed values', () => {
  it('reads numbers and booleans as such, quotes as text', () => {
    expect(parseLiteral(' 42 ')).toBe(42);
    expect(parseLiteral('-1.5')).toBe(-1.5);
    expect(parseLiteral('true')).toBe(true);
    expect(parseLiteral('"42"')).toBe('42');
    expect(parseLiteral('pro plan')).toBe('pro plan');
    expect(formatLiteral('42')).toBe('"42"');
    expect(formatLiteral('pro')).toBe('pro');
    expect(formatLiteral(' padded')).toBe('" padded"');
  });

  it('reads back null and numbers in exponent form as they were stored', () => {
    for (const value of [null, 1e-7, 2.5e21, -3e-9, 'null', '1e5'])
      expect(parseLiteral(formatLiteral(value))).toEqual(value);
    expect(parseLiteral('1E3')).toBe(1000);
    expect(parseList(formatList([null, 1e-7, 'null']))).toEqual([null, 1e-7, 'null']);
    // Beyond what a number can hold: kept as the text typed rather than sent as null.
    expect(parseLiteral('1e400')).toBe('1e400');
  });

  it('keeps text with leading zeros, such as a postcode, as text', () => {
    expect(parseLiteral('01234')).toBe('01234');
    expect(parseLiteral('-007')).toBe('-007');
    expect(parseLiteral('00.5')).toBe('00.5');
    expect(parseLiteral('0')).toBe(0);
    expect(parseLiteral('0.5')).toBe(0.5);
    expect(parseList('01234, 00100, 20121')).toEqual(['01234', '00100', 20121]);
    const postcode = conditionNode({ type: 'trait', path: 'postcode', op: 'eq', value: '01234' });
    const rule = ruleFromBuilder(groupNode('all', [postcode]));
    expect(rule).toEqual({ all: [{ type: 'trait', path: 'postcode', op: 'eq', value: '01234' }] });
    // And a stored postcode opens as typed, and saves back unchanged.
    const reopened = builderFromRule(rule).children[0] as ConditionNode;
    expect(reopened.condition).toMatchObject({ value: '01234' });
    expect(ruleFromBuilder(builderFromRule(rule))).toEqual(rule);
  });

  it('splits a list on commas outside quotes', () => {
    expect(parseList('IT, SM,, 7, "a, b", "say \\"hi\\""')).toEqual(['IT', 'SM', 7, 'a, b', 'say "hi"']);
    expect(parseList('a [b, c], d')).toEqual(['a [b', 'c]', 'd']);
    const values = ['x', 3, 'a, b', '3', false, 'say "hi"', '[a, b', { city: 'Roma', zip: '00100' }, [1, 2]];
    expect(parseList(formatList(values))).toEqual(values);
  });
});

describe('checking the rule before it is sent', () => {
  const problemsOf = (...conditions: Parameters<typeof conditionNode>[0][]) =>
    validateBuilder(
      groupNode(
        'all',
        conditions.map((condition) => conditionNode(condition)),
      ),
    ).map(({ field, problem }) => [field, problem]);

  it('asks for what every kind of condition needs', () => {
    expect(problemsOf(newCondition('trait'))).toEqual([
      ['path', 'required'],
      ['value', 'required'],
    ]);
    expect(problemsOf({ type: 'trait', path: 'email', op: 'exists', value: '' })).toEqual([]);
    expect(problemsOf({ type: 'account_trait', path: 'country', op: 'in', value: ' , ' })).toEqual([
      ['value', 'list'],
    ]);
    expect(problemsOf({ type: 'trait', path: 'since', op: 'within_last', value: '30 days' })).toEqual([
      ['value', 'duration'],
    ]);
    expect(
      problemsOf(newCondition('segment'), {
        type: 'subscription',
        topic: ' ',
        channel: '',
        subscribed: true,
      }),
    ).toEqual([
      ['segment', 'required'],
      ['topic', 'required'],
    ]);
    expect(problemsOf(newCondition('lifecycle'))).toEqual([['stages', 'required']]);
  });

  it('checks event counts, windows and property filters', () => {
    const event = { ...newEvent(), event: 'Order Completed' } as const;
    expect(problemsOf(event)).toEqual([]);
    expect(
      problemsOf({
        ...event,
        atLeast: '3',
        atMost: '2',
        within: '1 month',
        where: [
          { id: 'f1', path: '', op: 'gte', value: '' },
          { id: 'f2', path: 'sku', op: 'exists', value: '' },
        ],
      }),
    ).toEqual([
      ['atMost', 'atMostBelowAtLeast'],
      ['within', 'duration'],
      ['where.0.path', 'required'],
      ['where.0.value', 'required'],
    ]);
    expect(problemsOf({ ...event, atLeast: '-1', atMost: '1.5' })).toEqual([
      ['atLeast', 'count'],
      ['atMost', 'count'],
    ]);
    // Counts are not asked when it must not have been performed.
    expect(problemsOf({ ...event, performed: false, atLeast: 'x' })).toEqual([]);
    expect(problemsOf({ ...newEvent() })).toEqual([['event', 'required']]);
  });

  it('marks an event filter path that starts with properties., as the server reads it inside them', () => {
    const event = { ...newEvent(), event: 'Order Completed' } as const;
    const filter = (path: string) => ({ id: 'f1', path, op: 'gte', value: '20' }) as const;
    expect(problemsOf({ ...event, where: [filter('properties.total')] })).toEqual([
      ['where.0.path', 'propertiesPath'],
    ]);
    expect(problemsOf({ ...event, where: [filter('total')] })).toEqual([]);
    // A trait may well be named so.
    expect(problemsOf({ type: 'trait', path: 'properties.size', op: 'exists', value: '' })).toEqual([]);
  });

  it('marks the in list that takes the rule past 5,000 values in all', () => {
    const list = (count: number) => Array.from({ length: count }, (_, i) => `p${i}`).join(', ');
    const postcodeIn = (count: number) =>
      ({ type: 'trait', path: 'postcode', op: 'in', value: list(count) }) as const;
    const ordersIn = (count: number): EventDraft => ({
      ...newEvent(),
      event: 'Order Completed',
      where: [
        { id: 'f1', path: 'sku', op: 'exists', value: '' },
        { id: 'f2', path: 'postcode', op: 'in', value: list(count) },
      ],
    });
    expect(problemsOf(postcodeIn(4000), ordersIn(1000))).toEqual([]);
    expect(problemsOf(postcodeIn(4000), ordersIn(1001))).toEqual([['where.1.value', 'tooManyValues']]);
    expect(problemsOf(postcodeIn(5001))).toEqual([['value', 'tooManyValues']]);
    // Counted across groups, in the order the rule shows them.
    const nested = groupNode('all', [
      groupNode('any', [conditionNode(postcodeIn(3000))], true),
      conditionNode(postcodeIn(2001)),
    ]);
    const last = nested.children[1];
    expect(validateBuilder(nested)).toEqual([{ nodeId: last?.id, field: 'value', problem: 'tooManyValues' }]);
  });

  it('checks dates and durations of first / last performed', () => {
    const time = { type: 'event_time', event: 'Signed In', which: 'first' } as const;
    expect(problemsOf({ ...time, op: 'before', value: '2026-02-30x' })).toEqual([['value', 'date']]);
    expect(problemsOf({ ...time, op: 'after', value: '2026-02-01' })).toEqual([]);
    expect(problemsOf({ ...time, op: 'within_last', value: '2026-02-01' })).toEqual([['value', 'duration']]);
  });

  it('checks score ranges', () => {
    const score = { type: 'score', model: 'engagement' } as const;
    expect(problemsOf({ ...score, min: '', max: '' })).toEqual([['min', 'minOrMax']]);
    expect(problemsOf({ ...score, min: 'ten', max: '5' })).toEqual([['min', 'number']]);
    expect(problemsOf({ ...score, min: '10', max: '5' })).toEqual([['max', 'minAboveMax']]);
    expect(problemsOf({ ...score, min: '', max: '5', model: '' })).toEqual([['model', 'required']]);
  });

  it('has a message for every problem, in English and Italian', () => {
    const catalogue = registeredMessages().find(([key]) => key === 'segments')?.[1];
    for (const language of ['en', 'it'] as const) {
      const messages = (catalogue?.[language] as { problem: Record<string, string> } | undefined)?.problem;
      for (const key of PROBLEM_KEYS) expect(messages?.[key], `${language} ${key}`).toBeTruthy();
    }
  });

  it('refuses an empty group', () => {
    const empty = groupNode('any', []);
    expect(validateBuilder(groupNode('all', [empty]))).toEqual([
      { nodeId: empty.id, field: 'children', problem: 'emptyGroup' },
    ]);
  });
});

describe('server errors', () => {
  const rule: ApiRule = {
    all: [
      { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
      {
        not: {
          any: [
            { type: 'event', event: 'Order Completed', where: [{ path: 'total', op: 'gte', value: 1 }] },
            { not: { type: 'lifecycle', stages: ['a', 'b'] } },
          ],
        },
      },
    ],
  };
  const root = builderFromRule(rule);
  const inner = (root.children[1] as GroupNode).children;

  it('lands on the condition and the control the field names', () => {
    expect(locateField(root, 'rule.all.0.path')).toEqual({ nodeId: root.children[0]?.id, field: 'path' });
    expect(locateField(root, 'rule.all.1.not.any.0.atLeast')).toEqual({
      nodeId: inner[0]?.id,
      field: 'atLeast',
    });
    expect(locateField(root, 'rule.all.1.not.any.0.where.0.value')).toEqual({
      nodeId: inner[0]?.id,
      field: 'where.0.value',
    });
    expect(locateField(root, 'rule.all.1.not.any.1.not.stages.1')).toEqual({
      nodeId: inner[1]?.id,
      field: 'stages',
    });
  });

  it('falls back to the nearest node, or nothing when the field is not the rule', () => {
    expect(locateField(root, 'rule.all.7')).toEqual({ nodeId: root.id, field: 'children' });
    expect(locateField(root, 'rule.all.1')).toEqual({ nodeId: root.children[1]?.id, field: '' });
    expect(locateField(root, 'name')).toBeUndefined();
  });
});
