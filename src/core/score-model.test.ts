import { describe, expect, it } from 'vitest';
import { bucketStart, modelRevision, ScoreModel } from './score-model.js';

const model = (value: unknown, points = 20) =>
  ScoreModel.parse({
    id: 'fit',
    name: 'Fit',
    rules: [{ id: 'plan', kind: 'fit', when: { type: 'trait', path: 'plan', op: 'eq', value }, points }],
  });

describe('modelRevision', () => {
  it('names the same rules alike whatever order their keys come in, as PostgreSQL’s jsonb gives them back', () => {
    expect(modelRevision(model({ zz: 1, a: 2 }))).toBe(modelRevision(model({ a: 2, zz: 1 })));
  });

  it('names rules that score differently differently, but not a new display name', () => {
    expect(modelRevision(model('pro', 50))).not.toBe(modelRevision(model('pro', 20)));
    expect(modelRevision({ ...model('pro'), name: 'Renamed' })).toBe(modelRevision(model('pro')));
  });
});

describe('bucketStart', () => {
  it('names buckets of fractional points without float noise', () => {
    expect(bucketStart(5487, 0.01)).toBe(54.87);
    expect(bucketStart(3, 0.1)).toBe(0.3);
    expect(bucketStart(-2, 10)).toBe(-20);
  });
});
