import { describe, expect, it } from 'vitest';
import { fingerprint, MessageIdWindow } from './message-id-window.js';

function referenceFnv1a64(text: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash;
}

describe('fingerprint', () => {
  it.each([
    ['ws_1', 'm-1'],
    ['ws_01KAW0000000000000000000000', 'ajs-next-1700000000000-9f8e'],
    ['w', 'ünïcødé ✓'],
  ])('is FNV-1a 64 of %s / %s', (workspaceId, messageId) => {
    const expected = referenceFnv1a64(`${workspaceId}\n${messageId}`) | 1n;
    const [hi, lo] = fingerprint(workspaceId, messageId);
    expect((BigInt(hi) << 32n) | BigInt(lo)).toBe(expected);
  });
});

describe('MessageIdWindow', () => {
  it('remembers ids, forgets a rolled-back transaction, and survives growth', () => {
    const window = new MessageIdWindow(60_000, 0);
    window.begin(0);
    for (let i = 0; i < 200_000; i++) window.add('ws', `m${i}`);
    window.commit();
    expect(window.has('ws', 'm0')).toBe(true);
    expect(window.has('ws', 'm199999')).toBe(true);
    expect(window.has('ws', 'm200000')).toBe(false);
    expect(window.has('other', 'm0')).toBe(false);

    window.begin(1);
    window.add('ws', 'rolled-back');
    window.add('ws', 'm5');
    window.rollback();
    expect(window.has('ws', 'rolled-back')).toBe(false);
    // An id that was there before the transaction stays.
    expect(window.has('ws', 'm5')).toBe(true);
    expect(window.size).toBe(200_000);
  });

  it('keeps an id for at least the window and drops it after two', () => {
    const window = new MessageIdWindow(1000, 0);
    window.begin(0);
    window.add('ws', 'early');
    window.commit();
    window.begin(999);
    window.commit();
    expect(window.has('ws', 'early')).toBe(true);
    window.begin(1000);
    window.commit();
    expect(window.has('ws', 'early')).toBe(true);
    window.begin(2000);
    window.commit();
    expect(window.has('ws', 'early')).toBe(false);
  });
});
