import dagre from '@dagrejs/dagre';

export interface Box {
  id: string;
  width: number;
  height: number;
}

/** A connection, from the `port`th output of its source (a branch's first arm is 0, its otherwise last). */
export interface Link {
  source: string;
  target: string;
  port: number;
}

const GAP_BETWEEN_STEPS = 48;
const GAP_BETWEEN_LAYERS = 72;
/** Twice a layer's gap, so the steps set aside do not read as the flow's next layer. */
const GAP_ABOVE_UNREACHED = 2 * GAP_BETWEEN_LAYERS;
/** A row of steps set aside takes this many of the widest of them even when the flow is narrower. */
const UNREACHED_PER_ROW = 4;

type Corners = Map<string, { x: number; y: number }>;

/**
 * Where each step goes when the canvas is tidied: in layers from the entry down, each step below the
 * steps leading to it, the steps of a layer side by side without overlapping, and edges crossing as
 * few times as the layout can manage (dagre's layered layout; a loop back up is laid out as if cut).
 * A step's ways out go left to right in the order of its ports, as the ports sit on it. Steps the
 * entry does not reach are set aside below the flow, each group of them joined by connections laid
 * out the same way, the groups in rows no wider than the flow (or four steps, where the flow is
 * narrower): in one row, a dozen loose steps would make the journey too wide to read once in view.
 * Top-left corners, in whole pixels, with the first box's (the entry's) at the origin.
 */
export function tidiedPositions(
  boxes: readonly Box[],
  links: readonly Link[],
): Map<string, { x: number; y: number }> {
  const entry = boxes[0];
  if (!entry) return new Map();
  const reached = reachedFrom(entry.id, links);
  const flow = layered(
    boxes.filter((box) => reached.has(box.id)),
    links,
  );
  const unreached = boxes.filter((box) => !reached.has(box.id));
  const corners = new Map([...flow, ...setAside(unreached, links, extentOf(flow, boxes))]);
  // Anchored at the entry, so a tidied canvas stays where the view was.
  const anchor = corners.get(entry.id) ?? { x: 0, y: 0 };
  const positions = new Map<string, { x: number; y: number }>();
  for (const [id, corner] of corners)
    positions.set(id, { x: Math.round(corner.x - anchor.x), y: Math.round(corner.y - anchor.y) });
  return positions;
}

function reachedFrom(start: string, links: readonly Link[]): Set<string> {
  const reached = new Set([start]);
  for (const id of reached) for (const link of links) if (link.source === id) reached.add(link.target);
  return reached;
}

/** The layered layout of `boxes` and the links among them, as top-left corners. */
function layered(boxes: readonly Box[], allLinks: readonly Link[]): Corners {
  const byId = new Map(boxes.map((box) => [box.id, box]));
  const links = allLinks.filter((link) => byId.has(link.source) && byId.has(link.target));
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: 'TB', nodesep: GAP_BETWEEN_STEPS, ranksep: GAP_BETWEEN_LAYERS });
  graph.setDefaultEdgeLabel(() => ({}));
  // The layout orders each layer first as it meets the steps: met from the first box, port by port.
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
    // Breadth first from each box not met yet (the first box first): its ways out, port by port.
    for (let index = met.indexOf(box); index < met.length; index++)
      for (const link of out.get(met[index]?.id ?? '') ?? []) meet(link.target);
  }
  for (const box of met) graph.setNode(box.id, { width: box.width, height: box.height });
  let count = 0;
  for (const box of met)
    for (const link of out.get(box.id) ?? []) graph.setEdge(link.source, link.target, {}, `link-${count++}`);
  // Each step's ways out left to right as its ports sit; where two reach one step, once.
  const constraints: Array<{ left: string; right: string }> = [];
  for (const list of out.values()) {
    const targets = [...new Set(list.map((link) => link.target))];
    for (let index = 1; index < targets.length; index++)
      constraints.push({ left: targets[index - 1] as string, right: targets[index] as string });
  }
  dagre.layout(graph, { constraints });
  const corners: Corners = new Map();
  for (const box of boxes) {
    const { x, y } = graph.node(box.id);
    corners.set(box.id, { x: x - box.width / 2, y: y - box.height / 2 });
  }
  return corners;
}

interface Extent {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

function extentOf(corners: Corners, boxes: readonly Box[]): Extent {
  const extent = { left: Infinity, top: Infinity, right: -Infinity, bottom: -Infinity };
  for (const box of boxes) {
    const corner = corners.get(box.id);
    if (!corner) continue;
    extent.left = Math.min(extent.left, corner.x);
    extent.top = Math.min(extent.top, corner.y);
    extent.right = Math.max(extent.right, corner.x + box.width);
    extent.bottom = Math.max(extent.bottom, corner.y + box.height);
  }
  return extent;
}

/**
 * The steps the entry does not reach, below the flow: each group of them that connections join laid
 * out as a flow of its own, the groups left to right in rows, a row starting again once it would
 * grow wider than the flow (or four steps); the rows centred under the flow.
 */
function setAside(unreached: readonly Box[], links: readonly Link[], flow: Extent): Corners {
  const groups = groupsOf(unreached, links).map((group) => {
    const corners = layered(group, links);
    const extent = extentOf(corners, group);
    return { corners, extent, width: extent.right - extent.left, height: extent.bottom - extent.top };
  });
  const widest = Math.max(0, ...unreached.map((box) => box.width));
  const rowWidth = Math.max(
    flow.right - flow.left,
    UNREACHED_PER_ROW * widest + (UNREACHED_PER_ROW - 1) * GAP_BETWEEN_STEPS,
  );
  const rows: Array<typeof groups> = [];
  for (const group of groups) {
    const row = rows.at(-1);
    const width = row ? row.reduce((sum, other) => sum + other.width + GAP_BETWEEN_STEPS, 0) : 0;
    if (row && width + group.width <= rowWidth) row.push(group);
    else rows.push([group]);
  }
  const widthOf = (row: typeof groups) =>
    row.reduce((sum, group) => sum + group.width, 0) + (row.length - 1) * GAP_BETWEEN_STEPS;
  const left = (flow.left + flow.right) / 2 - Math.max(0, ...rows.map(widthOf)) / 2;
  const corners: Corners = new Map();
  let top = flow.bottom + GAP_ABOVE_UNREACHED;
  for (const row of rows) {
    let x = left;
    for (const group of row) {
      for (const [id, corner] of group.corners)
        corners.set(id, { x: x + corner.x - group.extent.left, y: top + corner.y - group.extent.top });
      x += group.width + GAP_BETWEEN_STEPS;
    }
    top += Math.max(...row.map((group) => group.height)) + GAP_BETWEEN_STEPS;
  }
  return corners;
}

/** The boxes in groups that connections join (either way), each group in the order of `boxes`. */
function groupsOf(boxes: readonly Box[], links: readonly Link[]): Box[][] {
  const groupOf = new Map(boxes.map((box) => [box.id, [box]]));
  for (const link of links) {
    const one = groupOf.get(link.source);
    const other = groupOf.get(link.target);
    if (!one || !other || one === other) continue;
    one.push(...other);
    for (const box of other) groupOf.set(box.id, one);
  }
  const order = new Map(boxes.map((box, index) => [box.id, index]));
  const groups = [...new Set(groupOf.values())];
  for (const group of groups) group.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  return groups.sort((a, b) => (order.get(a[0]?.id ?? '') ?? 0) - (order.get(b[0]?.id ?? '') ?? 0));
}
