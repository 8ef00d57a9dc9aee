import { describe, expect, it } from 'vitest';
import { type Box, tidiedPositions } from './tidy-layout.js';

const box = (id: string, width = 220, height = 90): Box => ({ id, width, height });

describe('tidying the canvas', () => {
  // entry → wait → branch → (email | sms) → exit, and a loop from sms back to wait.
  const boxes = [
    box('entry', 240, 70),
    box('wait'),
    box('branch', 260, 120),
    box('email'),
    box('sms'),
    box('exit', 160, 60),
  ];
  // Listed in no particular order: a branch's ways out are placed by their ports, not by this.
  const edges = [
    { source: 'sms', target: 'exit', port: 0 },
    { source: 'branch', target: 'sms', port: 1 },
    { source: 'entry', target: 'wait', port: 0 },
    { source: 'wait', target: 'branch', port: 0 },
    { source: 'branch', target: 'email', port: 0 },
    { source: 'email', target: 'exit', port: 0 },
    { source: 'sms', target: 'wait', port: 1 },
  ];
  const laidOut = tidiedPositions(boxes, edges);
  const rect = (id: string) => {
    const position = laidOut.get(id) as { x: number; y: number };
    const { width, height } = boxes.find((candidate) => candidate.id === id) as Box;
    return { ...position, width, height };
  };

  it('puts each step below the steps leading to it, the entry at the origin', () => {
    expect(laidOut.get('entry')).toEqual({ x: 0, y: 0 });
    for (const edge of edges.filter(
      (candidate) => candidate.target !== 'wait' || candidate.source === 'entry',
    )) {
      const from = rect(edge.source);
      expect(rect(edge.target).y, `${edge.source} → ${edge.target}`).toBeGreaterThan(from.y + from.height);
    }
    // The branch's two ways side by side, in one layer, in the order of its ports.
    expect(rect('email').y).toBe(rect('sms').y);
    expect(rect('email').x).toBeLessThan(rect('sms').x);
  });

  it('lets no two steps overlap, in whole pixels', () => {
    for (const [index, a] of boxes.entries())
      for (const b of boxes.slice(index + 1)) {
        const one = rect(a.id);
        const other = rect(b.id);
        const isApart =
          one.x + one.width <= other.x ||
          other.x + other.width <= one.x ||
          one.y + one.height <= other.y ||
          other.y + other.height <= one.y;
        expect(isApart, `${a.id} and ${b.id}`).toBe(true);
      }
    for (const position of laidOut.values()) {
      expect(Number.isInteger(position.x)).toBe(true);
      expect(Number.isInteger(position.y)).toBe(true);
    }
  });
});
