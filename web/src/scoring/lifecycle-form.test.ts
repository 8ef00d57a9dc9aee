import { describe, expect, it } from 'vitest';
import { HandOffSettings } from '../../../src/core/hand-off.js';
import { fullestBin, histogram, holdsCapAlone } from './distribution.js';
import {
  type BusinessHoursJson,
  blankOwner,
  businessSpan,
  formToIntent,
  type HandOffJson,
  type IntentForm,
  intentToForm,
  type LifecycleJson,
  validateIntent,
} from './lifecycle-form.js';

const LIFECYCLE: LifecycleJson = {
  stages: ['subscriber', 'lead', 'mql', 'sql'],
  rules: [
    { kind: 'event', to: 'lead', event: 'Signed Up', where: [{ path: 'plan', op: 'eq', value: 'pro' }] },
    { kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 },
    { kind: 'score', to: 'sql', model: 'engagement', atLeast: 80, and: [{ model: 'fit', atLeast: 30 }] },
  ],
  recycleTo: 'lead',
};
const HAND_OFF: HandOffJson = {
  stage: 'mql',
  owners: [
    { id: 'marco', name: 'Marco', email: 'marco@example.com' },
    { id: 'giulia', name: 'Giulia', email: 'giulia@example.com' },
  ],
  assignment: [{ when: { type: 'account_trait', path: 'country', op: 'eq', value: 'IT' }, owner: 'giulia' }],
  destination: 'crm',
  acceptWithin: '2d',
  recycleOnMiss: true,
};

const MODELS = ['engagement', 'fit'];

const keysOf = (form: IntentForm, models: string[]) =>
  Object.fromEntries(
    Object.entries(validateIntent(form, models)).map(([path, error]) => [
      path,
      'key' in error ? error.key : '',
    ]),
  );

