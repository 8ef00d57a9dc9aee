import { describe, expect, it } from 'vitest';
import {
  bestConverting,
  bucketLabeller,
  chartRows,
  conversionRows,
  funnelRows,
  isAllZero,
  type JourneyStats,
} from './series.js';

const journey = (name: string, entered: number, converted: number, heldOut = 0): JourneyStats => ({
  id: `jrn_${name}`,
  name,
  status: 'published',
  entered,
  active: 0,
  converted,
  heldOut,
  hasGoal: true,
  conversionRate: entered - heldOut === 0 ? null : converted / (entered - heldOut),
  steps: [],
});

describe('chartRows', () => {
  it('labels each bucket for its axis and keeps its counts', () => {
    const rows = chartRows(
      {
        from: '2026-03-02T10:00:00.000Z',
        to: '2026-03-02T11:00:00.000Z',
        bucket: 'minute',
        bucketMs: 60_000,
        totals: { sent: 3 },
        buckets: [
          { start: '2026-03-02T10:00:00.000Z', sent: 1 },
          { start: '2026-03-02T10:01:00.000Z', sent: 2 },
        ],
      },
      'en-GB',
    );
    const time = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' });
    expect(rows).toEqual([
      {
        start: '2026-03-02T10:00:00.000Z',
        sent: 1,
        label: time.format(new Date('2026-03-02T10:00:00.000Z')),
      },
      {
        start: '2026-03-02T10:01:00.000Z',
        sent: 2,
        label: time.format(new Date('2026-03-02T10:01:00.000Z')),
      },
    ]);
  });

  it('names days by their date, and hours over several days with their day', () => {
    const at = '2026-03-02T12:00:00.000Z';
    expect(bucketLabeller('it', 'day', 30 * 86_400_000)(at)).toBe(
      new Intl.DateTimeFormat('it', { day: 'numeric', month: 'short' }).format(new Date(at)),
    );
    expect(bucketLabeller('en', 'hour', 7 * 86_400_000)(at)).toContain(
      new Intl.DateTimeFormat('en', { weekday: 'short' }).format(new Date(at)),
    );
  });
});

it('tells an empty range by its totals', () => {
  expect(isAllZero({ received: 0, generated: 0, rejected: 0 })).toBe(true);
  expect(isAllZero({ received: 0, generated: 0, rejected: 1 })).toBe(false);
});

describe('funnelRows', () => {
  it('gives each step its share of those who entered the first', () => {
    const rows = funnelRows([
      { id: 'wait', type: 'wait', entered: 4, completed: 4 },
      { id: 'send', type: 'send_email', entered: 3, completed: 1 },
    ]);
    expect(rows.map((row) => row.share)).toEqual([1, 0.75]);
  });

  it('has no shares when nobody entered', () => {
    expect(funnelRows([{ id: 'wait', type: 'wait', entered: 0, completed: 0 }])[0]?.share).toBeNull();
  });
});

describe('conversionRows', () => {
  it('leaves out journeys nobody entered and puts the best converting first, in percent', () => {
    const rows = conversionRows([journey('Welcome', 3, 1), journey('Empty', 0, 0), journey('Cart', 4, 3)]);
    expect(rows).toEqual([
      { id: 'jrn_Cart', name: 'Cart', entered: 4, converted: 3, percent: 75 },
      { id: 'jrn_Welcome', name: 'Welcome', entered: 3, converted: 1, percent: 33.3 },
    ]);
  });

  it('names the best converting journey only once one has converted someone', () => {
    expect(bestConverting(conversionRows([journey('Welcome', 3, 1), journey('Cart', 4, 3)]))?.name).toBe(
      'Cart',
    );
    // Every journey at 0 %: none is the best.
    expect(bestConverting(conversionRows([journey('Welcome', 3, 0), journey('Cart', 4, 0)]))).toBeUndefined();
    // 1 in 3,000 rounds to 0.0 %, as 0 of 1,000 does: the one that converted is named all the same.
    expect(
      bestConverting(conversionRows([journey('Welcome', 1000, 0), journey('Zebra', 3000, 1)]))?.name,
    ).toBe('Zebra');
  });

  it('leaves out journeys without a goal: nobody converts there, which is no 0 %', () => {
    const alert = { ...journey('Alert', 5, 0), hasGoal: false, conversionRate: null };
    expect(conversionRows([alert, journey('Cart', 4, 3)]).map((row) => row.name)).toEqual(['Cart']);
  });

  it('counts who entered as the rate does, without those a split held out', () => {
    expect(conversionRows([journey('Promo', 10, 3, 4), journey('Held', 2, 0, 2)])).toEqual([
      { id: 'jrn_Promo', name: 'Promo', entered: 6, converted: 3, percent: 50 },
    ]);
  });
});
