import { describe, expect, it, vi } from 'vitest';

/** The module as production loads it: the test set-up lowered the cost in the copy other tests use. */
async function freshPasswords() {
  vi.resetModules();
  return import('./passwords.js');
}

describe('password hashing', () => {
  it('hashes at OWASP’s scrypt cost, naming it in the hash, and checks the password against it', async () => {
    const passwords = await freshPasswords();
    const hash = await passwords.hashPassword('correct horse battery');
    expect(hash).toMatch(/^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await passwords.verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await passwords.verifyPassword('correct horse batterY', hash)).toBe(false);
    expect(passwords.passwordHashMatchingNothing()).toMatch(/^scrypt\$131072\$8\$1\$/);
  });

  it('checks a hash made at another cost by the parameters it names, and lowers the cost only when asked', async () => {
    const passwords = await freshPasswords();
    passwords.hashPasswordsCheaplyForTests();
    const cheap = await passwords.hashPassword('correct horse battery');
    expect(cheap).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(passwords.passwordHashMatchingNothing()).toMatch(/^scrypt\$1024\$8\$1\$/);

    const production = await freshPasswords();
    expect(await production.verifyPassword('correct horse battery', cheap)).toBe(true);
    expect(await production.verifyPassword('wrong horse battery', cheap)).toBe(false);
    expect(
      await production.verifyPassword('correct horse battery', production.passwordHashMatchingNothing()),
    ).toBe(false);
  });
});
