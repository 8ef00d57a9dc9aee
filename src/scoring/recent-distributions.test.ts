import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RecentDistributions, type ScoreBuckets } from './scoring.js';

describe('recent distributions', () => {
  /** A computation that takes `ms` and answers how many computations there have been. */
  const counter = (ms: number) => {
    let computed = 0;
    return async (): Promise<ScoreBuckets> => {
      computed += 1;
      await sleep(ms);
      return [{ from: 0, count: computed }];
    };
  };

  it('shares one computation among callers, and keeps it ten times as long as it took', async () => {
    const recent = new RecentDistributions(0);
    const compute = counter(60);
    const at = (now: number, stamp = 's1') => recent.get('k', { now, stamp }, compute);
    const [first, second] = await Promise.all([at(0), at(0)]);
    expect(first).toEqual([{ from: 0, count: 1 }]);
    expect(second).toBe(first);
    // Took at least 60 ms: shown for at least 600 ms of the clock, new scores or not.
    expect(await at(499, 's2')).toBe(first);
    expect(await recent.get('other', { now: 499, stamp: 's1' }, compute)).toEqual([{ from: 0, count: 2 }]);
    expect(await at(60_000, 's2')).toEqual([{ from: 0, count: 3 }]);
  });

  it('keeps a quick one while no score was written, up to its maximum age', async () => {
    const recent = new RecentDistributions(30_000);
    const compute = counter(0);
    const at = (now: number, stamp: string) => recent.get('k', { now, stamp }, compute);
    const first = await at(0, 's1');
    expect(await at(29_000, 's1')).toBe(first);
    expect(await at(29_500, 's2')).toEqual([{ from: 0, count: 2 }]);
    expect(await at(60_000, 's2')).toEqual([{ from: 0, count: 3 }]);
  });

  it('forgets a computation that failed', async () => {
    const recent = new RecentDistributions(30_000);
    const options = { now: 0, stamp: 's' };
    await expect(
      recent.get('k', options, () => Promise.reject(new Error('database gone'))),
    ).rejects.toThrow();
    expect(await recent.get('k', { now: 1, stamp: 's' }, async () => [])).toEqual([]);
  });
});
