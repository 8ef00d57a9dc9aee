import { describe, expect, it } from 'vitest';
import { DigestCache } from './digest-cache.js';

describe('digest cache', () => {
  it('keeps digests while batches follow one another, and forgets them when a batch was missed', () => {
    const cache = new DigestCache();
    cache.beginBatch('0');
    cache.set('p1', { q: [1, 1] });
    cache.endBatch('10');
    cache.beginBatch('10');
    expect(cache.get('p1')).toEqual({ q: [1, 1] });
    cache.endBatch('20');
    // Another process took the batch after 20: what it saw is not in these digests.
    cache.beginBatch('35');
    expect(cache.get('p1')).toBeUndefined();
  });

  it('forgets them when a batch did not commit, and hands out copies', () => {
    const cache = new DigestCache();
    cache.beginBatch('0');
    cache.set('p1', { q: [] });
    cache.endBatch('10');
    cache.beginBatch('10');
    const copy = cache.get('p1');
    copy?.q?.push(5, 5);
    expect(cache.get('p1')).toEqual({ q: [] });
    // This batch never reached endBatch (its transaction failed): the cursor is still at 10.
    cache.beginBatch('10');
    expect(cache.size).toBe(0);
  });

  it('hands back exactly what was kept: every query, its timestamps and ids, and queries with no event', () => {
    const cache = new DigestCache();
    const digest = {
      aaaaaaaaaa: [1_795_977_785_625, 9_007_199_254_740, 1_795_977_785_626, 12],
      bbbbbbbbbb: [],
      cccccccccc: [0, 1],
    };
    cache.set('p1', digest);
    cache.set('p2', { cccccccccc: [5, 6], dddddddddd: [] });
    expect(cache.get('p1')).toEqual(digest);
    expect(cache.get('p2')).toEqual({ cccccccccc: [5, 6], dddddddddd: [] });
  });

  it('lets the least recently used go when full', () => {
    const cache = new DigestCache(2);
    cache.set('p1', {});
    cache.set('p2', {});
    cache.set('p1', { q: [] });
    cache.set('p3', {});
    expect([cache.get('p1'), cache.get('p2'), cache.get('p3')]).toEqual([{ q: [] }, undefined, {}]);
  });
});
