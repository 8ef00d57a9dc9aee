import { useTranslation } from 'react-i18next';

/** Numbers and dates in the console's language (1.234,5 and 29/11/2026 in Italian). */
export function useFormat() {
  const { i18n } = useTranslation();
  const locale = i18n.language;
  return {
    number: (value: number) => new Intl.NumberFormat(locale).format(value),
    dateTime: (iso: string | null | undefined) =>
      iso
        ? new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso))
        : '',
  };
}
