import { describe, expect, it } from 'vitest';
import { isStorableText, storableError } from './storable-text.js';

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
