import { describe, expect, it } from 'vitest';
import {
  definitionFromGraph,
  ENTRY_NODE,
  edgeBetween,
  edgesWithoutArm,
  graphFromDefinition,
  type JourneyDefinition,
  type JourneyNode,
  newStep,
  nodeOfErrorField,
  portsOf,
  type StepBody,
} from './graph.js';

const MESSAGES = {
  notConnected: 'connects to nothing',
  unreached: 'nothing leads here',
  noStart: 'connect the entry',
  noConditions: 'has no condition',
  port: (port: string) => port.replace(/^branches\.(\d+)\.next$/, (_, index) => `yes ${Number(index) + 1}`),
  missing: (setting: string) => `no ${setting}`,
};

const abandonedCart: JourneyDefinition = {
  name: 'Abandoned cart',
  entry: {
    trigger: { type: 'event', event: 'Product Added', conditions: [] },
    reentry: { policy: 'every_time' },
  },
  goal: { event: 'Order Completed', conditions: [], matchEntryProperty: 'properties.cart_id' },
  start: 'wait_order',
  steps: [
    {
      id: 'wait_order',
      type: 'wait_for_event',
      event: 'Order Completed',
      conditions: [],
      timeout: '1h',
      next: 'done',
      timeoutNext: 'check',
    },
    {
      id: 'check',
      type: 'branch',
      branches: [{ conditions: [{ source: 'trait', path: 'vip', op: 'eq', value: true }], next: 'vip_mail' }],
      otherwise: 'mail',
    },
    { id: 'vip_mail', type: 'send_email', template: 'tpl_vip', topic: 'marketing', next: 'done' },
    { id: 'mail', type: 'send_email', template: 'tpl_cart', topic: 'marketing', next: 'done' },
    { id: 'done', type: 'exit' },
  ],
};

