import { describe, expect, it } from 'vitest';
import { placeNewStep, type Rect, STEP_GAP, settleGrownSteps } from './placement.js';

const size = { width: 200, height: 60 };
const view: Rect = { x: 0, y: 0, width: 800, height: 600 };
const step = (x: number, y: number): Rect => ({ x, y, ...size });

describe('placeNewStep', () => {
  it('puts the new step right below the anchor when that spot is free and in view', () => {
    const anchor = step(100, 100);
    expect(placeNewStep({ size, nodes: [anchor], anchor, visible: view })).toEqual({
      position: { x: 100, y: 160 + STEP_GAP },
      isVisible: true,
    });
  });

  it('goes to the nearest free spot in view when the one below the anchor is taken', () => {
    const anchor = step(100, 100);
    const below = step(100, 200);
    const placed = placeNewStep({ size, nodes: [anchor, below], anchor, visible: view });
    expect(placed.isVisible).toBe(true);
    expect(overlapsAny(placed.position, [anchor, below])).toBe(false);
    expect(isInside(placed.position, view)).toBe(true);
  });

  it('keeps off a connection drawn below the anchor, where it would look connected', () => {
    // The entry leads to an exit further down: right below the entry lies on that line.
    const entry = step(100, 100);
    const exit = step(100, 480);
    const line = { from: { x: 200, y: 160 }, to: { x: 200, y: 480 } };
    const placed = placeNewStep({
      size,
      nodes: [entry, exit],
      connections: [line],
      anchor: entry,
      visible: view,
    });
    expect(placed.isVisible).toBe(true);
    expect(overlapsAny(placed.position, [entry, exit])).toBe(false);
    const { x } = placed.position;
    expect(x + size.width < 200 || x > 200).toBe(true);
    // Without the line, the spot right below the entry.
    expect(placeNewStep({ size, nodes: [entry, exit], anchor: entry, visible: view }).position).toEqual({
      x: 100,
      y: 160 + STEP_GAP,
    });
  });

  it('stays in view when the anchor sits at the bottom edge of the view', () => {
    const anchor = step(300, 530);
    const placed = placeNewStep({ size, nodes: [anchor], anchor, visible: view });
    expect(placed.isVisible).toBe(true);
    expect(isInside(placed.position, view)).toBe(true);
    expect(overlapsAny(placed.position, [anchor])).toBe(false);
  });

  it('uses the view when the anchor is out of it', () => {
    const anchor = step(2000, 2000);
    const placed = placeNewStep({ size, nodes: [anchor], anchor, visible: view });
    expect(placed.isVisible).toBe(true);
    expect(isInside(placed.position, view)).toBe(true);
  });

  it('starts near the top left of the view with nothing to follow', () => {
    expect(placeNewStep({ size, nodes: [], anchor: undefined, visible: view })).toEqual({
      position: { x: STEP_GAP, y: STEP_GAP },
      isVisible: true,
    });
  });

  it('falls back to the first free spot below the anchor, out of view, when the view is full', () => {
    const anchor = step(0, 0);
    const tiny: Rect = { x: 0, y: 0, width: 220, height: 70 };
    const taken = step(0, 60 + STEP_GAP);
    expect(placeNewStep({ size, nodes: [anchor, taken], anchor, visible: tiny })).toEqual({
      position: { x: 0, y: 2 * (60 + STEP_GAP) },
      isVisible: false,
    });
  });
});

function isInside(position: { x: number; y: number }, visible: Rect): boolean {
  return (
    position.x >= visible.x &&
    position.y >= visible.y &&
    position.x + size.width <= visible.x + visible.width &&
    position.y + size.height <= visible.y + visible.height
  );
}

function overlapsAny(position: { x: number; y: number }, nodes: Rect[]): boolean {
  return nodes.some(
    (node) =>
      position.x < node.x + node.width &&
      node.x < position.x + size.width &&
      position.y < node.y + node.height &&
      node.y < position.y + size.height,
  );
}

describe('steps that grow after they were placed', () => {
  const step = (id: string, x: number, y: number, height = 80, width = 200) => ({ id, x, y, width, height });
  const intersect = (a: Rect, b: Rect) =>
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  const settled = (steps: ReturnType<typeof step>[], grown: string[]) => {
    const moved = settleGrownSteps({ steps, grown: new Set(grown) });
    return steps.map((s) => ({ ...s, ...moved.get(s.id) }));
  };

  it('moves the steps below a grown one down, each pushing the next, and no further than clears them', () => {
    // The branch grew from 80 to 200 high: it now covers the wait under it, which would cover the exit.
    const steps = [step('branch', 0, 0, 200), step('wait', 0, 120), step('exit', 0, 240)];
    const after = settled(steps, ['branch']);
    expect(after.find((s) => s.id === 'wait')).toMatchObject({ x: 0, y: 200 + STEP_GAP / 2 });
    expect(after.find((s) => s.id === 'exit')).toMatchObject({
      x: 0,
      y: 200 + STEP_GAP / 2 + 80 + STEP_GAP / 2,
    });
    for (const a of after) for (const b of after) if (a !== b) expect(intersect(a, b)).toBe(false);
  });

  it('moves a step beside a grown one to the right when that is the shorter way', () => {
    const after = settled([step('email', 0, 0, 80, 240), step('sms', 230, 10)], ['email']);
    expect(after.find((s) => s.id === 'sms')).toMatchObject({ x: 240 + STEP_GAP / 2, y: 10 });
  });

  it('leaves steps nothing grew into where they were put, overlapping or not', () => {
    const steps = [
      step('grown', 0, 0, 200),
      step('below', 0, 150),
      step('far', 600, 0),
      step('a', 0, 900),
      step('b', 50, 920),
    ];
    const moved = settleGrownSteps({ steps, grown: new Set(['grown']) });
    expect([...moved.keys()]).toEqual(['below']);
  });
});
