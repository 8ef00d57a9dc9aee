import { describe, expect, it } from 'vitest';
import { initialLanguage, registeredMessages } from './i18n.js';
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
});
