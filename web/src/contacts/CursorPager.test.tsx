// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setupI18n } from '../i18n.js';
import { CursorPager } from './CursorPager.js';
import { useCursorPages } from './cursor-paging.js';

/** Stands in for the API: page n answers with the cursor of page n + 1, up to three pages. */
const nextCursorAfter = (cursor: string | undefined) => {
  const page = cursor ? Number(cursor.slice(1)) : 1;
  return page < 3 ? `c${page + 1}` : null;
};

function PagedList() {
  const [query, setQuery] = useState('ada');
  const pages = useCursorPages(query);
  return (
    <>
      <output data-testid="asked">{pages.cursor ?? 'first'}</output>
      <button type="button" onClick={() => setQuery('bo')}>
        new search
      </button>
      <CursorPager pages={pages} nextCursor={nextCursorAfter(pages.cursor)} list="Contacts" />
    </>
  );
}

describe('cursor pager', () => {
  beforeAll(async () => {
    await setupI18n();
  });
  afterEach(cleanup);

  it('asks each page with the cursor the previous one gave, goes back, and restarts on a new search', async () => {
    render(<PagedList />);
    const asked = () => screen.getByTestId('asked').textContent;
    const button = (name: string) => screen.getByRole('button', { name }) as HTMLButtonElement;
    expect(asked()).toBe('first');
    expect(button('Previous').disabled).toBe(true);

    await act(async () => fireEvent.click(button('Next')));
    await act(async () => fireEvent.click(button('Next')));
    expect(asked()).toBe('c3');
    expect(screen.getByText('Page 3')).toBeTruthy();
    expect(button('Next').disabled).toBe(true);

    await act(async () => fireEvent.click(button('Previous')));
    expect(asked()).toBe('c2');

    await act(async () => fireEvent.click(button('new search')));
    expect(asked()).toBe('first');
    expect(screen.getByText('Page 1')).toBeTruthy();
  });

  it('shows nothing while the list has a single page', () => {
    const pages = { cursor: undefined, page: 1, hasPrevious: false, next: () => {}, previous: () => {} };
    render(<CursorPager pages={pages} nextCursor={null} list="Contacts" />);
    expect(screen.queryByRole('navigation')).toBeNull();
  });
});
