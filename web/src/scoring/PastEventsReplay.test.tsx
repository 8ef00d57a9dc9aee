// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SessionProvider } from '../app/session.js';
import { setupI18n } from '../i18n.js';
import type { ScoreModelJson } from './model-form.js';
import { PastEventsReplay, type ScoreReplayJson } from './PastEventsReplay.js';

const ENGAGEMENT: ScoreModelJson = {
  id: 'engagement',
  name: 'Engagement',
  rules: [{ id: 'demo', kind: 'event', event: 'Demo Requested', points: 40 }],
};

const RUNNING: ScoreReplayJson = {
  id: 'srp_1',
  status: 'running',
  profilesTotal: 1000,
  profilesDone: 400,
  profilesScored: 120,
  awards: 300,
  points: 2500,
  finishedAt: null,
  reason: null,
};

/** A server with one replay of the model, running until it is stopped. */
function replayServer() {
  const posted: string[] = [];
  let replay = RUNNING;
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  vi.stubGlobal(
    'fetch',
    vi.fn(async (path: string, init?: RequestInit) => {
      if (path === '/api/workspaces')
        return json(200, { items: [{ id: 'ws', name: 'Shop', role: 'admin' }] });
      if (init?.method === 'POST') {
        posted.push(path);
        replay = { ...replay, status: 'cancelled', reason: 'stopped by m@example.com' };
        return json(200, replay);
      }
      if (path === '/api/workspaces/ws/scoring/models/engagement/replays')
        return json(200, { items: [replay] });
      return json(404, { error: { code: 'not_found', message: 'no such thing' } });
    }),
  );
  return posted;
}

function renderPanel(canStart: boolean) {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <SessionProvider user={{ id: 'u', email: 'm@example.com', name: null }}>
        <PastEventsReplay model={ENGAGEMENT} canStart={canStart} />
      </SessionProvider>
    </QueryClientProvider>,
  );
}

describe('applying a model to past events', () => {
  beforeAll(async () => {
    localStorage.setItem('mops.language', 'en');
    await setupI18n();
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it('shows a running replay’s progress, and lets an admin stop it where it has got to', async () => {
    const posted = replayServer();
    renderPanel(true);
    const progress = await screen.findByText('Applying to past events: 400 of about 1,000 contacts');
    expect(progress).toBeTruthy();
    expect(
      (screen.getByRole('button', { name: 'Apply to past events: Engagement' }) as HTMLButtonElement)
        .disabled,
    ).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    expect(await screen.findByText('Applying to past events stopped: stopped by m@example.com')).toBeTruthy();
    expect(posted).toEqual(['/api/workspaces/ws/scoring/replays/srp_1/cancel']);
    expect(screen.queryByRole('button', { name: 'Stop' })).toBeNull();
  });

  it('shows a member how it is going, without the buttons', async () => {
    replayServer();
    renderPanel(false);
    expect(await screen.findByText('Applying to past events: 400 of about 1,000 contacts')).toBeTruthy();
    expect(screen.queryByRole('button')).toBeNull();
  });
});
