// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { setupI18n } from '../i18n.js';
import './messages.js';
import { SubscriptionsSection } from './MessagesSection.js';

/**
 * A server holding one contact subscribed to marketing and transactional on both channels, their
 * addresses suppressed for `suppressed`.
 */
function fakeServer(suppressed: { email: string | null; sms: string | null }) {
  const json = (body: unknown) =>
    new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  const subscribed = { marketing: true, transactional: true };
  vi.stubGlobal(
    'fetch',
    vi.fn(async (path: string) =>
      path.endsWith('/subscriptions')
        ? json({ topics: subscribed, channels: { email: subscribed, sms: subscribed }, suppressed })
        : json({
            topics: [
              { id: 'marketing', name: 'Marketing' },
              { id: 'transactional', name: 'Transactional' },
            ],
          }),
    ),
  );
}

const renderSection = () =>
  render(
    <QueryClientProvider client={new QueryClient()}>
      <SubscriptionsSection workspaceId="ws" profileId="prf_1" />
    </QueryClientProvider>,
  );

/** The cells of the topic's row: its name, then e-mails, then texts. */
async function row(topic: string) {
  const cells = (await screen.findByText(topic)).closest('tr')?.querySelectorAll('td') ?? [];
  return [...cells].map((cell) => cell.textContent);
}

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
    fakeServer({ email: null, sms: 'unsubscribed' });
    renderSection();
    expect(await row('Marketing')).toEqual(['Marketing', 'Yes', 'Suppressed']);
    expect(await row('Transactional')).toEqual(['Transactional', 'Yes', 'Suppressed']);
    expect(screen.getByText(/replied STOP, so no text goes to it/)).toBeTruthy();
  });

  it('shows e-mails as suppressed while the address is, saying why and until when, and texts as chosen', async () => {
    fakeServer({ email: 'hard_bounce', sms: null });
    renderSection();
    expect(await row('Marketing')).toEqual(['Marketing', 'Suppressed', 'Yes']);
    expect(await row('Transactional')).toEqual(['Transactional', 'Suppressed', 'Yes']);
    const notes = screen.getAllByText(/suppressed/).filter((node) => node.tagName === 'P');
    expect(notes.map((note) => note.textContent)).toEqual([
      'E-mails are suppressed: the contact’s address hard-bounced (the mailbox does not exist, or refuses all mail), so no e-mail goes to it whatever the topics say, until the address is removed from the suppression list.',
    ]);
  });

  it('shows receipts as chosen while the address is unsubscribed from every e-mail, as they still go to it', async () => {
    fakeServer({ email: 'unsubscribed', sms: 'complaint' });
    renderSection();
    expect(await row('Marketing')).toEqual(['Marketing', 'Suppressed', 'Suppressed']);
    expect(await row('Transactional')).toEqual(['Transactional', 'Yes', 'Suppressed']);
    expect(screen.getByText(/unsubscribed from every e-mail, so only transactional ones/)).toBeTruthy();
    expect(screen.getByText(/Texts are suppressed \(complaint\)/)).toBeTruthy();
  });

  it('shows both channels as chosen, with no note, while no address is suppressed', async () => {
    fakeServer({ email: null, sms: null });
    renderSection();
    const marketing = (await screen.findByText('Marketing')).closest('tr') as HTMLElement;
    expect(within(marketing).getAllByText('Yes')).toHaveLength(2);
    expect(screen.queryByText(/suppressed/i)).toBeNull();
  });
});
