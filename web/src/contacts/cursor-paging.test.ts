import { describe, expect, it } from 'vitest';
import {
  cursorOf,
  nextPage,
  pageNumberOf,
  pageQuery,
  previousPage,
  startTrail,
  trailFor,
} from './cursor-paging.js';

describe('cursor paging', () => {
  it('goes forward with each next cursor and back the way it came', () => {
    let trail = startTrail('ada');
    expect([cursorOf(trail), pageNumberOf(trail)]).toEqual([undefined, 1]);
    trail = nextPage(trail, 'c2');
    trail = nextPage(trail, 'c3');
    expect([cursorOf(trail), pageNumberOf(trail)]).toEqual(['c3', 3]);
    trail = previousPage(trail);
    expect([cursorOf(trail), pageNumberOf(trail)]).toEqual(['c2', 2]);
    trail = previousPage(previousPage(trail));
    expect([cursorOf(trail), pageNumberOf(trail)]).toEqual([undefined, 1]);
  });

  it('starts again from the first page when the search changes', () => {
    const deep = nextPage(startTrail('ada'), 'c2');
    expect(trailFor(deep, 'ada')).toBe(deep);
    expect(cursorOf(trailFor(deep, 'bo'))).toBeUndefined();
  });

  it('asks with only the parameters that are set', () => {
    expect(pageQuery({ q: 'ada@example.com', limit: 25, cursor: undefined })).toBe(
      '?q=ada%40example.com&limit=25',
    );
    expect(pageQuery({ q: '', cursor: undefined })).toBe('');
  });
});
