import { describe, expect, it } from 'vitest';
import { serverFieldUnder, serverMessage, textToValue, type ValueOp, valueToText } from './conditions.js';
import {
  blankModel,
  blankRule,
  formToModel,
  type ModelForm,
  modelToForm,
  nextRuleId,
  type ScoreModelJson,
  slugify,
  validateModel,
} from './model-form.js';

/** The model of docs/segments.md, as the settings document holds it. */
const ENGAGEMENT: ScoreModelJson = {
  id: 'engagement',
  name: 'Engagement',
  cap: 200,
  rules: [
    {
      id: 'pricing',
      kind: 'event',
      event: 'Page Viewed',
      where: [{ path: 'path', op: 'contains', value: '/pricing' }],
      points: 10,
      repeat: 'every_time',
      cap: 40,
      halfLife: '14d',
    },
    { id: 'demo', kind: 'event', event: 'Demo Requested', where: [], points: 40, repeat: 'once' },
    {
      id: 'plans',
      kind: 'event',
      event: 'Plan Chosen',
      where: [
        { path: 'seats', op: 'gte', value: 5 },
        { path: 'plan', op: 'in', value: ['pro', 'team'] },
        { path: 'coupon', op: 'not_exists' },
      ],
      points: -2.5,
      repeat: 'every_time',
    },
    {
      id: 'italy',
      kind: 'fit',
      when: { type: 'account_trait', path: 'country', op: 'eq', value: 'IT' },
      points: 15,
    },
  ],
};

describe('score model form', () => {
  it('turns settings JSON into a form and back without losing anything', () => {
    expect(formToModel(modelToForm(ENGAGEMENT))).toEqual(ENGAGEMENT);
  });

  it('keeps what was typed for the other kind when a rule switches kind and back', () => {
    const form = modelToForm(ENGAGEMENT);
    const pricing = form.rules[0];
    if (!pricing) throw new Error('no rule');
    const switched: ModelForm = { ...form, rules: [{ ...pricing, kind: 'fit' }, ...form.rules.slice(1)] };
    const back: ModelForm = {
      ...switched,
      rules: [{ ...pricing, kind: 'event' }, ...switched.rules.slice(1)],
    };
    expect(formToModel(back)).toEqual(ENGAGEMENT);
  });

  it('saves what was typed as typed JSON: numbers, lists, no value for "is set", no empty optionals', () => {
    const form: ModelForm = {
      id: '',
      name: ' Lead fit ',
      cap: '',
      rules: [
        {
          ...blankRule('event', 'visits'),
          event: ' Page Viewed ',
          points: '2,5',
          halfLife: ' 30d ',
          where: [
            { path: 'seconds', op: 'gt', value: '30' },
            { path: 'tags', op: 'in', value: 'a, b ,, 3' },
            { path: 'ref', op: 'exists', value: 'ignored' },
            { path: 'at', op: 'within_last', value: '7d' },
          ],
        },
        {
          ...blankRule('fit', 'admins'),
          points: '-5',
          when: { type: 'trait', path: 'admin', op: 'eq', value: 'true' },
        },
      ],
    };
    expect(validateModel(form, [])).toEqual({});
    expect(formToModel(form)).toEqual({
      id: 'lead-fit',
      name: 'Lead fit',
      rules: [
        {
          id: 'visits',
          kind: 'event',
          event: 'Page Viewed',
          where: [
            { path: 'seconds', op: 'gt', value: 30 },
            { path: 'tags', op: 'in', value: ['a', 'b', 3] },
            { path: 'ref', op: 'exists' },
            { path: 'at', op: 'within_last', value: '7d' },
          ],
          points: 2.5,
          repeat: 'every_time',
          halfLife: '30d',
        },
        {
          id: 'admins',
          kind: 'fit',
          when: { type: 'trait', path: 'admin', op: 'eq', value: true },
          points: -5,
        },
      ],
    });
  });

  it('finds, field by field, what the server would refuse', () => {
    const form: ModelForm = {
      id: 'Engagement!',
      name: '',
      cap: '-1',
      rules: [
        { ...blankRule('event', 'a'), event: '', points: 'ten', halfLife: '30 days', cap: 'x' },
        {
          ...blankRule('event', 'a'),
          event: 'Signed Up',
          points: '0',
          where: [{ path: '', op: 'eq', value: '' }],
        },
        {
          ...blankRule('fit', 'b'),
          points: '20000',
          when: { type: 'trait', path: 'seen', op: 'within_last', value: 'week' },
        },
        {
          ...blankRule('fit', 'c'),
          points: '',
          when: { type: 'trait', path: 'vip', op: 'exists', value: '' },
        },
      ],
    };
    const keys = Object.fromEntries(
      Object.entries(validateModel(form, [])).map(([path, error]) => [
        path,
        'key' in error ? error.key : error.message,
      ]),
    );
    expect(keys).toEqual({
      name: 'required',
      id: 'id',
      cap: 'positive',
      'rules.0.event': 'required',
      'rules.0.points': 'number',
      'rules.0.halfLife': 'duration',
      'rules.0.cap': 'number',
      'rules.1.id': 'duplicate',
      'rules.1.points': 'nonZero',
      'rules.1.where.0.path': 'required',
      'rules.1.where.0.value': 'required',
      'rules.2.points': 'pointsRange',
      'rules.2.when.value': 'duration',
      'rules.3.points': 'required',
    });
  });

  it('marks the in list that takes the model past 5,000 values in all, and a filter path starting properties.', () => {
    const list = (count: number) => Array.from({ length: count }, (_, i) => `p${i}`).join(', ');
    const withLists = (fitValues: number, filterValues: number): ModelForm => ({
      ...blankModel(),
      name: 'Local',
      rules: [
        {
          ...blankRule('fit', 'nearby'),
          points: '10',
          when: { type: 'trait', path: 'postcode', op: 'in', value: list(fitValues) },
        },
        {
          ...blankRule('event', 'ordered'),
          event: 'Order Completed',
          points: '5',
          where: [
            { path: 'properties.total', op: 'gte', value: '20' },
            { path: 'postcode', op: 'in', value: list(filterValues) },
          ],
        },
      ],
    });
    expect(validateModel(withLists(3000, 2000), [])).toEqual({
      'rules.1.where.0.path': { key: 'propertiesPath' },
    });
    expect(validateModel(withLists(3000, 2001), [])).toEqual({
      'rules.1.where.0.path': { key: 'propertiesPath' },
      'rules.1.where.1.value': { key: 'tooManyValues', values: { limit: '5000' } },
    });
    expect(validateModel(withLists(5001, 1), [])['rules.0.when.value']).toMatchObject({
      key: 'tooManyValues',
    });
  });

  it('refuses a half-life under a minute or past 520 weeks, as the server does', () => {
    const withHalfLife = (halfLife: string): ModelForm => ({
      ...blankModel(),
      name: 'Engagement',
      rules: [{ ...blankRule('event', 'a'), event: 'Signed Up', points: '1', halfLife }],
    });
    const errorFor = (halfLife: string) => validateModel(withHalfLife(halfLife), [])['rules.0.halfLife'];
    expect(errorFor('0d')).toEqual({ key: 'halfLifeMin' });
    expect(errorFor('59s')).toEqual({ key: 'halfLifeMin' });
    expect(errorFor('1m')).toBeUndefined();
    expect(errorFor('520w')).toBeUndefined();
    expect(errorFor('521w')).toEqual({ key: 'durationMax' });
  });

  it('takes a decimal comma but asks again for a number written with thousands separators', () => {
    const form: ModelForm = {
      ...blankModel(),
      name: 'Engagement',
      cap: '1,000',
      rules: [
        { ...blankRule('event', 'a'), event: 'Signed Up', points: '2,5', cap: '1.000' },
        { ...blankRule('event', 'b'), event: 'Signed Up', points: '0,125', cap: '12.500,5' },
        { ...blankRule('event', 'c'), event: 'Signed Up', points: '-1.000' },
      ],
    };
    expect(validateModel(form, [])).toEqual({
      cap: { key: 'number' },
      'rules.0.cap': { key: 'number' },
      'rules.1.cap': { key: 'number' },
      'rules.2.points': { key: 'number' },
    });
    const fixed = formToModel({
      ...form,
      cap: '1000',
      rules: form.rules.map((rule) => ({
        ...rule,
        cap: '',
        points: rule.points === '-1.000' ? '-1000' : rule.points,
      })),
    });
    expect(fixed.cap).toBe(1000);
    expect(fixed.rules.map((rule) => rule.points)).toEqual([2.5, 0.125, -1000]);
  });

  it('refuses a model without rules and an id another model has', () => {
    const form: ModelForm = { ...blankModel(), name: 'Engagement', rules: [] };
    expect(validateModel(form, ['engagement'])).toEqual({
      id: { key: 'duplicate' },
      rules: { key: 'noRules' },
    });
  });

  it('makes ids from names and numbers new rules past the ones taken', () => {
    expect(slugify('Intérêt Produit 2026!')).toBe('interet-produit-2026');
    expect(nextRuleId([blankRule('event', 'rule_2'), blankRule('event', 'x')])).toBe('rule_3');
    expect(nextRuleId([blankRule('event', 'rule_1')])).toBe('rule_2');
  });
});

