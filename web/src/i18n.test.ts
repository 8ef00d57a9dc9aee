import { describe, expect, it } from 'vitest';
import { initialLanguage, registeredMessages } from './i18n.js';
import { STEP_TYPES } from './journeys/graph.js';
// Every page, so that every feature's texts are registered.
import './app/App.js';

/** Every leaf of a catalogue, as `a.b.c`. */
function leaves(value: unknown, prefix = ''): Map<string, string> {
  const found = new Map<string, string>();
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof child === 'string') found.set(path, child);
    else for (const [inner, text] of leaves(child, path)) found.set(inner, text);
  }
  return found;
}

describe('languages', () => {
  it('takes the stored choice, else the browser language, else English', () => {
    expect(initialLanguage('it', ['en-GB'])).toBe('it');
    expect(initialLanguage(null, ['it-IT', 'en'])).toBe('it');
    expect(initialLanguage(null, ['de-DE', 'en-US'])).toBe('en');
    expect(initialLanguage('klingon', ['fr'])).toBe('en');
  });

  it('has an Italian text for every English one, with the same placeholders', () => {
    const placeholders = (text: string) =>
      [...text.matchAll(/\{\{(\w+)\}\}/g)].map((match) => match[1]).sort();
    for (const [feature, { en, it: italian }] of registeredMessages()) {
      const english = leaves(en, feature);
      const translated = leaves(italian, feature);
      expect([...translated.keys()].sort()).toEqual([...english.keys()].sort());
      for (const [key, text] of english) {
        expect(translated.get(key), key).not.toBe('');
        expect(placeholders(translated.get(key) ?? ''), key).toEqual(placeholders(text));
      }
    }
  });

  it('calls each kind of step by the name the journey builder gives it, wherever the console names it', () => {
    // Objects naming three or more step types are such lists (the dashboard's funnel once had its own:
    // "Diramazione" and "Suddivisione" for the builder's "Ramificazione" and "Test A/B").
    const lists = (value: unknown, path: string): Array<[string, Record<string, unknown>]> => {
      if (value === null || typeof value !== 'object') return [];
      const record = value as Record<string, unknown>;
      const own: Array<[string, Record<string, unknown>]> =
        STEP_TYPES.filter((type) => type in record).length >= 3 ? [[path, record]] : [];
      return [...own, ...Object.entries(record).flatMap(([key, child]) => lists(child, `${path}.${key}`))];
    };
    for (const language of ['en', 'it'] as const) {
      const main = registeredMessages()[0]?.[1][language] as { builder: { steps: Record<string, string> } };
      const builder = main.builder.steps;
      for (const [feature, messages] of registeredMessages())
        for (const [path, list] of lists(messages[language], feature))
          for (const type of STEP_TYPES)
            if (type in list) expect(list[type], `${language} ${path}.${type}`).toBe(builder[type]);
    }
  });
});
