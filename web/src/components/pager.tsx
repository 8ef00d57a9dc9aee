import { useState } from 'react';
import { useTranslation } from 'react-i18next';

const PAGE_SIZE = 25;

export interface Page<T> {
  items: T[];
  page: number;
  pages: number;
  setPage(page: number): void;
}

/** One page of a list the API returns whole. */
export function usePage<T>(all: readonly T[], size = PAGE_SIZE): Page<T> {
  const [page, setPage] = useState(1);
  const pages = Math.max(1, Math.ceil(all.length / size));
  const current = Math.min(page, pages);
  return { items: all.slice((current - 1) * size, current * size), page: current, pages, setPage };
}

export function Pager<T>(props: { page: Page<T> }) {
  const { t } = useTranslation();
  const { page, pages, setPage } = props.page;
  if (pages <= 1) return null;
  return (
    <nav className="pager" aria-label={t('common.pageOf', { page, pages })}>
      <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
        {t('common.previous')}
      </button>
      <span>{t('common.pageOf', { page, pages })}</span>
      <button type="button" disabled={page >= pages} onClick={() => setPage(page + 1)}>
        {t('common.next')}
      </button>
    </nav>
  );
}
