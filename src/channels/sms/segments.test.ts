import { describe, expect, it } from 'vitest';
import { smsSegments } from './segments.js';

describe('SMS segments', () => {
  it('counts GSM-7 texts in septets, extension characters twice, 160 to a single segment and 153 when split', () => {
    expect(smsSegments('Hello world')).toEqual({
      encoding: 'GSM-7',
      segments: 1,
      characters: 11,
      nonGsmCharacters: [],
    });
    expect(smsSegments('Price: 5€ [now]')).toMatchObject({ encoding: 'GSM-7', characters: 18 });
    expect(smsSegments('x'.repeat(160)).segments).toBe(1);
    expect(smsSegments('x'.repeat(161)).segments).toBe(2);
    expect(smsSegments('x'.repeat(306)).segments).toBe(2);
    expect(smsSegments('x'.repeat(307)).segments).toBe(3);
  });

  it('falls back to UCS-2 for a character outside GSM-7, with 70 to a segment and 67 when split, and names it', () => {
    const text = `Ciao ${'a'.repeat(60)} 😀`;
    expect(smsSegments(text)).toMatchObject({ encoding: 'UCS-2', segments: 1, nonGsmCharacters: ['😀'] });
    expect(smsSegments(`Ł${'a'.repeat(69)}`)).toMatchObject({ encoding: 'UCS-2', segments: 1 });
    expect(smsSegments(`Ł${'a'.repeat(70)}`)).toMatchObject({ encoding: 'UCS-2', segments: 2 });
    expect(smsSegments(`Ł${'a'.repeat(134)}`).segments).toBe(3);
  });

  it('counts an emoji as the two UCS-2 units it takes, so that 70 to a segment holds for what it shows', () => {
    expect(smsSegments('😀'.repeat(35))).toMatchObject({ encoding: 'UCS-2', characters: 70, segments: 1 });
    expect(smsSegments('😀'.repeat(36))).toMatchObject({ encoding: 'UCS-2', characters: 72, segments: 2 });
    expect(smsSegments('Ciao 😀')).toMatchObject({ characters: 7 });
  });
});
