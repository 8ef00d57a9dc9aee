import type { Edge, Node } from '@xyflow/react';

/**
 * The journey definition (as the API takes it) and the canvas (nodes and edges) are two views of one
 * thing; this module converts between them. Steps are plain objects shaped like the API's steps; a
 * step's `next`-like fields are not kept on the node but drawn as edges, one per output port.
 */

export const STEP_TYPES = [
  'wait',
  'wait_until',
  'wait_for_event',
  'branch',
  'split',
  'send_email',
  'send_sms',
  'update_traits',
  'webhook',
  'exit',
] as const;
export type StepType = (typeof STEP_TYPES)[number];

/** A comparison of a trait, the event being handled, or the entry event's data. */
export interface ValueCondition {
  source: 'trait' | 'event' | 'entry_event';
  path: string;
  op: string;
  value?: unknown;
}

/** What a branch can also ask: segment membership, a score, the lifecycle stage, an earlier e-mail. */
export type Condition =
  | ValueCondition
  | { source: 'segment'; segment: string; op: 'in' | 'not_in' }
  | { source: 'score'; model: string; op: 'gt' | 'gte' | 'lt' | 'lte' | 'eq'; value: number }
  | { source: 'lifecycle'; op: 'in' | 'not_in'; stages: string[] }
  | {
      source: 'message';
      step: string;
      op: 'opened' | 'clicked' | 'not_opened' | 'not_clicked' | 'delivered' | 'not_delivered';
    };

export type ConditionSource = Condition['source'];

/** A new condition of a source, with the defaults a marketer would most often keep. */
export function newCondition(source: ConditionSource): Condition {
  switch (source) {
    case 'segment':
      return { source, segment: '', op: 'in' };
    case 'score':
      return { source, model: '', op: 'gte', value: 0 };
    case 'lifecycle':
      return { source, op: 'in', stages: [] };
    case 'message':
      return { source, step: '', op: 'opened' };
    default:
      return { source, path: '', op: 'eq', value: '' };
  }
}

/** A step without its pointers to the steps after it (those are edges). */
export interface StepBody {
  id: string;
  type: StepType;
  [field: string]: unknown;
}

export type Trigger =
  | { type: 'event'; event: string; conditions: ValueCondition[] }
  | { type: 'trait_changed'; trait: string; value?: unknown }
  | {
      type: 'segment';
      segment: string;
      on: 'entered' | 'exited';
      exitOnSegmentExit?: boolean;
      currentMembers?: boolean;
    }
  | { type: 'manual' };

export interface JourneyDefinition {
  name: string;
  description?: string;
  entry: { trigger: Trigger; reentry: { policy: string; period?: string }; allowConcurrent?: boolean };
  goal?: { event: string; conditions: ValueCondition[]; matchEntryProperty?: string; within?: string };
  start: string;
  steps: Array<StepBody>;
  canvas?: Record<string, { x: number; y: number }>;
}

/** The journey-wide settings the entry node edits. */
export type EntrySettings = Pick<JourneyDefinition, 'name' | 'description' | 'entry' | 'goal'>;

export const ENTRY_NODE = 'entry';
export const START_PORT = 'start';

export type EntryNode = Node<{ settings: EntrySettings }, 'entry'>;
export type StepNode = Node<{ step: StepBody }, 'step'>;
export type JourneyNode = EntryNode | StepNode;

/** The output ports of a step, each named by the field of the definition it fills. */
export function portsOf(step: StepBody): string[] {
  switch (step.type) {
    case 'exit':
      return [];
    case 'wait_for_event':
      return ['next', 'timeoutNext'];
    case 'branch': {
      const branches = (step.branches as unknown[] | undefined) ?? [];
      return [...branches.map((_, index) => `branches.${index}.next`), 'otherwise'];
    }
    case 'split': {
      const arms = (step.arms as unknown[] | undefined) ?? [];
      return arms.map((_, index) => `arms.${index}.next`);
    }
    default:
      return ['next'];
  }
}

