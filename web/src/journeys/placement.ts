/**
 * Where a step added from the palette lands on the canvas: in view, near the step it most likely
 * follows, clear of the others. Pure geometry in the canvas's (flow) coordinates, so the builder
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
  anchor: Rect | undefined;
  visible: Rect;
}): { position: { x: number; y: number }; isVisible: boolean } {
  const { size, nodes, anchor, visible } = options;
  const preferred = anchor
    ? { x: anchor.x, y: anchor.y + anchor.height + STEP_GAP }
    : { x: visible.x + STEP_GAP, y: visible.y + STEP_GAP };
  const isFree = (spot: { x: number; y: number }) =>
    !nodes.some((node) => overlaps({ ...spot, ...size }, node, STEP_GAP / 2));
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
