import { describe, expect, it } from 'vitest';
import { LinkSigner } from './signed-links.js';

describe('signed links', () => {
  const signer = new LinkSigner('a-secret-of-some-length-for-tests');

  it('reads back what it signed, for the purpose it was signed for only', () => {
    const token = signer.sign('unsubscribe', { m: 'msg_1' });
    expect(signer.verify('unsubscribe', token)).toEqual({ m: 'msg_1' });
    expect(signer.verify('click', token)).toBeUndefined();
    expect(signer.verify('unsubscribe', `${token.slice(0, -1)}`)).toBeUndefined();
    expect(signer.verify('unsubscribe', token.split('.')[0] as string)).toBeUndefined();
  });

  it('takes a signature only as it was written, not in another spelling that decodes alike', () => {
    const token = signer.sign('unsubscribe', { m: 'msg_1' });
    const [body, signature] = token.split('.') as [string, string];
    // A 256-bit MAC in base64url leaves 2 spare bits in its last character: its siblings decode alike.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(signature.at(-1) as string);
    const sibling = alphabet[last ^ 1] as string;
    const spellings = [
      `${signature.slice(0, -1)}${sibling}`,
      `${signature}=`,
      `${signature.slice(0, 10)}!${signature.slice(10)}`,
      signature.replaceAll('-', '+').replaceAll('_', '/'),
    ].filter((spelling) => spelling !== signature);
    expect(spellings.length).toBeGreaterThanOrEqual(3);
    for (const spelling of spellings)
      expect(signer.verify('unsubscribe', `${body}.${spelling}`), spelling).toBeUndefined();
  });
});