/** A new step of a type, with the defaults a marketer would most often keep. */
export function newStep(type: StepType, taken: ReadonlySet<string>): StepBody {
  let n = 1;
  while (taken.has(`${type}_${n}`)) n++;
  const id = `${type}_${n}`;
  switch (type) {
    case 'wait':
      return { id, type, duration: '1d' };
    case 'wait_until':
      return { id, type, time: '09:00' };
    case 'wait_for_event':
      return { id, type, event: '', conditions: [], timeout: '1d' };
    case 'branch':
      return { id, type, branches: [{ conditions: [{ source: 'trait', path: '', op: 'eq', value: '' }] }] };
    case 'split':
      return {
        id,
        type,
        arms: [
          { name: 'a', weight: 50 },
          { name: 'b', weight: 50 },
        ],
      };
    case 'send_email':
      return { id, type, template: '', topic: 'marketing' };
    case 'send_sms':
      return { id, type, body: '', topic: 'marketing' };
    case 'update_traits':
      return { id, type, set: {} };
    case 'webhook':
      return { id, type, destination: '', path: '/', method: 'POST' };
    case 'exit':
      return { id, type };
  }
}

/** Reads and writes a port's field (`branches.0.next`) on a plain step object. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cursor: Record<string, unknown> = target;
  for (const part of parts.slice(0, -1)) cursor = cursor[part] as Record<string, unknown>;
  cursor[parts.at(-1) as string] = value;
}

function getPath(source: unknown, path: string): unknown {
  let cursor = source;
  for (const part of path.split('.')) {
    if (cursor === null || typeof cursor !== 'object') return undefined;
    cursor = (cursor as Record<string, unknown>)[part];
  }
  return cursor;
}

/** The step without its pointers: what a node keeps. */
function bodyOf(step: StepBody): StepBody {
  const body = structuredClone(step);
  for (const port of portsOf(step)) setPath(body, port, undefined);
  for (const port of portsOf(step)) {
    // Drop the emptied keys, not only their values, so nodes compare and serialise cleanly.
    const parts = port.split('.');
    const parent = parts.length === 1 ? body : (getPath(body, parts.slice(0, -1).join('.')) as object);
    delete (parent as Record<string, unknown>)[parts.at(-1) as string];
  }
  return body;
}

const COLUMN = 280;
const ROW = 150;

/**
 * The canvas for a definition: its saved positions where it has them, else a layout by depth (each
 * step one row below the step that leads to it first).
 */
export function graphFromDefinition(definition: JourneyDefinition): { nodes: JourneyNode[]; edges: Edge[] } {
  const depth = new Map<string, number>([[definition.start, 1]]);
  const byId = new Map(definition.steps.map((step) => [step.id, step]));
  const queue = [definition.start];
  while (queue.length > 0) {
    const id = queue.shift() as string;
    const step = byId.get(id);
    if (!step) continue;
    for (const port of portsOf(step)) {
      const target = getPath(step, port);
      if (typeof target === 'string' && !depth.has(target)) {
        depth.set(target, (depth.get(id) ?? 0) + 1);
        queue.push(target);
      }
    }
  }
  const perRow = new Map<number, number>();
  const place = (id: string) => {
    const saved = definition.canvas?.[id];
    if (saved) return saved;
    const row = depth.get(id) ?? 0;
    const column = perRow.get(row) ?? 0;
    perRow.set(row, column + 1);
    return { x: column * COLUMN, y: row * ROW };
  };
  const { name, description, goal } = definition;
  // A draft saved unfinished through the API is kept as sent, without the defaults publishing fills in.
  const entry = { ...definition.entry, reentry: definition.entry.reentry ?? { policy: 'once' } };
  if (entry.trigger.type === 'event')
    entry.trigger = { ...entry.trigger, conditions: entry.trigger.conditions ?? [] };
  const settings: EntrySettings = {
    name,
    entry,
    ...(description !== undefined ? { description } : {}),
    ...(goal ? { goal } : {}),
  };
  const nodes: JourneyNode[] = [
    { id: ENTRY_NODE, type: 'entry', position: place(ENTRY_NODE), data: { settings }, deletable: false },
    ...definition.steps.map(
      (step): StepNode => ({
        id: step.id,
        type: 'step',
        position: place(step.id),
        data: { step: bodyOf(step) },
      }),
    ),
  ];
  const edges: Edge[] = [edgeBetween(ENTRY_NODE, START_PORT, definition.start)];
  for (const step of definition.steps) {
    for (const port of portsOf(step)) {
      const target = getPath(step, port);
      if (typeof target === 'string') edges.push(edgeBetween(step.id, port, target));
    }
  }
  return { nodes, edges };
}

