import { eventFilterPathProblem } from '../../../src/core/holdable-comparison.js';
import { MAX_IN_LIST_VALUES } from '../../../src/core/in-lists.js';
import { splitList } from '../app/typed-values.js';
import {
  type BuilderNode,
  type ConditionDraft,
  type FilterDraft,
  type GroupNode,
  stagesOf,
  type ValueOp,
} from './rule-model.js';

/**
 * Edits of the builder's tree (each returns a new tree), what is wrong with it before it is sent,
 * and which condition a server error names.
 */

function mapTree(
  node: BuilderNode,
  change: (node: BuilderNode) => BuilderNode | undefined,
): BuilderNode | undefined {
  const changed = change(node);
  if (changed !== node || changed === undefined || changed.kind === 'condition') return changed;
  const children = changed.children
    .map((child) => mapTree(child, change))
    .filter((child): child is BuilderNode => child !== undefined);
  return children.every((child, index) => child === changed.children[index]) &&
    children.length === changed.children.length
    ? changed
    : { ...changed, children };
}

/** The tree with node `id` replaced by what `update` makes of it. */
export function updateNode(
  root: GroupNode,
  id: string,
  update: (node: BuilderNode) => BuilderNode,
): GroupNode {
  return mapTree(root, (node) => (node.id === id ? update(node) : node)) as GroupNode;
}

/** The tree without node `id` (the root itself stays). */
export function removeNode(root: GroupNode, id: string): GroupNode {
  if (root.id === id) return root;
  return mapTree(root, (node) => (node.id === id ? undefined : node)) as GroupNode;
}

export function addChild(root: GroupNode, groupId: string, child: BuilderNode): GroupNode {
  return updateNode(root, groupId, (node) =>
    node.kind === 'group' ? { ...node, children: [...node.children, child] } : node,
  );
}

// ---- Validation ----

export const PROBLEM_KEYS = [
  'required',
  'emptyGroup',
  'count',
  'atMostBelowAtLeast',
  'duration',
  'date',
  'list',
  'number',
  'minOrMax',
  'minAboveMax',
  'propertiesPath',
  'tooManyValues',
] as const;
/** What is wrong, as the key of its message (`segments.problem.<key>`). */
export type ProblemKey = (typeof PROBLEM_KEYS)[number];

/** Something to fix on one control of one node (`field` names the control: `path`, `where.0.value`). */
export interface Problem {
  nodeId: string;
  field: string;
  problem: ProblemKey;
}

const DURATION = /^\d+(\.\d+)?[smhdw]$/;
const COUNT = /^\d+$/;
const NUMBER = /^-?\d+(\.\d+)?$/;

function comparisonProblems(op: ValueOp, value: string): ProblemKey | undefined {
  if (op === 'exists' || op === 'not_exists') return undefined;
  if (op === 'within_last' || op === 'not_within_last')
    return DURATION.test(value.trim()) ? undefined : 'duration';
  if (op === 'in') return splitList(value).length > 0 ? undefined : 'list';
  return value.trim() === '' ? 'required' : undefined;
}

function filterProblems(filter: FilterDraft, index: number): Array<[string, ProblemKey]> {
  const found: Array<[string, ProblemKey]> = [];
  if (!filter.path.trim()) found.push([`where.${index}.path`, 'required']);
  // Read inside the event's properties, as the server reads it (`total`, not `properties.total`).
  else if (eventFilterPathProblem(filter.path.trim())) found.push([`where.${index}.path`, 'propertiesPath']);
  const value = comparisonProblems(filter.op, filter.value);
  if (value) found.push([`where.${index}.value`, value]);
  return found;
}

