import { describe, expect, it } from 'vitest';
import {
  findUnstorableNumbers,
  mayHoldOutOfRangeNumbers,
  mayHoldUnstorableNumbers,
  pathText,
} from './unstorable-numbers.js';
import { mayHoldHugeNumbers } from './validate-event.js';

describe('unstorable numbers', () => {
  it('looks further only where a number with a long fraction or an exponent below -99 may stand', () => {
    expect(mayHoldUnstorableNumbers('{"x":1e-20000}')).toBe(true);
    expect(mayHoldUnstorableNumbers('{"x":[1, -2.5E-400]}')).toBe(true);
    expect(mayHoldUnstorableNumbers(`{"x":0.${'1'.repeat(1000)}}`)).toBe(true);
    expect(mayHoldUnstorableNumbers('{"x":1e-99,"y":0.125}')).toBe(false);
    expect(mayHoldUnstorableNumbers('{"messageId":"3f9e4e-512","note":"1e-20000"}')).toBe(false);
  });

  it('looks once for numbers out of range either way, wherever either look would go further', () => {
    const texts = [
      '{"x":1e-20000}',
      `{"x":0.${'1'.repeat(1000)}}`,
      '{"x":[1, 2e400]}',
      '{"x":1E+308}',
      `{"x":${'9'.repeat(309)}}`,
      '{"x":1e-99,"y":0.125,"z":1e99}',
      '{"messageId":"3f9e4e-512","note":"1e-20000"}',
    ];
    for (const text of texts)
      expect(mayHoldOutOfRangeNumbers(text), text).toBe(
        mayHoldHugeNumbers(text) || mayHoldUnstorableNumbers(text),
      );
  });

  it('finds each number with more than 16,383 decimal places written out, by where it stands', () => {
    const text = `{"a":1e-16383,"b":[0,{"c\\"d":1e-16384}],"s":"x:1e-20000","t":true,"n":null,
      "e":1.5e-16383,"f":${`1${'0'.repeat(16_390)}e-16390`},"g":0.${'1'.repeat(16_383)},"h":0.${'1'.repeat(16_384)}}`;
    expect(findUnstorableNumbers(text).map(pathText)).toEqual(['b[1].c"d', 'e', 'f', 'h']);
  });
});
