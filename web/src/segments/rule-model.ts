import { VALUE_OPS, type ValueOp } from '../app/comparisons.js';
import { formatList, formatLiteral, parseList, parseLiteral } from '../app/typed-values.js';

/**
 * A segment's rule two ways: as the API takes it (`{ all: [...] }`, `{ not: … }`, leaves by `type`,
 * docs/segments.md) and as the condition builder edits it — a tree of groups and conditions whose
 * fields are the text the person typed, each node with an id for keys and error messages. This module
 * converts between the two; what the API stores opens in the builder and saves back unchanged.
 */

export { VALUE_OPS, type ValueOp };
export const EVENT_TIME_OPS = ['before', 'after', 'within_last', 'not_within_last'] as const;
export type EventTimeOp = (typeof EVENT_TIME_OPS)[number];

export const CONDITION_TYPES = [
  'trait',
  'event',
  'event_time',
  'segment',
  'subscription',
  'score',
  'lifecycle',
  'account_trait',
] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

// ---- The API's rule ----

export interface ApiPropertyFilter {
  path: string;
  op: ValueOp;
  value?: unknown;
}
export type ApiLeaf =
  | { type: 'trait' | 'account_trait'; path: string; op: ValueOp; value?: unknown }
  | {
      type: 'event';
      event: string;
      where?: ApiPropertyFilter[];
      within?: string;
      atLeast?: number;
      atMost?: number;
    }
  | { type: 'event_time'; event: string; which: 'first' | 'last'; op: EventTimeOp; value: string }
  | { type: 'segment'; segment: string; is?: 'in' | 'not_in' }
  | { type: 'subscription'; topic: string; channel?: 'email' | 'sms'; subscribed?: boolean }
  | { type: 'score'; model: string; min?: number; max?: number }
  | { type: 'lifecycle'; stages: string[] };
export type ApiRule = ApiLeaf | { all: ApiRule[] } | { any: ApiRule[] } | { not: ApiRule };

// ---- The builder's tree ----

/** A comparison as typed: `value` is the text of the box (a literal, a list, or a duration). */
export interface FilterDraft {
  id: string;
  path: string;
  op: ValueOp;
  value: string;
}
export type ConditionDraft =
  | { type: 'trait' | 'account_trait'; path: string; op: ValueOp; value: string }
  | {
      type: 'event';
      event: string;
      /** false: did not perform it (at most 0 times); the counts are then not asked. */
      performed: boolean;
      atLeast: string;
      atMost: string;
      /** A rolling window such as `30d`; empty means ever. */
      within: string;
      where: FilterDraft[];
    }
  | { type: 'event_time'; event: string; which: 'first' | 'last'; op: EventTimeOp; value: string }
  | { type: 'segment'; segment: string; is: 'in' | 'not_in' }
  /** `channel` empty: subscribed on every channel. */
  | { type: 'subscription'; topic: string; channel: '' | 'email' | 'sms'; subscribed: boolean }
  | { type: 'score'; model: string; min: string; max: string }
  /** Stage names separated by commas. */
  | { type: 'lifecycle'; stages: string };

export type EventDraft = Extract<ConditionDraft, { type: 'event' }>;

export interface ConditionNode {
  kind: 'condition';
  id: string;
  negated: boolean;
  condition: ConditionDraft;
}
export interface GroupNode {
  kind: 'group';
  id: string;
  negated: boolean;
  /** all = AND, any = OR. */
  match: 'all' | 'any';
  children: BuilderNode[];
}
export type BuilderNode = ConditionNode | GroupNode;

let lastId = 0;
/** Ids only tell nodes apart within one editing session; they never reach the API. */
export const newId = (prefix = 'n') => `${prefix}${++lastId}`;

export function newFilter(): FilterDraft {
  return { id: newId('f'), path: '', op: 'eq', value: '' };
}

/** A fresh condition of a kind, with the defaults a person most often wants. */
export function newCondition(type: ConditionType): ConditionDraft {
  switch (type) {
    case 'trait':
    case 'account_trait':
      return { type, path: '', op: 'eq', value: '' };
    case 'event':
      return { type, event: '', performed: true, atLeast: '1', atMost: '', within: '', where: [] };
    case 'event_time':
      return { type, event: '', which: 'last', op: 'within_last', value: '30d' };
    case 'segment':
      return { type, segment: '', is: 'in' };
    case 'subscription':
      return { type, topic: 'marketing', channel: '', subscribed: true };
    case 'score':
      return { type, model: '', min: '', max: '' };
    case 'lifecycle':
      return { type, stages: '' };
  }
}

export function conditionNode(condition: ConditionDraft, negated = false): ConditionNode {
  return { kind: 'condition', id: newId('c'), negated, condition };
}

export function groupNode(match: 'all' | 'any', children: BuilderNode[], negated = false): GroupNode {
  return { kind: 'group', id: newId('g'), negated, match, children };
}

/** What a new segment starts as: one empty trait condition to fill in. */
export const emptyRoot = (): GroupNode => groupNode('all', [conditionNode(newCondition('trait'))]);

// ---- API → builder ----

const isDateOp = (op: string) => op === 'within_last' || op === 'not_within_last';
const hasNoValue = (op: string) => op === 'exists' || op === 'not_exists';