describe('lifecycle and hand-off form', () => {
  it('turns settings JSON into a form and back without losing anything', () => {
    const form = intentToForm(LIFECYCLE, HAND_OFF);
    expect(validateIntent(form, MODELS)).toEqual({});
    expect(formToIntent(form)).toEqual({ lifecycle: LIFECYCLE, handOff: HAND_OFF });
  });

  it('keeps business hours through the form, in the week’s order, and checks them', () => {
    const withHours: HandOffJson = {
      ...HAND_OFF,
      businessHours: { days: ['mon', 'wed', 'sat'], start: '08:30', end: '18:00' },
    };
    const form = intentToForm(LIFECYCLE, withHours);
    expect(form.hasBusinessHours).toBe(true);
    expect(formToIntent(form)).toEqual({ lifecycle: LIFECYCLE, handOff: withHours });
    // Ticked out of order, saved in order; turned off, not saved at all.
    form.businessHours.days = ['sat', 'mon'];
    expect(formToIntent(form).handOff?.businessHours?.days).toEqual(['mon', 'sat']);
    expect(formToIntent({ ...form, hasBusinessHours: false }).handOff).not.toHaveProperty('businessHours');
    expect(keysOf({ ...form, businessHours: { days: [], start: '9:00', end: '17:00' } }, MODELS)).toEqual({
      'handOff.businessHours.days': 'noDays',
      'handOff.businessHours.start': 'time',
    });
    expect(
      keysOf({ ...form, businessHours: { days: ['mon'], start: '17:00', end: '09:00' } }, MODELS),
    ).toEqual({ 'handOff.businessHours.end': 'endAfterStart' });
    // Without business hours set, the form offers weekdays 09:00–17:00 to start from.
    expect(intentToForm(LIFECYCLE, HAND_OFF)).toMatchObject({
      hasBusinessHours: false,
      businessHours: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' },
    });
  });

  it('refuses an SLA past 52 weeks of the business hours before saving, as the server does', () => {
    const form: IntentForm = { ...intentToForm(LIFECYCLE, HAND_OFF), hasBusinessHours: true };
    // Monday to Friday, 09:00–17:00: 52 weeks of them are 2,080 hours.
    const errorsWithin = (acceptWithin: string, hours = form.businessHours) =>
      validateIntent({ ...form, acceptWithin, businessHours: hours }, MODELS);
    expect(errorsWithin('2080h')).toEqual({});
    // Days are working days: the longest is told in them.
    expect(errorsWithin('260d')).toEqual({});
    expect(errorsWithin('2081h')).toEqual({
      'handOff.acceptWithin': { key: 'beyondBusinessYear', values: { weeks: '52', most: '260d' } },
    });
    expect(errorsWithin('261d')).toMatchObject({ 'handOff.acceptWithin': { key: 'beyondBusinessYear' } });
    // Saturdays 10:00–14:20: 52 working days, 225 hours and 20 minutes.
    expect(errorsWithin('226h', { days: ['sat'], start: '10:00', end: '14:20' })).toEqual({
      'handOff.acceptWithin': { key: 'beyondBusinessYear', values: { weeks: '52', most: '52d' } },
    });
    // Hours that are wrong themselves are what the form points at, not the SLA.
    expect(
      keysOf(
        { ...form, acceptWithin: '9000h', businessHours: { days: [], start: '09:00', end: '17:00' } },
        MODELS,
      ),
    ).toEqual({
      'handOff.businessHours.days': 'noDays',
    });
    // Calendar time has no such bound.
    expect(validateIntent({ ...form, acceptWithin: '2081h', hasBusinessHours: false }, MODELS)).toEqual({});

    // The same rule as the server's, on each side of the bound, whatever the hours.
    for (const hours of [
      { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' },
      { days: ['sat'], start: '10:00', end: '14:20' },
      { days: ['mon', 'wed'], start: '00:00', end: '23:59' },
    ] as const)
      for (const acceptWithin of [
        '2080h',
        '2081h',
        '225h',
        '226h',
        '13520m',
        '13521m',
        '1w',
        '52w',
        '53w',
        '52d',
        '53d',
        '104d',
        '105d',
        '260d',
        '261d',
      ]) {
        const businessHours = { ...hours, days: [...hours.days] };
        const server = HandOffSettings.safeParse({ ...HAND_OFF, acceptWithin, businessHours });
        const serverRefuses = server.error?.issues.some((issue) => issue.path.join('.') === 'acceptWithin');
        expect(
          'handOff.acceptWithin' in errorsWithin(acceptWithin, businessHours),
          `${acceptWithin} of ${JSON.stringify(hours)}`,
        ).toBe(Boolean(serverRefuses));
      }
  });

  it('refuses an SLA of nothing or past ten years before saving, as the server does', () => {
    const form: IntentForm = { ...intentToForm(LIFECYCLE, HAND_OFF), hasBusinessHours: false };
    expect(keysOf({ ...form, acceptWithin: '0d' }, MODELS)).toEqual({
      'handOff.acceptWithin': 'durationZero',
    });
    expect(keysOf({ ...form, acceptWithin: '521w' }, MODELS)).toEqual({
      'handOff.acceptWithin': 'durationMax',
    });
    for (const acceptWithin of ['0s', '0.0001s', '0.001s', '1s', '520w', '521w', '3640d', '3641d']) {
      const server = HandOffSettings.safeParse({ ...HAND_OFF, acceptWithin });
      const serverRefuses = server.error?.issues.some((issue) => issue.path.join('.') === 'acceptWithin');
      expect('handOff.acceptWithin' in validateIntent({ ...form, acceptWithin }, MODELS), acceptWithin).toBe(
        Boolean(serverRefuses),
      );
    }
  });

  it('offers the default stages and one blank owner when nothing is set, and saves nothing while off', () => {
    const form = intentToForm(undefined, undefined);
    expect(form.stages).toBe('subscriber, lead, mql, sql, opportunity, customer');
    expect(form.owners).toEqual([blankOwner()]);
    expect(formToIntent(form)).toEqual({});
    expect(formToIntent({ ...form, hasLifecycle: true, hasHandOff: false })).toEqual({
      lifecycle: {
        stages: ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer'],
        rules: [],
        recycleTo: 'lead',
      },
    });
  });

  it('leaves the destination out when none is chosen', () => {
    const form = { ...intentToForm(LIFECYCLE, HAND_OFF), destination: '' };
    expect(formToIntent(form).handOff).not.toHaveProperty('destination');
  });

  it('finds unknown stages, models and owners, bad e-mails and SLAs before the server does', () => {
    const form: IntentForm = {
      ...intentToForm(LIFECYCLE, HAND_OFF),
      stages: 'lead, mql, mql',
      rules: [
        { kind: 'score', to: 'won', model: 'gone', atLeast: 'fifty', and: [], event: '', where: [] },
        {
          kind: 'event',
          to: 'lead',
          model: '',
          atLeast: '',
          and: [],
          event: '',
          where: [{ path: 'properties.plan', op: 'eq', value: 'pro' }],
        },
        {
          kind: 'score',
          to: 'mql',
          model: 'engagement',
          atLeast: '50',
          and: [
            { model: 'engagement', atLeast: '10' },
            { model: '', atLeast: '' },
          ],
          event: '',
          where: [],
        },
      ],
      owners: [{ id: 'marco', name: '', email: 'marco' }],
      acceptWithin: 'two days',
    };
    expect(keysOf(form, ['engagement'])).toEqual({
      'lifecycle.stages': 'duplicate',
      'lifecycle.rules.0.to': 'unknownStage',
      'lifecycle.rules.0.model': 'required',
      'lifecycle.rules.0.atLeast': 'number',
      'lifecycle.rules.1.event': 'required',
      'lifecycle.rules.1.where.0.path': 'propertiesPath',
      'lifecycle.rules.2.and.0.model': 'duplicate',
      'lifecycle.rules.2.and.1.model': 'required',
      'lifecycle.rules.2.and.1.atLeast': 'required',
      'handOff.owners.0.name': 'required',
      'handOff.owners.0.email': 'email',
      'handOff.assignment.0.owner': 'unknownOwner',
      'handOff.acceptWithin': 'duration',
    });
    // An owner left blank is told to be filled in, not to be spelt otherwise.
    expect(
      keysOf({ ...form, owners: [{ id: ' ', name: 'Marco', email: 'marco@example.com' }] }, ['engagement']),
    ).toMatchObject({ 'handOff.owners.0.id': 'required' });
    expect(keysOf({ ...form, stages: 'sql' }, ['engagement'])).toMatchObject({
      'lifecycle.stages': 'stagesMin',
      'handOff.stage': 'unknownStage',
      'lifecycle.recycleTo': 'unknownStage',
    });
  });
});

describe('an SLA in business hours', () => {
  it('comes to its business hours and working days of the hours chosen, once both are valid', () => {
    const officeHours: BusinessHoursJson = {
      days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      start: '09:00',
      end: '17:00',
    };
    // A day is a working day, a week every working day of it; an hour is an hour of them.
    expect(businessSpan('2d', officeHours)).toEqual({ hours: 16, workingDays: 2 });
    expect(businessSpan('1.5d', officeHours)).toEqual({ hours: 12, workingDays: 1.5 });
    expect(businessSpan('1w', officeHours)).toEqual({ hours: 40, workingDays: 5 });
    expect(businessSpan(' 20h ', officeHours)).toEqual({ hours: 20, workingDays: 2.5 });
    expect(businessSpan('90m', { ...officeHours, start: '08:30' })).toEqual({ hours: 1.5, workingDays: 0.2 });
    expect(businessSpan('2 days', officeHours)).toBeUndefined();
    // Under an hour, nothing to work out (not "0 business hours: 0 working days").
    expect(businessSpan('1m', officeHours)).toBeUndefined();
    expect(businessSpan('59m', officeHours)).toBeUndefined();
    expect(businessSpan('2d', { ...officeHours, end: '08:00' })).toBeUndefined();
  });
});

describe('score histogram', () => {
  it('fills the empty buckets between those the server returns, so the axis is a true scale', () => {
    const bins = histogram(
      [
        { from: 30, count: 1 },
        { from: -10, count: 2 },
        { from: 0, count: 4 },
      ],
      10,
    );
    expect(bins).toEqual([
      { from: -10, to: 0, count: 2 },
      { from: 0, to: 10, count: 4 },
      { from: 10, to: 20, count: 0 },
      { from: 20, to: 30, count: 0 },
      { from: 30, to: 40, count: 1 },
    ]);
    expect(fullestBin(bins)).toEqual({ from: 0, to: 10, count: 4 });
    expect(histogram([], 10)).toEqual([]);
  });

  it('knows the bar starting at the cap holds the cap alone, where buckets are wider than a point', () => {
    expect(holdsCapAlone({ from: 100, to: 110 }, 100)).toBe(true);
    expect(holdsCapAlone({ from: 90, to: 100 }, 100)).toBe(false);
    expect(holdsCapAlone({ from: 100, to: 101 }, 100)).toBe(false);
    expect(holdsCapAlone({ from: 100, to: 110 }, undefined)).toBe(false);
  });

  it('does not draw thousands of empty bars for far-apart scores', () => {
    expect(
      histogram(
        [
          { from: 0, count: 1 },
          { from: 100_000, count: 1 },
        ],
        1,
      ),
    ).toHaveLength(2);
  });
});