export function edgeBetween(source: string, port: string, target: string): Edge {
  return { id: `${source}:${port}`, source, sourceHandle: port, target };
}

/**
 * The edges once an arm (of a branch's `branches`, or a split's `arms`) is taken away: its own goes,
 * and those of the arms after it move up one.
 */
export function edgesWithoutArm(
  edges: readonly Edge[],
  source: string,
  index: number,
  list: 'branches' | 'arms' = 'branches',
): Edge[] {
  const pattern = new RegExp(`^${list}\\.(\\d+)\\.next$`);
  return edges.flatMap((edge) => {
    const arm = edge.source === source ? pattern.exec(edge.sourceHandle ?? '') : null;
    if (!arm) return [edge];
    const at = Number(arm[1]);
    if (at === index) return [];
    return at < index ? [edge] : [edgeBetween(source, `${list}.${at - 1}.next`, edge.target)];
  });
}

/** The name of the split arm a port leaves by (`arms.1.next` → `b`), when it has one yet. */
export function splitArmName(step: StepBody, port: string): string | undefined {
  const at = /^arms\.(\d+)\.next$/.exec(port);
  if (step.type !== 'split' || !at) return undefined;
  const arm = ((step.arms as Array<{ name?: unknown }> | undefined) ?? [])[Number(at[1])];
  return typeof arm?.name === 'string' && arm.name.trim() ? arm.name : undefined;
}

/** Something a node still lacks before the journey can be published; a draft may be saved without it. */
export interface GraphProblem {
  nodeId: string;
  message: string;
}

/** The settings a step of each type cannot run without (publishing refuses it while one is empty). */
const REQUIRED_SETTINGS: Partial<Record<StepType, readonly string[]>> = {
  wait: ['duration'],
  wait_until: ['time'],
  wait_for_event: ['event', 'timeout'],
  send_email: ['template'],
  send_sms: ['body'],
  webhook: ['destination'],
};

/** What an entry trigger of each type names, which it cannot do without. */
const TRIGGER_SETTING: Partial<Record<Trigger['type'], string>> = {
  event: 'event',
  segment: 'segment',
  trait_changed: 'trait',
};

const isBlank = (value: unknown) => value === undefined || value === null || String(value).trim() === '';

/** Whether a branch's condition has what it asks about (a trait, a segment, a model and points, …). */
function isConditionFilledIn(condition: Condition): boolean {
  switch (condition.source) {
    case 'segment':
      return !isBlank(condition.segment);
    case 'score':
      return !isBlank(condition.model) && Number.isFinite(condition.value);
    case 'lifecycle':
      return (condition.stages ?? []).length > 0;
    case 'message':
      return !isBlank(condition.step);
    default:
      return !isBlank(condition.path);
  }
}

