import { describe, expect, it } from 'vitest';
import { isStorableText, quotedText, storableError } from './storable-text.js';

describe('an error as a column keeps it', () => {
  it('is cut to 2,000 characters, never leaving half an emoji, and holds no NUL', () => {
    const cutInsideEmoji = `${'x'.repeat(1999)}😀 and more`;
    const kept = storableError(cutInsideEmoji);
    expect(kept).toHaveLength(2000);
    expect(isStorableText(kept)).toBe(true);
    expect(kept.endsWith('\uFFFD')).toBe(true);
    expect(storableError('trait "a\0b" refused')).toBe('trait "a\uFFFDb" refused');
    expect(storableError('short')).toBe('short');
  });
});

describe('text quoted back to its sender', () => {
  it('keeps its first 200 characters and an ellipsis, never half an emoji, and no NUL', () => {
    expect(quotedText('ghost')).toBe('ghost');
    expect(quotedText('x'.repeat(200))).toBe('x'.repeat(200));
    expect(quotedText('x'.repeat(10_000_000))).toBe(`${'x'.repeat(200)}…`);
    const emojis = quotedText('😀'.repeat(300));
    expect(emojis).toBe(`${'😀'.repeat(200)}…`);
    expect(isStorableText(emojis)).toBe(true);
    expect(quotedText('a\0b')).toBe('a\uFFFDb');
  });
});