describe('values and server errors', () => {
  it('writes values as text and reads them back typed', () => {
    expect(valueToText(['pro', 5])).toBe('pro, 5');
    expect(valueToText(undefined)).toBe('');
    expect(textToValue('eq', '-12.5')).toBe(-12.5);
    expect(textToValue('contains', ' /pricing ')).toBe('/pricing');
    expect(textToValue('not_exists', 'x')).toBeUndefined();
  });

  it('reads back every stored value as it was, so saving an untouched rule changes nothing', () => {
    const stored: Array<[ValueOp, unknown]> = [
      ['eq', '00100'],
      ['eq', 'true'],
      ['eq', '123'],
      ['eq', true],
      ['eq', 42],
      ['eq', ' padded '],
      ['in', ['free', 'a, b', '5', 5]],
      ['contains', '/pricing'],
    ];
    for (const [op, value] of stored) expect(textToValue(op, valueToText(value))).toEqual(value);
  });

  it('places a 400 on the field of the model it names, and only that model', () => {
    expect(serverFieldUnder('scoring.models.2.rules.0.points', 'scoring.models.2.')).toBe('rules.0.points');
    expect(serverFieldUnder('scoring.models.1.rules.0.points', 'scoring.models.2.')).toBeUndefined();
    expect(serverFieldUnder(undefined, 'scoring.models.2.')).toBeUndefined();
    expect(serverMessage('scoring.models.2.cap: too big', 'scoring.models.2.cap')).toBe('too big');
    expect(serverMessage('no field here', undefined)).toBe('no field here');
  });
});
