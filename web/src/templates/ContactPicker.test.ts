import { describe, expect, it } from 'vitest';
import { contactLabel } from './ContactPicker.js';

const contact = (traits: Record<string, unknown>, userId: string | null = null) => ({
  id: 'prf_1',
  userId,
  traits,
});

describe('contact labels in the preview picker', () => {
  it('names a contact by full name and e-mail when known', () => {
    expect(
      contactLabel(contact({ first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' })),
    ).toBe('Ada Lovelace <ada@example.com>');
    expect(contactLabel(contact({ name: 'Grace' }))).toBe('Grace');
  });

  it('falls back to the e-mail, then the user id, then the profile id', () => {
    expect(contactLabel(contact({ email: 'ada@example.com', first_name: ' ' }, 'u1'))).toBe(
      'ada@example.com',
    );
    expect(contactLabel(contact({ plan: 'pro' }, 'u1'))).toBe('u1');
    expect(contactLabel(contact({ first_name: 42 }))).toBe('prf_1');
  });
});
