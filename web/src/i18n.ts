import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en } from './locales/en.js';
import { it } from './locales/it.js';

export const LANGUAGES = [
  { code: 'en', label: 'English' },
  { code: 'it', label: 'Italiano' },
] as const;
export type Language = (typeof LANGUAGES)[number]['code'];

const STORAGE_KEY = 'mops.language';

/** The language chosen before, else the browser's first one we speak, else English. */
export function initialLanguage(stored: string | null, browser: readonly string[]): Language {
  const speaks = (code: string): code is Language => LANGUAGES.some((language) => language.code === code);
  if (stored && speaks(stored)) return stored;
  for (const tag of browser) {
    const base = tag.toLowerCase().split('-')[0] ?? '';
    if (speaks(base)) return base;
  }
  return 'en';
}

export async function setupI18n(): Promise<typeof i18next> {
  const language = initialLanguage(localStorage.getItem(STORAGE_KEY), navigator.languages ?? []);
  await i18next.use(initReactI18next).init({
    resources: { en: { translation: en }, it: { translation: it } },
    lng: language,
    fallbackLng: 'en',
    interpolation: { escapeValue: false },
  });
  document.documentElement.lang = language;
  i18next.on('languageChanged', (changed) => {
    localStorage.setItem(STORAGE_KEY, changed);
    document.documentElement.lang = changed;
  });
  return i18next;
}
