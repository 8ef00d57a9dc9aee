import { useState } from 'react';

/**
 * Where a reader is in a list the API pages with `cursor`/`nextCursor`: the cursors of the pages
 * already passed, so that Previous goes back without the API having to page backwards.
 */
export interface CursorTrail {
  /** What the current page was asked with: the list's reset key, and the cursors that led here. */
  key: string;
  cursors: string[];
}

export const startTrail = (key: string): CursorTrail => ({ key, cursors: [] });

/** A new search (another key) starts again from the first page. */
export function trailFor(trail: CursorTrail, key: string): CursorTrail {
  return trail.key === key ? trail : startTrail(key);
}

export const nextPage = (trail: CursorTrail, nextCursor: string): CursorTrail => ({
  key: trail.key,
  cursors: [...trail.cursors, nextCursor],
});

export const previousPage = (trail: CursorTrail): CursorTrail => ({
  key: trail.key,
  cursors: trail.cursors.slice(0, -1),
});

/** The cursor to ask the current page with; undefined on the first page. */
export const cursorOf = (trail: CursorTrail): string | undefined => trail.cursors.at(-1);

export const pageNumberOf = (trail: CursorTrail): number => trail.cursors.length + 1;

export interface CursorPages {
  cursor: string | undefined;
  page: number;
  hasPrevious: boolean;
  next(nextCursor: string): void;
  previous(): void;
}

/** Cursor paging state for one list; changing `key` (the search, the contact) goes back to page 1. */
export function useCursorPages(key: string): CursorPages {
  const [stored, setTrail] = useState(() => startTrail(key));
  const trail = trailFor(stored, key);
  return {
    cursor: cursorOf(trail),
    page: pageNumberOf(trail),
    hasPrevious: trail.cursors.length > 0,
    next: (nextCursor) => setTrail(nextPage(trail, nextCursor)),
    previous: () => setTrail(previousPage(trail)),
  };
}

/** The query string of a cursor-paged request: `?limit=25&cursor=…&q=…`, leaving out what is unset. */
export function pageQuery(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
