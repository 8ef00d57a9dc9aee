// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { setupI18n } from '../i18n.js';
import './messages.js';
import { SubscriptionsSection } from './MessagesSection.js';

/** A server holding one contact subscribed to marketing, their number suppressed for `suppressed`. */
function fakeServer(suppressed: string | null) {
  const json = (body: unknown) =>
    new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  vi.stubGlobal(
    'fetch',
    vi.fn(async (path: string) =>
      path.endsWith('/subscriptions')
        ? json({
            topics: { marketing: true },
            channels: { email: { marketing: true }, sms: { marketing: true } },
            suppressed: { sms: suppressed },
          })
        : json({ topics: [{ id: 'marketing', name: 'Marketing' }] }),
    ),
  );
}

const renderSection = () =>
  render(
    <QueryClientProvider client={new QueryClient()}>
      <SubscriptionsSection workspaceId="ws" profileId="prf_1" />
    </QueryClientProvider>,
  );

describe('a contact’s subscriptions', () => {
  beforeAll(async () => {
    localStorage.setItem('mops.language', 'en');
    await setupI18n();
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it('shows texts as suppressed while the number is, saying why, and e-mail as chosen', async () => {
    fakeServer('unsubscribed');
    renderSection();
    const row = (await screen.findByText('Marketing')).closest('tr') as HTMLElement;
    expect([...row.querySelectorAll('td')].map((cell) => cell.textContent)).toEqual([
      'Marketing',
      'Yes',
      'Suppressed',
    ]);
    expect(screen.getByText(/replied STOP, so no text goes to it/)).toBeTruthy();
  });

  it('shows texts as chosen, with no note, while the number is not suppressed', async () => {
    fakeServer(null);
    renderSection();
    const row = (await screen.findByText('Marketing')).closest('tr') as HTMLElement;
    expect(within(row).getAllByText('Yes')).toHaveLength(2);
    expect(screen.queryByText(/suppressed/i)).toBeNull();
  });
});
