// @vitest-environment jsdom
import i18next from 'i18next';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupI18n } from '../i18n.js';
import { type IssueDetail, wordIssue } from './issue-wording.js';

describe("a server refusal's issue, in the console's language", () => {
  beforeAll(async () => {
    await setupI18n();
  });

  const worded = async (language: string, issue: IssueDetail) => {
    await i18next.changeLanguage(language);
    return wordIssue(issue, i18next.t.bind(i18next), language);
  };
  const tooBig = { code: 'too_big', origin: 'number', limit: 1_000_000, inclusive: true } as const;

  it('words bounds with the number as the language writes it', async () => {
    expect(await worded('en', tooBig)).toBe('At most 1,000,000');
    expect(await worded('it', tooBig)).toBe('Al massimo 1.000.000');
    expect(await worded('en', { ...tooBig, inclusive: false })).toBe('Less than 1,000,000');
    expect(await worded('it', { code: 'too_small', origin: 'number', limit: 0, inclusive: false })).toBe(
      'Più di 0',
    );
    expect(await worded('en', { code: 'too_big', origin: 'string', limit: 255, inclusive: true })).toBe(
      'At most 255 characters',
    );
    expect(await worded('it', { code: 'too_small', origin: 'array', limit: 2, inclusive: true })).toBe(
      'Almeno 2 elementi',
    );
  });

  it('words a refusal of Mops’s own by its reason, with what it names', async () => {
    expect(await worded('it', { code: 'refused', reason: 'wrong_credentials' })).toBe(
      'L’e-mail o la password sono sbagliate.',
    );
    expect(
      await worded('it', { code: 'refused', reason: 'last_owner', params: { email: 'ada@example.com' } }),
    ).toBe(
      'ada@example.com è l’ultimo proprietario dell’area di lavoro: rendi prima proprietario un altro membro.',
    );
    expect(await worded('en', { code: 'refused', reason: 'smtp_not_configured' })).toBe(
      'Set up an SMTP server in Settings first.',
    );
    expect(await worded('it', { code: 'refused', reason: 'duration_too_long' })).toBe(
      'Al massimo 520w (dieci anni)',
    );
    expect(
      await worded('it', { code: 'refused', reason: 'loop_without_wait', params: { steps: 'a → b → a' } }),
    ).toMatch(/^a → b → a torna indietro senza un’attesa/);
  });

  it('takes a value missing, or a text refused as too short to have one letter, as required', async () => {
    expect(await worded('it', { code: 'required' })).toBe('Obbligatorio');
    expect(await worded('en', { code: 'too_small', origin: 'string', limit: 1, inclusive: true })).toBe(
      'Required',
    );
  });

  it('words types, formats and choices it knows, and leaves the others to the server’s message', async () => {
    expect(await worded('it', { code: 'invalid_type', expected: 'number' })).toBe('Deve essere un numero');
    expect(await worded('en', { code: 'invalid_format', format: 'email' })).toBe('Must be an e-mail address');
    expect(await worded('en', { code: 'invalid_value', values: ['write', 'secret'] })).toBe(
      'Must be one of: write, secret',
    );
    expect(await worded('it', { code: 'unknown_field' })).toBe('Campo che Mops non conosce');
    // A pattern of the server's own says more in its own words ("1–64 lowercase letters…").
    expect(await worded('it', { code: 'invalid_format', format: 'regex' })).toBeUndefined();
    expect(await worded('it', { code: 'invalid_type', expected: 'bigint' })).toBeUndefined();
  });
});
