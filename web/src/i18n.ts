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

/** Each feature's texts, under its own key (`templates.title`), English and Italian alike. */
const features = new Map<string, { en: object; it: object }>();

/**
 * Registers a feature's texts under `key`; a feature module calls it once, at import. The Italian
 * catalogue must have the English one's shape, which the compiler checks.
 */
export function defineMessages<T extends object>(key: string, messages: { en: T; it: T }): void {
  features.set(key, messages);
  if (i18next.isInitialized) {
    i18next.addResourceBundle('en', 'translation', { [key]: messages.en }, true, true);
    i18next.addResourceBundle('it', 'translation', { [key]: messages.it }, true, true);
  }
}

/** Every registered catalogue, for the test that checks Italian is complete. */
export function registeredMessages(): Array<[string, { en: object; it: object }]> {
  return [['', { en, it }], ...features];
}

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
  const catalogue = (lang: 'en' | 'it') => ({
    ...(lang === 'en' ? en : it),
    ...Object.fromEntries([...features].map(([key, messages]) => [key, messages[lang]])),
  });
  await i18next.use(initReactI18next).init({
    resources: { en: { translation: catalogue('en') }, it: { translation: catalogue('it') } },
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