function conditionProblems(draft: ConditionDraft): Array<[string, ProblemKey]> {
  const found: Array<[string, ProblemKey]> = [];
  switch (draft.type) {
    case 'trait':
    case 'account_trait': {
      if (!draft.path.trim()) found.push(['path', 'required']);
      const value = comparisonProblems(draft.op, draft.value);
      if (value) found.push(['value', value]);
      break;
    }
    case 'event': {
      if (!draft.event.trim()) found.push(['event', 'required']);
      if (draft.performed) {
        const atLeast = draft.atLeast.trim();
        const atMost = draft.atMost.trim();
        if (atLeast !== '' && !COUNT.test(atLeast)) found.push(['atLeast', 'count']);
        if (atMost !== '' && !COUNT.test(atMost)) found.push(['atMost', 'count']);
        else if (atMost !== '' && COUNT.test(atLeast || '1') && Number(atMost) < Number(atLeast || '1'))
          found.push(['atMost', 'atMostBelowAtLeast']);
      }
      if (draft.within.trim() && !DURATION.test(draft.within.trim())) found.push(['within', 'duration']);
      draft.where.forEach((filter, index) => {
        found.push(...filterProblems(filter, index));
      });
      break;
    }
    case 'event_time': {
      if (!draft.event.trim()) found.push(['event', 'required']);
      const value = draft.value.trim();
      if (draft.op === 'before' || draft.op === 'after') {
        if (Number.isNaN(Date.parse(value))) found.push(['value', 'date']);
      } else if (!DURATION.test(value)) found.push(['value', 'duration']);
      break;
    }
    case 'segment':
      if (!draft.segment) found.push(['segment', 'required']);
      break;
    case 'subscription':
      if (!draft.topic.trim()) found.push(['topic', 'required']);
      break;
    case 'score': {
      if (!draft.model.trim()) found.push(['model', 'required']);
      const min = draft.min.trim();
      const max = draft.max.trim();
      if (min === '' && max === '') found.push(['min', 'minOrMax']);
      if (min !== '' && !NUMBER.test(min)) found.push(['min', 'number']);
      if (max !== '' && !NUMBER.test(max)) found.push(['max', 'number']);
      else if (min !== '' && max !== '' && NUMBER.test(min) && Number(max) < Number(min))
        found.push(['max', 'minAboveMax']);
      break;
    }
    case 'lifecycle':
      if (stagesOf(draft.stages).length === 0) found.push(['stages', 'required']);
      break;
  }
  return found;
}

/** Everything to fix before the rule can be previewed or saved; empty when it can. */
export function validateBuilder(root: BuilderNode): Problem[] {
  const tooMany = inListPastLimit(root);
  return [...nodeProblems(root), ...(tooMany ? [tooMany] : [])];
}

function nodeProblems(node: BuilderNode): Problem[] {
  if (node.kind === 'group') {
    if (node.children.length === 0) return [{ nodeId: node.id, field: 'children', problem: 'emptyGroup' }];
    return node.children.flatMap(nodeProblems);
  }
  return conditionProblems(node.condition).map(([field, problem]) => ({ nodeId: node.id, field, problem }));
}

/**
 * The `in` list, in the order the rule shows them, whose values take the rule's lists past the
 * server's limit in all (MAX_IN_LIST_VALUES): marked there, as the one that went over.
 */
function inListPastLimit(root: BuilderNode): Problem | undefined {
  let values = 0;
  const pending: BuilderNode[] = [root];
  for (let node = pending.shift(); node !== undefined; node = pending.shift()) {
    if (node.kind === 'group') {
      pending.unshift(...node.children);
      continue;
    }
    for (const [field, comparison] of comparisonsOf(node.condition)) {
      if (comparison.op !== 'in') continue;
      values += splitList(comparison.value).length;
      if (values > MAX_IN_LIST_VALUES) return { nodeId: node.id, field, problem: 'tooManyValues' };
    }
  }
  return undefined;
}

/** A condition's value boxes with their comparison, by field (`value`, `where.1.value`). */
function comparisonsOf(draft: ConditionDraft): Array<[string, { op: ValueOp; value: string }]> {
  if (draft.type === 'trait' || draft.type === 'account_trait') return [['value', draft]];
  if (draft.type === 'event')
    return draft.where.map((filter, index) => [`where.${index}.value`, filter] as [string, FilterDraft]);
  return [];
}

// ---- Server errors ----

/**
 * The node (and its control) a server error names by the dotted field of the request it blamed:
 * `rule.all.1.atLeast` → the second condition's "at least". Undefined when it names no node.
 */
export function locateField(
  root: GroupNode,
  field: string,
  prefix = 'rule',
): { nodeId: string; field: string } | undefined {
  const parts = field.split('.');
  if (parts[0] !== prefix) return undefined;
  let node: BuilderNode = root;
  let index = 1;
  for (;;) {
    if (node.negated) {
      if (parts[index] !== 'not') return { nodeId: node.id, field: '' };
      index++;
    }
    if (node.kind === 'condition') break;
    if (parts[index] !== node.match) return { nodeId: node.id, field: 'children' };
    const child: BuilderNode | undefined = node.children[Number(parts[index + 1])];
    if (!child) return { nodeId: node.id, field: 'children' };
    node = child;
    index += 2;
  }
  const rest = parts.slice(index);
  // A stage list is one box, whichever stage the server named.
  const control = rest[0] === 'stages' ? 'stages' : rest.join('.');
  return { nodeId: node.id, field: control };
}
