import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RecentDistributions, type ScoreBuckets } from './scoring.js';

describe('recent distributions', () => {
  it('shares one computation among callers and keeps it ten times as long as it took', async () => {
    const recent = new RecentDistributions(0);
    let computed = 0;
    const compute = async (): Promise<ScoreBuckets> => {
      computed += 1;
      await sleep(50);
      return [{ from: 0, count: computed }];
    };
    const [first, second] = await Promise.all([recent.get('k', 0, compute), recent.get('k', 0, compute)]);
    expect(first).toEqual([{ from: 0, count: 1 }]);
    expect(second).toBe(first);
    // Took at least 50 ms: shown for at least 500 ms of the clock.
    expect(await recent.get('k', 499, compute)).toBe(first);
    expect(await recent.get('other', 499, compute)).toEqual([{ from: 0, count: 2 }]);
    expect(await recent.get('k', 5_000, compute)).toEqual([{ from: 0, count: 3 }]);
  });

  it('forgets a computation that failed', async () => {
    const recent = new RecentDistributions(30_000);
    await expect(recent.get('k', 0, () => Promise.reject(new Error('database gone')))).rejects.toThrow();
    expect(await recent.get('k', 1, async () => [])).toEqual([]);
  });
});
