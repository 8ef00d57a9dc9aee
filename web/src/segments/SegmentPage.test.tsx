// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SessionProvider } from '../app/session.js';
import { setupI18n } from '../i18n.js';
import { SegmentPage } from './SegmentPage.js';
import type { SegmentJson } from './segment-api.js';

const FAIR: SegmentJson = {
  id: 'seg_fair',
  name: 'Fair visitors',
  description: 'Met at the fair',
  kind: 'static',
  rule: null,
  version: 1,
  status: 'ready',
  readySince: '2026-11-30T10:00:00.000Z',
  members: 0,
  backfill: { total: 0, done: 0, startedAt: null, finishedAt: null, failure: null },
  createdAt: '2026-11-30T10:00:00.000Z',
  updatedAt: '2026-11-30T10:00:00.000Z',
};

/** A server holding one static segment; the bodies of the changes sent to it. */
function segmentServer() {
  const changes: unknown[] = [];
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  vi.stubGlobal(
    'fetch',
    vi.fn(async (path: string, init?: RequestInit) => {
      if (path === '/api/workspaces')
        return json(200, { items: [{ id: 'ws', name: 'Shop', role: 'admin' }] });
      if (path === '/api/workspaces/ws/segments/seg_fair' && init?.method === 'PUT') {
        const body = JSON.parse(String(init.body)) as Record<string, unknown>;
        changes.push(body);
        return json(200, { ...FAIR, ...body });
      }
      if (path === '/api/workspaces/ws/segments/seg_fair') return json(200, FAIR);
      if (path.startsWith('/api/workspaces/ws/segments/seg_fair/members'))
        return json(200, { items: [], nextCursor: null });
      return json(200, { items: [] });
    }),
  );
  return changes;
}

describe('segment page', () => {
  beforeAll(async () => {
    localStorage.setItem('mops.language', 'en');
    await setupI18n();
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it('clears the description whose box was emptied, as the API keeps one left out', async () => {
    const changes = segmentServer();
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <MemoryRouter initialEntries={['/segments/seg_fair']}>
          <SessionProvider user={{ id: 'u', email: 'a@example.com', name: null }}>
            <Routes>
              <Route path="/segments/:segmentId" element={<SegmentPage />} />
            </Routes>
          </SessionProvider>
        </MemoryRouter>
      </QueryClientProvider>,
    );
    const description = await screen.findByLabelText('Description (optional)');
    expect((description as HTMLInputElement).value).toBe('Met at the fair');
    fireEvent.change(description, { target: { value: '  ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(changes).toHaveLength(1));
    expect(changes[0]).toMatchObject({ name: 'Fair visitors', description: null });
  });
});
