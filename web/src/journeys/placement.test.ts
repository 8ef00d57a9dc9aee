import { describe, expect, it } from 'vitest';
import { placeNewStep, type Rect, STEP_GAP } from './placement.js';

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
