import { describe, expect, it } from 'vitest';
import { isNumericCode, numberValue, orderOfDates } from './comparison-values.js';
import { neverHoldsBecause } from './holdable-comparison.js';
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

  describe('dates', () => {
    const trait = '2026-01-05T10:00:00Z';

    it('equal the same instant written another way', () => {
      expect(compare(trait, 'eq', '2026-01-05T10:00:00.000Z')).toBe(true);
      expect(compare(trait, 'eq', '2026-01-05T11:00:00+01:00')).toBe(true);
      expect(compare(trait, 'in', ['2026-01-05T11:00:00+01:00'])).toBe(true);
      expect(compare(trait, 'neq', '2026-01-05T10:00:00.000Z')).toBe(false);
      expect(compare(trait, 'eq', '2026-01-05T10:00:01Z')).toBe(false);
    });

    it('equal a day alone at any moment of that UTC day, and order against the day whole', () => {
      expect(compare(trait, 'eq', '2026-01-05')).toBe(true);
      expect(compare('2026-01-05T23:59:59.999Z', 'eq', '2026-01-05')).toBe(true);
      expect(compare('2026-01-06T00:30:00+01:00', 'eq', '2026-01-05')).toBe(true); // 23:30 UTC
      expect(compare('2026-01-06T00:00:00Z', 'eq', '2026-01-05')).toBe(false);
      expect(compare('2026-01-05', 'eq', trait)).toBe(true);
      expect(compare(trait, 'lte', '2026-01-05')).toBe(true);
      expect(compare(trait, 'gte', '2026-01-05')).toBe(true);
      expect(compare(trait, 'gt', '2026-01-05')).toBe(false);
      expect(compare(trait, 'lt', '2026-01-06')).toBe(true);
      expect(compare(trait, 'gt', '2026-01-04')).toBe(true);
      // Two moments order by the instant.
      expect(compare(trait, 'lt', '2026-01-05T10:30:00+00:30')).toBe(false);
      expect(compare(trait, 'lt', '2026-01-05T12:00:00+01:00')).toBe(true);
    });

    it('compare as text what is no date', () => {
      expect(compare('2026-02-30', 'eq', '2026-03-02')).toBe(false);
      expect(compare('2026-01-05 by post', 'eq', '2026-01-05')).toBe(false);
      expect(orderOfDates('order-1234', '2026-01-05')).toBeUndefined();
    });
  });

  describe('contains, of a number or a yes/no', () => {
    it('looks in the value’s text', () => {
      expect(compare(12345, 'contains', '234')).toBe(true);
      expect(compare(12345, 'contains', 234)).toBe(true);
      expect(compare(12345, 'contains', '9')).toBe(false);
      expect(compare(true, 'contains', 'tru')).toBe(true);
      expect(compare(false, 'contains', 'TRU')).toBe(false);
      expect(compare('order-42-x', 'contains', 42)).toBe(true);
      expect(compare(null, 'contains', 'null')).toBe(false);
      expect(compare({ a: 1 }, 'contains', 'a')).toBe(false);
    });
  });

  describe('text with a leading zero', () => {
    it('is a code: it equals the same text, never a number', () => {
      expect(compare('01234', 'eq', 1234)).toBe(false);
      expect(compare(1234, 'eq', '01234')).toBe(false);
      expect(compare('01234', 'eq', '1234')).toBe(false);
      expect(compare('01234', 'in', [1234, 5678])).toBe(false);
      expect(compare('01234', 'neq', 1234)).toBe(true);
      expect(compare('01234', 'eq', '01234')).toBe(true);
      expect(compare('01234', 'contains', 123)).toBe(true);
    });

    it('has no order', () => {
      expect(compare('01234', 'gt', 1000)).toBe(false);
      expect(compare('01234', 'lte', 99_999)).toBe(false);
      expect(neverHoldsBecause({ path: 'zip', op: 'gte', value: '00100' })?.message).toContain('code');
    });

    it('leaves zero and its fractions numbers', () => {
      expect(numberValue('0')).toBe(0);
      expect(numberValue('0.5')).toBe(0.5);
      expect(numberValue('-0.25')).toBe(-0.25);
      expect(numberValue('10.50')).toBe(10.5);
      expect(compare('0', 'eq', 0)).toBe(true);
      expect(compare('0.5', 'lt', 1)).toBe(true);
      for (const code of ['01234', '007', '00', '-01', '00.5']) {
        expect(numberValue(code)).toBeUndefined();
        expect(isNumericCode(code)).toBe(true);
      }
      expect(isNumericCode('0.5')).toBe(false);
    });
  });
});
