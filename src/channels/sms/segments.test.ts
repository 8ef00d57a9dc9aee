import { describe, expect, it } from 'vitest';
import { smartEncoded, smsSegments } from './segments.js';

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

describe('Smart Encoding', () => {
  it('puts curly quotes, dashes and odd spaces as their GSM-7 look-alikes, so a pasted text stays GSM-7', () => {
    const pasted = '“Don’t miss it” – 20\u00a0% off… ½ price';
    expect(smsSegments(pasted).encoding).toBe('UCS-2');
    const { text, replaced } = smartEncoded(pasted);
    expect(text).toBe('"Don\'t miss it" - 20 % off... 1/2 price');
    expect(replaced.sort()).toEqual(['\u00a0', '½', '–', '’', '“', '”', '…'].sort());
    expect(smsSegments(text)).toMatchObject({ encoding: 'GSM-7', nonGsmCharacters: [] });
  });

  it('puts each kind of space, and a tab, as one space, and drops zero-width ones', () => {
    expect(smartEncoded('a\u2009b\u202fc\td\u200be')).toEqual({
      text: 'a b c de',
      replaced: ['\u2009', '\u202f', '\t', '\u200b'],
    });
  });

  it('leaves a text that stays UCS-2 whatever it replaces (an emoji, Polish letters) as it is, and GSM-7 text too', () => {
    // Its curly quotes cost nothing more once it is UCS-2 anyway.
    expect(smartEncoded('“Ciao” 🛒')).toEqual({ text: '“Ciao” 🛒', replaced: [] });
    expect(smartEncoded('Cześć 😀 [ok] 5€ àèéìòù')).toEqual({
      text: 'Cześć 😀 [ok] 5€ àèéìòù',
      replaced: [],
    });
    // Only own entries of the table count: an inherited name is no character to replace.
    expect(smartEncoded('constructor toString')).toEqual({ text: 'constructor toString', replaced: [] });
  });
});