describe('journey canvas ⇄ definition', () => {
  it('draws one node per step plus the entry, and one edge per output port', () => {
    const { nodes, edges } = graphFromDefinition(abandonedCart);
    expect(nodes.map((node) => node.id)).toEqual([
      ENTRY_NODE,
      'wait_order',
      'check',
      'vip_mail',
      'mail',
      'done',
    ]);
    expect(edges.map((edge) => `${edge.source}:${edge.sourceHandle}->${edge.target}`).sort()).toEqual([
      'check:branches.0.next->vip_mail',
      'check:otherwise->mail',
      'entry:start->wait_order',
      'mail:next->done',
      'vip_mail:next->done',
      'wait_order:next->done',
      'wait_order:timeoutNext->check',
    ]);
    // Nodes keep no pointers: the edges are the only truth about what follows what.
    const check = nodes.find((node) => node.id === 'check');
    expect(check?.type === 'step' && check.data.step.otherwise).toBeUndefined();
  });

  it('lays steps out by depth when the definition has no saved positions', () => {
    const { nodes } = graphFromDefinition(abandonedCart);
    const y = (id: string) => nodes.find((node) => node.id === id)?.position.y ?? -1;
    expect(y('wait_order')).toBeLessThan(y('check'));
    expect(y('check')).toBeLessThan(y('mail'));
  });

  it('gives back the same definition, with the positions the canvas had', () => {
    const { nodes, edges } = graphFromDefinition(abandonedCart);
    const moved = nodes.map((node) =>
      node.id === 'mail' ? { ...node, position: { x: 412.4, y: 600.6 } } : node,
    );
    const { definition, problems } = definitionFromGraph(moved, edges, MESSAGES);
    expect(problems).toEqual([]);
    const { canvas, ...rest } = definition;
    expect(rest).toEqual(abandonedCart);
    expect(canvas?.mail).toEqual({ x: 412, y: 601 });
    // Saved positions are used the next time it is drawn.
    const again = graphFromDefinition(definition);
    expect(again.nodes.find((node) => node.id === 'mail')?.position).toEqual({ x: 412, y: 601 });
  });

  it('names every port left unconnected and a missing start, on their nodes', () => {
    const { nodes } = graphFromDefinition(abandonedCart);
    const { definition, problems } = definitionFromGraph(
      nodes,
      [edgeBetween('wait_order', 'next', 'done')],
      MESSAGES,
    );
    expect(definition.start).toBe('');
    expect(problems).toContainEqual({ nodeId: ENTRY_NODE, message: 'connect the entry' });
    expect(problems).toContainEqual({ nodeId: 'wait_order', message: 'timeoutNext connects to nothing' });
    expect(problems).toContainEqual({ nodeId: 'check', message: 'yes 1 connects to nothing' });
    expect(problems.filter((problem) => problem.nodeId === 'done')).toEqual([]);
  });

  it('names a step nothing leads to, once the entry leads somewhere', () => {
    const { nodes, edges } = graphFromDefinition(abandonedCart);
    const intoCheck = (edge: (typeof edges)[number]) => edge.target === 'check';
    // The timeout no longer leads to the branch: it, and the mails only it leads to, are never reached.
    const rewired = [
      ...edges.filter((edge) => !intoCheck(edge)),
      edgeBetween('wait_order', 'timeoutNext', 'done'),
    ];
    const { problems } = definitionFromGraph(nodes, rewired, MESSAGES);
    expect(problems.filter((problem) => problem.message === 'nothing leads here')).toEqual(
      ['check', 'vip_mail', 'mail'].map((nodeId) => ({ nodeId, message: 'nothing leads here' })),
    );
    expect(definitionFromGraph(nodes, edges, MESSAGES).problems).toEqual([]);
  });

  it('names the settings a step or the entry still lacks, and the arm whose condition is not filled in', () => {
    const unfinished = [
      { id: 'send', type: 'send_email', template: '', topic: 'marketing' },
      { id: 'pause', type: 'wait', duration: ' ' },
      {
        id: 'route',
        type: 'branch',
        branches: [
          { conditions: [{ source: 'segment', segment: 'seg_1', op: 'in' }] },
          { conditions: [{ source: 'score', model: 'engagement', op: 'gte', value: Number.NaN }] },
        ],
      },
    ] as StepBody[];
    const { nodes } = graphFromDefinition({
      ...abandonedCart,
      entry: { ...abandonedCart.entry, trigger: { type: 'segment', segment: '', on: 'entered' } },
      steps: [...abandonedCart.steps, ...unfinished],
    });
    const { problems } = definitionFromGraph(nodes, [], MESSAGES);
    expect(problems).toContainEqual({ nodeId: ENTRY_NODE, message: 'no segment' });
    expect(problems).toContainEqual({ nodeId: 'send', message: 'no template' });
    expect(problems).toContainEqual({ nodeId: 'pause', message: 'no duration' });
    expect(problems).toContainEqual({ nodeId: 'route', message: 'yes 2: no condition' });
    expect(problems.filter((problem) => problem.message.includes('no '))).toHaveLength(4);
  });

  it('names an arm of a branch left without conditions, and takes an arm away with its connection', () => {
    const step = {
      id: 'route',
      type: 'branch',
      branches: [
        { conditions: [{ source: 'trait', path: 'plan', op: 'eq', value: 'pro' }] },
        { conditions: [] },
        { conditions: [{ source: 'trait', path: 'plan', op: 'eq', value: 'free' }] },
      ],
    } as unknown as StepBody;
    const nodes = graphFromDefinition({ ...abandonedCart, steps: [...abandonedCart.steps, step] }).nodes;
    const { problems } = definitionFromGraph(nodes, [], MESSAGES);
    expect(problems).toContainEqual({ nodeId: 'route', message: 'yes 2 has no condition' });
    expect(problems.filter((problem) => problem.message.includes('no condition'))).toHaveLength(1);

    const edges = [
      edgeBetween('route', 'branches.0.next', 'a'),
      edgeBetween('route', 'branches.1.next', 'b'),
      edgeBetween('route', 'branches.2.next', 'c'),
      edgeBetween('route', 'otherwise', 'd'),
      edgeBetween('other', 'branches.1.next', 'e'),
    ];
    expect(
      edgesWithoutArm(edges, 'route', 1).map((edge) => [edge.source, edge.sourceHandle, edge.target]),
    ).toEqual([
      ['route', 'branches.0.next', 'a'],
      ['route', 'branches.1.next', 'c'],
      ['route', 'otherwise', 'd'],
      ['other', 'branches.1.next', 'e'],
    ]);
    // A split's arm goes the same way, and a branch's exits of the same numbers stay.
    const splitEdges = [
      edgeBetween('split', 'arms.0.next', 'a'),
      edgeBetween('split', 'arms.1.next', 'b'),
      edgeBetween('route', 'branches.1.next', 'c'),
    ];
    expect(
      edgesWithoutArm(splitEdges, 'split', 0, 'arms').map((edge) => [edge.sourceHandle, edge.target]),
    ).toEqual([
      ['arms.0.next', 'b'],
      ['branches.1.next', 'c'],
    ]);
  });

  it('creates steps with ids not taken yet and the ports their type has', () => {
    const taken = new Set(['send_email_1']);
    const step = newStep('send_email', taken);
    expect(step.id).toBe('send_email_2');
    expect(portsOf(newStep('wait_for_event', taken))).toEqual(['next', 'timeoutNext']);
    expect(portsOf(newStep('split', taken))).toEqual(['arms.0.next', 'arms.1.next']);
    expect(portsOf(newStep('exit', taken))).toEqual([]);
  });

  it('finds the node a server error is about', () => {
    expect(nodeOfErrorField('definition.steps.3.template', abandonedCart)).toBe('mail');
    expect(nodeOfErrorField('definition.entry.trigger.event', abandonedCart)).toBe(ENTRY_NODE);
    expect(nodeOfErrorField('name', abandonedCart)).toBeUndefined();
    expect(nodeOfErrorField(undefined, abandonedCart)).toBeUndefined();
  });

  it('keeps a step edited on its node when the canvas is saved', () => {
    const { nodes, edges } = graphFromDefinition(abandonedCart);
    const edited = nodes.map(
      (node): JourneyNode =>
        node.type === 'step' && node.id === 'mail'
          ? { ...node, data: { step: { ...node.data.step, template: 'tpl_other' } } }
          : node,
    );
    const { definition } = definitionFromGraph(edited, edges, MESSAGES);
    expect(definition.steps.find((step) => step.id === 'mail')).toMatchObject({
      template: 'tpl_other',
      next: 'done',
    });
  });
});
