import { describe, expect, it } from 'vitest';
import { shareLabels } from './split-shares.js';

describe('shareLabels', () => {
  it('gives whole percentages when they add up to 100 and none rounds to nothing, else tenths', () => {
    expect(shareLabels([1, 1], 'en')).toEqual(['50%', '50%']);
    expect(shareLabels([8, 1, 1], 'en')).toEqual(['80%', '10%', '10%']);
    // Rounded whole, 45 + 45 + 9 is 99.
    expect(shareLabels([1, 1, 0.2], 'en')).toEqual(['45.5%', '45.5%', '9.1%']);
    expect(shareLabels([1, 1, 0.2], 'it')).toEqual(['45,5%', '45,5%', '9,1%']);
    // A holdout of one in 201 is there, though it rounds to nothing whole.
    expect(shareLabels([1, 100, 100], 'en')).toEqual(['0.5%', '49.8%', '49.8%']);
    expect(shareLabels([0, 1], 'en')).toEqual(['0%', '100%']);
    expect(shareLabels([0, 0], 'en')).toEqual([]);
  });
});
