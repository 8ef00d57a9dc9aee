import i18next from 'i18next';
import { beforeAll, describe, expect, it } from 'vitest';
import { en } from '../locales/en.js';
import { it as italian } from '../locales/it.js';
import { armSummary, type ConditionNames, conditionSummary } from './branch-summary.js';
import type { Condition } from './graph.js';

const NAMES: ConditionNames = {
  segments: new Map([['seg_01', 'Cart abandoners']]),
  models: new Map([['engagement', 'Engagement']]),
  emails: new Map([['send_email_1', 'Welcome']]),
};

describe('what a branch asks, as the canvas says it', () => {
  const i18n = i18next.createInstance();
  beforeAll(async () => {
    await i18n.init({
      resources: { en: { translation: en }, it: { translation: italian } },
      lng: 'en',
      interpolation: { escapeValue: false },
    });
  });
  const t = (key: string, options?: Record<string, unknown>) => i18n.t(key, options);

  it.each([
    [{ source: 'segment', segment: 'seg_01', op: 'in' }, 'In segment Cart abandoners'],
    [{ source: 'segment', segment: 'seg_gone', op: 'not_in' }, 'Not in segment seg_gone'],
    [{ source: 'score', model: 'engagement', op: 'gte', value: 50 }, 'Engagement score ≥ 50'],
    [{ source: 'lifecycle', op: 'in', stages: ['MQL', 'SQL'] }, 'Stage is MQL or SQL'],
    [{ source: 'lifecycle', op: 'not_in', stages: ['customer'] }, 'Stage is not customer'],
    [{ source: 'message', step: 'send_email_1', op: 'not_opened' }, 'Did not open Welcome'],
    [{ source: 'trait', path: 'plan', op: 'eq', value: 'pro' }, 'plan = pro'],
    [{ source: 'event', path: 'properties.total', op: 'gt', value: 100 }, 'Event properties.total > 100'],
    [{ source: 'trait', path: 'phone', op: 'exists' }, 'phone is set'],
    [
      { source: 'entry_event', path: 'properties.channel', op: 'contains', value: 'web' },
      'Entry event properties.channel contains web',
    ],
    // Not chosen yet: said so, rather than an empty name.
    [{ source: 'segment', segment: '', op: 'in' }, 'In segment ?'],
    [{ source: 'score', model: '', op: 'gte', value: Number.NaN }, '? score ≥ ?'],
    [{ source: 'trait', path: '', op: 'eq', value: '' }, '? = ?'],
  ] satisfies Array<[Condition, string]>)('says %j as "%s"', (condition, said) => {
    expect(conditionSummary(condition, NAMES, t)).toBe(said);
  });

  it('asks all of an arm’s conditions as one question, in the reader’s language', async () => {
    const conditions: Condition[] = [
      { source: 'segment', segment: 'seg_01', op: 'in' },
      { source: 'lifecycle', op: 'in', stages: ['mql', 'sql'] },
    ];
    expect(armSummary(conditions, NAMES, t)).toBe('In segment Cart abandoners and Stage is mql or sql?');
    await i18n.changeLanguage('it');
    try {
      expect(armSummary(conditions, NAMES, t)).toBe('Nel segmento Cart abandoners e Fase mql o sql?');
    } finally {
      await i18n.changeLanguage('en');
    }
  });
});
