import { useTranslation } from 'react-i18next';
import type { CursorPages } from './cursor-paging.js';
import './messages.js';

/** Previous / Next for a cursor-paged list; hidden while there is a single page. */
export function CursorPager(props: {
  pages: CursorPages;
  nextCursor: string | null | undefined;
  list: string;
}) {
  const { t } = useTranslation();
  const { pages, nextCursor } = props;
  if (!pages.hasPrevious && !nextCursor) return null;
  return (
    <nav className="pager" aria-label={t('contacts.pages', { list: props.list })}>
      <button type="button" disabled={!pages.hasPrevious} onClick={pages.previous}>
        {t('common.previous')}
      </button>
      <span aria-live="polite">{t('contacts.pageNumber', { page: pages.page })}</span>
      <button type="button" disabled={!nextCursor} onClick={() => nextCursor && pages.next(nextCursor)}>
        {t('common.next')}
      </button>
    </nav>
  );
}