/** The definition a canvas draws, and what keeps it from being complete. */
export function definitionFromGraph(
  nodes: readonly JourneyNode[],
  edges: readonly Edge[],
  messages: {
    notConnected: string;
    /** That no step leads to a step (publishing would keep it, and nobody would ever reach it). */
    unreached: string;
    noStart: string;
    noConditions: string;
    /** A port's name in the reader's language, as the side panel labels it (`yes 1`, `otherwise`, `arm b`). */
    port: (port: string, step: StepBody) => string;
    /** That a setting (`template`, `event`; `condition` for a branch's arm) is not filled in yet. */
    missing: (setting: string) => string;
  },
): { definition: JourneyDefinition; problems: GraphProblem[] } {
  const problems: GraphProblem[] = [];
  const target = (source: string, port: string) =>
    edges.find((edge) => edge.source === source && (edge.sourceHandle ?? START_PORT) === port)?.target;
  const entry = nodes.find((node): node is EntryNode => node.type === 'entry');
  if (!entry) throw new Error('a journey canvas always has its entry node');
  const start = target(ENTRY_NODE, START_PORT);
  if (!start) problems.push({ nodeId: ENTRY_NODE, message: messages.noStart });
  const trigger = entry.data.settings.entry.trigger;
  const triggerSetting = TRIGGER_SETTING[trigger.type];
  if (triggerSetting && isBlank((trigger as Record<string, unknown>)[triggerSetting]))
    problems.push({ nodeId: ENTRY_NODE, message: messages.missing(triggerSetting) });
  const steps: StepBody[] = [];
  const canvas: Record<string, { x: number; y: number }> = {
    [ENTRY_NODE]: roundPosition(entry.position),
  };
  for (const node of nodes) {
    if (node.type !== 'step') continue;
    const step = structuredClone(node.data.step);
    const arms =
      step.type === 'branch' ? ((step.branches as Array<{ conditions?: unknown[] }> | undefined) ?? []) : [];
    for (const setting of REQUIRED_SETTINGS[step.type] ?? [])
      if (isBlank(step[setting])) problems.push({ nodeId: node.id, message: messages.missing(setting) });
    for (const [index, arm] of arms.entries()) {
      const conditions = (arm.conditions ?? []) as Condition[];
      const port = messages.port(`branches.${index}.next`, step);
      if (conditions.length === 0)
        problems.push({ nodeId: node.id, message: `${port} ${messages.noConditions}` });
      else if (!conditions.every(isConditionFilledIn))
        problems.push({ nodeId: node.id, message: `${port}: ${messages.missing('condition')}` });
    }
    for (const port of portsOf(step)) {
      const next = target(node.id, port);
      if (next) setPath(step, port, next);
      else
        problems.push({ nodeId: node.id, message: `${messages.port(port, step)} ${messages.notConnected}` });
    }
    steps.push(step);
    canvas[node.id] = roundPosition(node.position);
  }
  const reached = new Set<string>();
  const toVisit = start ? [start] : [];
  for (let id = toVisit.pop(); id !== undefined; id = toVisit.pop()) {
    if (reached.has(id)) continue;
    reached.add(id);
    for (const edge of edges) if (edge.source === id) toVisit.push(edge.target);
  }
  // Said once the entry leads somewhere: before that, no step is reached and the entry says why.
  if (start)
    for (const step of steps)
      if (!reached.has(step.id)) problems.push({ nodeId: step.id, message: messages.unreached });
  return {
    definition: { ...entry.data.settings, start: start ?? '', steps, canvas },
    problems,
  };
}

function roundPosition(position: { x: number; y: number }) {
  return { x: Math.round(position.x), y: Math.round(position.y) };
}

/**
 * The node a server error is about: `definition.steps.3.template` → the fourth step's node; anything
 * else about the definition → the entry node.
 */
export function nodeOfErrorField(
  field: string | undefined,
  definition: JourneyDefinition,
): string | undefined {
  if (!field) return undefined;
  const match = /^(?:definition\.)?steps\.(\d+)(?:\.|$)/.exec(field);
  if (match) return definition.steps[Number(match[1])]?.id;
  return field.startsWith('definition') || field === 'start' ? ENTRY_NODE : undefined;
}
