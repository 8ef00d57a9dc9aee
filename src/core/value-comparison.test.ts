import { describe, expect, it } from 'vitest';
import { compare } from './value-comparison.js';

describe('comparing a value with a rule’s value', () => {
  describe('a list', () => {
    const tags = ['vip', 'beta'];

    it('is in a list of choices when one of its elements is', () => {
      expect(compare(tags, 'in', ['vip', 'gold'])).toBe(true);
      expect(compare(tags, 'in', ['GOLD', 'Beta'])).toBe(true);
      expect(compare(tags, 'in', ['gold', 'silver'])).toBe(false);
      expect(compare([], 'in', ['vip'])).toBe(false);
    });

    it('equals and contains a value when one of its elements equals it', () => {
      expect(compare(tags, 'eq', 'vip')).toBe(true);
      expect(compare(tags, 'eq', 'VIP')).toBe(true);
      expect(compare(tags, 'contains', 'vip')).toBe(true);
      expect(compare(tags, 'eq', 'gold')).toBe(false);
      expect(compare(tags, 'contains', 'vi')).toBe(false);
      expect(compare([1, 2], 'eq', '2')).toBe(true);
      // The whole list still equals the same list.
      expect(compare(tags, 'eq', ['vip', 'beta'])).toBe(true);
    });

    it('is neq a value only when none of its elements equals it', () => {
      expect(compare(tags, 'neq', 'vip')).toBe(false);
      expect(compare(tags, 'neq', 'gold')).toBe(true);
      expect(compare([], 'neq', 'vip')).toBe(true);
    });

    it('has no order', () => {
      expect(compare([3, 9], 'gt', 5)).toBe(false);
      expect(compare([3, 9], 'lt', 5)).toBe(false);
    });
  });
});
