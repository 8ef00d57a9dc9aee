import { describe, expect, it } from 'vitest';
import { tabAfterKey } from './tabs.js';

describe('tabs', () => {
  const tabs = [
    { id: 'a', label: 'A' },
    { id: 'b', label: 'B' },
    { id: 'c', label: 'C' },
  ];

  it('moves with the arrow keys, wrapping around, and jumps with Home and End', () => {
    expect(tabAfterKey(tabs, 'a', 'ArrowRight')).toBe('b');
    expect(tabAfterKey(tabs, 'c', 'ArrowRight')).toBe('a');
    expect(tabAfterKey(tabs, 'a', 'ArrowLeft')).toBe('c');
    expect(tabAfterKey(tabs, 'b', 'Home')).toBe('a');
    expect(tabAfterKey(tabs, 'b', 'End')).toBe('c');
    expect(tabAfterKey(tabs, 'a', 'ArrowDown')).toBe('b');
    expect(tabAfterKey(tabs, 'a', 'ArrowUp')).toBe('c');
    expect(tabAfterKey(tabs, 'b', 'Enter')).toBeUndefined();
  });
});
