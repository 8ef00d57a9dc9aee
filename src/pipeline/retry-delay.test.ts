import { describe, expect, it } from 'vitest';
import { RetryDelay } from './retry-delay.js';

describe('RetryDelay', () => {
  it('doubles with each failure in a row up to a second', () => {
    const delay = new RetryDelay();
    const waits = Array.from({ length: 8 }, () => delay.next());
    expect(waits).toEqual([50, 100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('is short again once work went through', () => {
    const delay = new RetryDelay();
    for (let failure = 0; failure < 10; failure++) delay.next();
    delay.reset();
    expect(delay.next()).toBe(50);
  });
});
