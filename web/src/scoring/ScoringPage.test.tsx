// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SessionProvider } from '../app/session.js';
import { setupI18n } from '../i18n.js';
import type { ScoreModelJson } from './model-form.js';
import { ScoringPage } from './ScoringPage.js';

const ENGAGEMENT: ScoreModelJson = {
  id: 'engagement',
  name: 'Engagement',
  rules: [{ id: 'demo', kind: 'event', event: 'Demo Requested', points: 40 }],
};

/** A server where the user is a member: the settings are refused, the definitions are not. */
function memberServer(role: string) {
  const asked: string[] = [];
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  vi.stubGlobal(
    'fetch',
    vi.fn(async (path: string) => {
      asked.push(path);
      if (path === '/api/workspaces') return json(200, { items: [{ id: 'ws', name: 'Shop', role }] });
      if (path === '/api/workspaces/ws/scoring/definitions')
        return json(200, { models: [ENGAGEMENT], stages: [], topics: [] });
      if (path === '/api/workspaces/ws/settings' && role !== 'member')
        return json(200, { timezone: 'UTC', scoring: { models: [ENGAGEMENT] } });
      return json(403, { error: { code: 'forbidden', message: 'admins only' } });
    }),
  );
  return asked;
}

function renderPage() {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter initialEntries={['/scoring']}>
        <SessionProvider user={{ id: 'u', email: 'm@example.com', name: null }}>
          <ScoringPage />
        </SessionProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('scoring page', () => {
  beforeAll(async () => {
    localStorage.setItem('mops.language', 'en');
    await setupI18n();
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it('shows a member the models to read, without the settings they may not open', async () => {
    const asked = memberServer('member');
    renderPage();
    expect(await screen.findByRole('heading', { name: 'Engagement' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'New model' })).toBeNull();
    expect(screen.queryByRole('button', { name: /^Edit/ })).toBeNull();
    expect(screen.queryByRole('link', { name: 'Lifecycle and hand-off' })).toBeNull();
    expect(screen.getByRole('link', { name: 'Hand-offs' })).toBeTruthy();
    expect(asked).not.toContain('/api/workspaces/ws/settings');
  });

  it('lets an admin create and edit models', async () => {
    memberServer('admin');
    renderPage();
    expect(await screen.findByRole('heading', { name: 'Engagement' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'New model' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Edit Engagement' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Lifecycle and hand-off' })).toBeTruthy();
  });
});
