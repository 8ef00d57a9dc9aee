/**
 * Where steps go on the canvas: a step added from the palette lands in view, near the step it most
 * likely follows, clear of the others; steps a grown step now covers make room for it. Pure geometry in the canvas's (flow) coordinates, so the builder
 * passes in what React Flow knows and this module needs no DOM.
 */

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Room kept between steps, so their handles and port labels do not touch. */
export const STEP_GAP = 40;
/** How far from the preferred spot other spots are looked for, in steps each way. */
const SEARCH_STEPS = 20;

/**
 * The spot for a new step of `size`: right below `anchor` (the selected step, or the last one) when
 * that is free and inside `visible`; else the free spot inside `visible` nearest to it; else, when
 * the view has no room left, the first free spot further below the anchor, `isVisible: false`, for
 * the builder to scroll to.
 *
 * ```ts
 * placeNewStep({ size: { width: 240, height: 80 }, nodes, anchor: selected, visible })
 * // → { position: { x: 0, y: 270 }, isVisible: true }
 * ```
 */
export function placeNewStep(options: {
  size: { width: number; height: number };
  nodes: readonly Rect[];
  /**
   * The connections drawn, each as the straight line between its ends: a step dropped on one looks
   * as if it were part of it (entry → new step → exit) while nothing leads to it.
   */
  connections?: readonly Line[];
  anchor: Rect | undefined;
  visible: Rect;
}): { position: { x: number; y: number }; isVisible: boolean } {
  const { size, nodes, anchor, visible } = options;
  const connections = options.connections ?? [];
  const preferred = anchor
    ? { x: anchor.x, y: anchor.y + anchor.height + STEP_GAP }
    : { x: visible.x + STEP_GAP, y: visible.y + STEP_GAP };
  const isFree = (spot: { x: number; y: number }) =>
    !nodes.some((node) => overlaps({ ...spot, ...size }, node, STEP_GAP / 2)) &&
    !connections.some((line) => crosses(line, grown({ ...spot, ...size }, STEP_GAP / 2)));
  const isInView = (spot: { x: number; y: number }) =>
    spot.x >= visible.x &&
    spot.y >= visible.y &&
    spot.x + size.width <= visible.x + visible.width &&
    spot.y + size.height <= visible.y + visible.height;
  const stepX = size.width + STEP_GAP;
  const stepY = size.height + STEP_GAP;
  // A grid through the preferred spot; each of its points also pulled inside the view, so that a
  // view narrower or wider than a whole number of steps is still used to its edges.
  const candidates: Array<{ x: number; y: number }> = [];
  for (let column = -SEARCH_STEPS; column <= SEARCH_STEPS; column++)
    for (let row = -SEARCH_STEPS; row <= SEARCH_STEPS; row++) {
      const spot = { x: preferred.x + column * stepX, y: preferred.y + row * stepY };
      candidates.push(spot, {
        x: clamp(spot.x, visible.x, visible.x + visible.width - size.width),
        y: clamp(spot.y, visible.y, visible.y + visible.height - size.height),
      });
    }
  // A journey reads downwards: a spot above the preferred one counts as twice as far.
  const distance = (spot: { x: number; y: number }) =>
    Math.hypot(spot.x - preferred.x, (spot.y - preferred.y) * (spot.y < preferred.y ? 2 : 1));
  const inView = candidates
    .filter((spot) => isInView(spot) && isFree(spot))
    .sort((a, b) => distance(a) - distance(b))[0];
  if (inView) return { position: inView, isVisible: true };
  let below = preferred;
  while (!isFree(below)) below = { x: below.x, y: below.y + stepY };
  return { position: below, isVisible: false };
}

export interface Line {
  from: { x: number; y: number };
  to: { x: number; y: number };
}

function grown(rect: Rect, by: number): Rect {
  return { x: rect.x - by, y: rect.y - by, width: rect.width + 2 * by, height: rect.height + 2 * by };
}

/** Whether a line passes through a rectangle (Liang–Barsky clipping: some part of it is left inside). */
function crosses(line: Line, rect: Rect): boolean {
  const dx = line.to.x - line.from.x;
  const dy = line.to.y - line.from.y;
  let enter = 0;
  let leave = 1;
  const edges: Array<[number, number]> = [
    [-dx, line.from.x - rect.x],
    [dx, rect.x + rect.width - line.from.x],
    [-dy, line.from.y - rect.y],
    [dy, rect.y + rect.height - line.from.y],
  ];
  for (const [direction, room] of edges) {
    if (direction === 0) {
      if (room < 0) return false;
      continue;
    }
    const at = room / direction;
    if (direction < 0) enter = Math.max(enter, at);
    else leave = Math.min(leave, at);
    if (enter > leave) return false;
  }
  return true;
}

function overlaps(a: Rect, b: Rect, clearance: number): boolean {
  return (
    a.x < b.x + b.width + clearance &&
    b.x < a.x + a.width + clearance &&
    a.y < b.y + b.height + clearance &&
    b.y < a.y + a.height + clearance
  );
}

/** `value` within [min, max]; `min` when the range is empty (a view smaller than the step). */
function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(value, max));
}

/** A step's box on the canvas, by its node's id. */
export interface StepRect extends Rect {
  id: string;
}

/**
 * Where steps go once some have grown since they were placed (drawn taller or wider: a setting filled
 * in, a branch's questions, problems listed), so that none overlaps another. Only the steps a grown
 * one now covers move, and those they then cover in turn: of two overlapping steps the later in
 * reading order (lower, else further right) moves down or right, whichever is shorter, until
 * `STEP_GAP / 2` clears them. Steps nothing grew into stay where they were put, even overlapping.
 *
 * ```ts
 * settleGrownSteps({ steps, grown: new Set(['branch_1']) }) // → Map { 'wait_1' => { x: 0, y: 330 } }
 * ```
 */
export function settleGrownSteps(options: {
  steps: readonly StepRect[];
  grown: ReadonlySet<string>;
}): Map<string, { x: number; y: number }> {
  const clearance = STEP_GAP / 2;
  const boxes = options.steps.map((step) => ({ ...step }));
  const moved = new Map<string, { x: number; y: number }>();
  const queue = boxes.filter((box) => options.grown.has(box.id));
  // Every move is down or right, so this ends; the bound only guards against a mistake here.
  let movesLeft = boxes.length * boxes.length + boxes.length;
  for (let box = queue.shift(); box !== undefined && movesLeft > 0; box = queue.shift()) {
    for (const other of boxes) {
      if (other === box || !overlaps(box, other, 0)) continue;
      const [first, later] = isBefore(box, other) ? [box, other] : [other, box];
      const down = first.y + first.height + clearance - later.y;
      const right =
        later.x >= first.x ? first.x + first.width + clearance - later.x : Number.POSITIVE_INFINITY;
      if (right < down) later.x += right;
      else later.y += down;
      moved.set(later.id, { x: later.x, y: later.y });
      queue.push(later);
      movesLeft--;
    }
  }
  return moved;
}

/** Reading order: higher first, then further left. */
function isBefore(a: Rect, b: Rect): boolean {
  return a.y < b.y || (a.y === b.y && a.x <= b.x);
}
