// @vitest-environment jsdom
import i18next from 'i18next';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupI18n } from '../i18n.js';
import { wordMessageReason } from './message-reasons.js';

describe("a message's reason, in the console's language", () => {
  beforeAll(async () => {
    await setupI18n();
  });

  const worded = async (language: string, reason: string) => {
    await i18next.changeLanguage(language);
    return wordMessageReason(reason, i18next.t.bind(i18next));
  };

  it('words the reasons Mops records, whole or with what they name', async () => {
    expect(await worded('it', 'no SMTP server is configured for this workspace')).toBe(
      'nessun server SMTP configurato per quest’area di lavoro',
    );
    expect(await worded('it', 'address suppressed: hard_bounce')).toBe(
      'indirizzo bloccato: rimbalzo permanente',
    );
    expect(await worded('it', 'frequency cap: 2 per 1d')).toBe('limite di frequenza: 2 ogni 1d');
    expect(await worded('it', 'quiet hours 21:00–08:00 (Europe/Rome)')).toBe(
      'ore di silenzio 21:00–08:00 (Europe/Rome)',
    );
    expect(await worded('en', 'unsubscribed from deals')).toBe('unsubscribed from deals');
  });

  it('keeps what a receiver or provider said as it was, after the words it knows', async () => {
    expect(await worded('it', 'retrying: HTTP 503 from the receiver')).toBe(
      'nuovo tentativo: HTTP 503 from the receiver',
    );
    expect(await worded('it', 'SMTP 550: mailbox unavailable')).toBe('SMTP 550: mailbox unavailable');
  });
});