function valueText(op: ValueOp, value: unknown): string {
  if (hasNoValue(op) || value === undefined) return '';
  if (isDateOp(op) && typeof value === 'string') return value;
  if (op === 'in' && Array.isArray(value)) return formatList(value);
  return formatLiteral(value);
}

function filterDraft(filter: ApiPropertyFilter): FilterDraft {
  return { id: newId('f'), path: filter.path, op: filter.op, value: valueText(filter.op, filter.value) };
}

function leafDraft(leaf: ApiLeaf): ConditionDraft {
  switch (leaf.type) {
    case 'trait':
    case 'account_trait':
      return { type: leaf.type, path: leaf.path, op: leaf.op, value: valueText(leaf.op, leaf.value) };
    case 'event': {
      const atLeast = leaf.atLeast ?? 1;
      const performed = !(atLeast === 0 && leaf.atMost === 0);
      return {
        type: 'event',
        event: leaf.event,
        performed,
        atLeast: performed ? String(atLeast) : '1',
        atMost: performed && leaf.atMost !== undefined ? String(leaf.atMost) : '',
        within: leaf.within ?? '',
        where: (leaf.where ?? []).map(filterDraft),
      };
    }
    case 'event_time':
      return { type: 'event_time', event: leaf.event, which: leaf.which, op: leaf.op, value: leaf.value };
    case 'segment':
      return { type: 'segment', segment: leaf.segment, is: leaf.is ?? 'in' };
    case 'subscription':
      return {
        type: 'subscription',
        topic: leaf.topic,
        channel: leaf.channel ?? '',
        subscribed: leaf.subscribed ?? true,
      };
    case 'score':
      return {
        type: 'score',
        model: leaf.model,
        min: leaf.min === undefined ? '' : String(leaf.min),
        max: leaf.max === undefined ? '' : String(leaf.max),
      };
    case 'lifecycle':
      return { type: 'lifecycle', stages: leaf.stages.join(', ') };
  }
}

function nodeFromRule(rule: ApiRule): BuilderNode {
  if ('not' in rule) {
    const inner = nodeFromRule(rule.not);
    return { ...inner, negated: !inner.negated };
  }
  if ('all' in rule) return groupNode('all', rule.all.map(nodeFromRule));
  if ('any' in rule) return groupNode('any', rule.any.map(nodeFromRule));
  return conditionNode(leafDraft(rule));
}

/** The builder's tree for a stored rule; the root is always a group (a lone condition gets one). */
export function builderFromRule(rule: ApiRule): GroupNode {
  const node = nodeFromRule(rule);
  return node.kind === 'group' && !node.negated ? node : groupNode('all', [node]);
}

// ---- builder → API ----

function valueField(op: ValueOp, text: string): { value?: unknown } {
  if (hasNoValue(op)) return {};
  if (isDateOp(op)) return { value: text.trim() };
  if (op === 'in') return { value: parseList(text) };
  return { value: parseLiteral(text) };
}

const filterToApi = (filter: FilterDraft): ApiPropertyFilter => ({
  path: filter.path.trim(),
  op: filter.op,
  ...valueField(filter.op, filter.value),
});

/** A number box: empty is absent; what is not a number is sent as is, for the server to name. */
function optionalNumber(text: string): number | undefined {
  return text.trim() === '' ? undefined : Number(text.trim());
}

function leafToApi(draft: ConditionDraft): ApiLeaf {
  switch (draft.type) {
    case 'trait':
    case 'account_trait':
      return {
        type: draft.type,
        path: draft.path.trim(),
        op: draft.op,
        ...valueField(draft.op, draft.value),
      };
    case 'event': {
      const atMost = draft.performed ? optionalNumber(draft.atMost) : 0;
      return {
        type: 'event',
        event: draft.event.trim(),
        where: draft.where.map(filterToApi),
        ...(draft.within.trim() ? { within: draft.within.trim() } : {}),
        atLeast: draft.performed ? (optionalNumber(draft.atLeast) ?? 1) : 0,
        ...(atMost === undefined ? {} : { atMost }),
      };
    }
    case 'event_time':
      return { ...draft, event: draft.event.trim(), value: draft.value.trim() };
    case 'segment':
      return { ...draft };
    case 'subscription':
      return {
        type: 'subscription',
        topic: draft.topic.trim(),
        ...(draft.channel ? { channel: draft.channel } : {}),
        subscribed: draft.subscribed,
      };
    case 'score': {
      const min = optionalNumber(draft.min);
      const max = optionalNumber(draft.max);
      return {
        type: 'score',
        model: draft.model.trim(),
        ...(min === undefined ? {} : { min }),
        ...(max === undefined ? {} : { max }),
      };
    }
    case 'lifecycle':
      return { type: 'lifecycle', stages: stagesOf(draft.stages) };
  }
}

export const stagesOf = (text: string) =>
  text
    .split(',')
    .map((stage) => stage.trim())
    .filter((stage) => stage !== '');

/** The rule the API takes, in the form it stores (defaults written out). */
export function ruleFromBuilder(node: BuilderNode): ApiRule {
  const rule: ApiRule =
    node.kind === 'group'
      ? node.match === 'all'
        ? { all: node.children.map(ruleFromBuilder) }
        : { any: node.children.map(ruleFromBuilder) }
      : leafToApi(node.condition);
  return node.negated ? { not: rule } : rule;
}
