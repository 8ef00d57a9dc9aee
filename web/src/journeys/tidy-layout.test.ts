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

  describe('with steps the entry does not reach', () => {
    const loose = Array.from({ length: 12 }, (_, index) => box(`loose_${index + 1}`));
    // A group of their own: draft → review, and a stray link from it into the flow.
    const group = [box('draft'), box('review', 160, 60)];
    const all = [...boxes, ...loose.slice(0, 6), ...group, ...loose.slice(6)];
    const links = [
      ...edges,
      { source: 'draft', target: 'review', port: 0 },
      { source: 'review', target: 'exit', port: 0 },
    ];
    const tidied = tidiedPositions(all, links);
    const rectOf = (id: string) => {
      const position = tidied.get(id) as { x: number; y: number };
      const { width, height } = all.find((candidate) => candidate.id === id) as Box;
      return { ...position, width, height };
    };
    const flow = boxes.map((one) => rectOf(one.id));
    const flowLeft = Math.min(...flow.map((one) => one.x));
    const flowRight = Math.max(...flow.map((one) => one.x + one.width));
    const flowBottom = Math.max(...flow.map((one) => one.y + one.height));
    const setAside = [...loose, ...group].map((one) => rectOf(one.id));

    it('lays the flow out as it would be without them', () => {
      expect(new Map(boxes.map((one) => [one.id, tidied.get(one.id)]))).toEqual(laidOut);
    });

    it('sets them aside below the flow, in rows no wider than the flow or four steps', () => {
      for (const one of setAside) expect(one.y).toBeGreaterThan(flowBottom);
      const bound = Math.max(flowRight - flowLeft, 4 * 220 + 3 * 48);
      const left = Math.min(...setAside.map((one) => one.x));
      const right = Math.max(...setAside.map((one) => one.x + one.width));
      expect(right - left).toBeLessThanOrEqual(bound);
      // Fourteen steps in four rows: the group takes a step's room.
      expect(new Set(loose.map((one) => rectOf(one.id).y)).size).toBe(4);
      // Rows read left to right, top to bottom, in the order the steps were given.
      const ordered = [...loose].sort((a, b) => {
        const one = rectOf(a.id);
        const other = rectOf(b.id);
        return one.y - other.y || one.x - other.x;
      });
      expect(ordered.map((one) => one.id)).toEqual(loose.map((one) => one.id));
    });

    it('keeps a group joined by connections laid out as one, each step below the one leading to it', () => {
      const draft = rectOf('draft');
      expect(rectOf('review').y).toBeGreaterThan(draft.y + draft.height);
    });

    it('lets no two steps overlap, in whole pixels', () => {
      const rects = all.map((one) => ({ id: one.id, ...rectOf(one.id) }));
      for (const [index, one] of rects.entries())
        for (const other of rects.slice(index + 1)) {
          const isApart =
            one.x + one.width <= other.x ||
            other.x + other.width <= one.x ||
            one.y + one.height <= other.y ||
            other.y + other.height <= one.y;
          expect(isApart, `${one.id} and ${other.id}`).toBe(true);
        }
      for (const position of tidied.values()) {
        expect(Number.isInteger(position.x)).toBe(true);
        expect(Number.isInteger(position.y)).toBe(true);
      }
    });
  });

  it('lets a row of steps set aside be as wide as a wide flow', () => {
    // entry → a branch of six ways: wider than four steps.
    const ways = Array.from({ length: 6 }, (_, index) => box(`way_${index + 1}`));
    const loose = Array.from({ length: 12 }, (_, index) => box(`loose_${index + 1}`));
    const tidied = tidiedPositions(
      [box('entry'), box('branch'), ...ways, ...loose],
      [
        { source: 'entry', target: 'branch', port: 0 },
        ...ways.map((way, port) => ({ source: 'branch', target: way.id, port })),
      ],
    );
    const wayXs = ways.map((way) => tidied.get(way.id)?.x ?? Number.NaN);
    const flowWidth = Math.max(...wayXs) + 220 - Math.min(...wayXs);
    const looseXs = loose.map((one) => tidied.get(one.id)?.x ?? Number.NaN);
    expect(Math.max(...looseXs) + 220 - Math.min(...looseXs)).toBeLessThanOrEqual(flowWidth);
    expect(new Set(loose.map((one) => tidied.get(one.id)?.y)).size).toBe(2);
  });
});
