import dagre from '@dagrejs/dagre';

export interface Box {
  id: string;
  width: number;
  height: number;
}

const GAP_BETWEEN_STEPS = 48;
const GAP_BETWEEN_LAYERS = 72;

/** A connection, from the `port`th output of its source (a branch's first arm is 0, its otherwise last). */
export interface Link {
  source: string;
  target: string;
  port: number;
}

/**
 * Where each step goes when the canvas is tidied: in layers from the entry down, each step below the
 * steps leading to it, the steps of a layer side by side without overlapping, and edges crossing as
 * few times as the layout can manage (dagre's layered layout; a loop back up is laid out as if cut).
 * A step's ways out go left to right in the order of its ports, as the ports sit on it. Top-left
 * corners, in whole pixels, with the first box's (the entry's) at the origin.
 */
export function tidiedPositions(
  boxes: readonly Box[],
  links: readonly Link[],
): Map<string, { x: number; y: number }> {
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: 'TB', nodesep: GAP_BETWEEN_STEPS, ranksep: GAP_BETWEEN_LAYERS });
  graph.setDefaultEdgeLabel(() => ({}));
  // The layout orders each layer first as it meets the steps: met from the entry, port by port.
  const byId = new Map(boxes.map((box) => [box.id, box]));
  const out = new Map<string, Link[]>();
  for (const link of links) out.set(link.source, [...(out.get(link.source) ?? []), link]);
  for (const list of out.values()) list.sort((a, b) => a.port - b.port);
  const met: Box[] = [];
  const meet = (id: string) => {
    const box = byId.get(id);
    if (box && !met.includes(box)) met.push(box);
  };
  for (const box of boxes) {
    meet(box.id);
    // Breadth first from each box not met yet (the entry first): its ways out, port by port.
    for (let index = met.indexOf(box); index < met.length; index++)
      for (const link of out.get(met[index]?.id ?? '') ?? []) meet(link.target);
  }
  for (const box of met) graph.setNode(box.id, { width: box.width, height: box.height });
  let count = 0;
  for (const box of met)
    for (const link of out.get(box.id) ?? [])
      if (byId.has(link.target)) graph.setEdge(link.source, link.target, {}, `link-${count++}`);
  // Each step's ways out left to right as its ports sit; where two reach one step, once.
  const constraints: Array<{ left: string; right: string }> = [];
  for (const list of out.values()) {
    const targets = [...new Set(list.map((link) => link.target))].filter((id) => byId.has(id));
    for (let index = 1; index < targets.length; index++)
      constraints.push({ left: targets[index - 1] as string, right: targets[index] as string });
  }
  dagre.layout(graph, { constraints });
  const corners = new Map<string, { x: number; y: number }>();
  for (const box of boxes) {
    const { x, y } = graph.node(box.id);
    corners.set(box.id, { x: x - box.width / 2, y: y - box.height / 2 });
  }
  // Anchored at the first box (the entry), so a tidied canvas stays where the view was.
  const anchor = boxes[0] ? corners.get(boxes[0].id) : undefined;
  const positions = new Map<string, { x: number; y: number }>();
  for (const [id, corner] of corners)
    positions.set(id, {
      x: Math.round(corner.x - (anchor?.x ?? 0)),
      y: Math.round(corner.y - (anchor?.y ?? 0)),
    });
  return positions;
}
