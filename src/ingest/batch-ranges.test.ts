import { describe, expect, it } from 'vitest';
import { batchElementRanges } from './batch-ranges.js';

const slices = (text: string) => batchElementRanges(text)?.map(([start, end]) => text.slice(start, end));

describe('batchElementRanges', () => {
  it('finds each element exactly as written, whatever it contains', () => {
    const elements = [
      '{"type":"track","event":"A, \\"quoted\\" ]} [{","properties":{"list":[1,{"x":"}"}],"n":-1.5e3}}',
      '{ "type" : "identify", "traits" : { "name" : "Zoë \\\\" } }',
      '"not an object"',
      'null',
      '42',
    ];
    const text = `{"sentAt":"2026-11-23T10:00:00Z","context":{"batch":[9]},\n "batch" : [ ${elements.join(' ,\n ')} ] ,"writeKey":"wk"}`;
    expect(JSON.parse(text).batch).toHaveLength(5);
    expect(slices(text)).toEqual(elements);
  });

  it('answers an empty list for an empty batch', () => {
    expect(slices('{"batch":[]}')).toEqual([]);
  });

  it('gives up, so the caller serialises instead, when the layout is unusual', () => {
    expect(batchElementRanges('{"batch":[{"a":1}],"batch":[{"b":2}]}')).toBeUndefined();
    expect(batchElementRanges('{"b\\u0061tch":[{"a":1}]}')).toBeUndefined();
    expect(batchElementRanges('{"other":[1]}')).toBeUndefined();
    expect(batchElementRanges('[{"a":1}]')).toBeUndefined();
    expect(batchElementRanges('{"batch":{"a":1}}')).toBeUndefined();
  });
});
