import { describe, expect, it } from 'vitest';
import { initialLanguage } from './i18n.js';
import { en } from './locales/en.js';
import { it as italian } from './locales/it.js';

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
    const english = leaves(en);
    const translated = leaves(italian);
    expect([...translated.keys()].sort()).toEqual([...english.keys()].sort());
    const placeholders = (text: string) =>
      [...text.matchAll(/\{\{(\w+)\}\}/g)].map((match) => match[1]).sort();
    for (const [key, text] of english) {
      expect(translated.get(key), key).not.toBe('');
      expect(placeholders(translated.get(key) ?? ''), key).toEqual(placeholders(text));
    }
  });
});
