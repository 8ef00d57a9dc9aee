import { createRequire } from 'node:module';
import { SegmentedMessage } from 'sms-segments-calculator';

/**
 * Twilio's Smart Encoding table (curly quotes, dashes, non-breaking and odd spaces, … to their GSM-7
 * look-alikes), as the calculator ships it (the package exports only its calculators; the table is a
 * CommonJS module of its own) — but with each kind of space, and a tab, put as one space: the
 * calculator's table has two spaces, or seven for a tab, where a reader sees one gap.
 */
const SMART_ENCODING: ReadonlyMap<string, string> = new Map(
  Object.entries(
    (
      createRequire(import.meta.url)('sms-segments-calculator/dist/libs/SmartEncodingMap.js') as {
        default: Record<string, string>;
      }
    ).default,
  ).map(([character, lookAlike]) => [character, /^ +$/.test(lookAlike) ? ' ' : lookAlike]),
);

const UCS2_UNIT_BITS = 16;

export interface SmsSegments {
  /** GSM-7 when every character is in the GSM alphabet, else UCS-2 (a third of the room per segment). */
  encoding: 'GSM-7' | 'UCS-2';
  segments: number;
  /**
   * Characters as carriers count them, in the units a segment holds 160 or 70 of: GSM-7 septets (the
   * extension characters €, [, ]… take two) or UCS-2 code units (an emoji takes two).
   */
  characters: number;
  /** The characters that force UCS-2, to find and replace them. */
  nonGsmCharacters: string[];
}

/** How carriers will split and bill a text (Twilio's own calculator). */
export function smsSegments(text: string): SmsSegments {
  const message = new SegmentedMessage(text, 'auto');
  const isGsm = message.encodingName === 'GSM-7';
  return {
    encoding: isGsm ? 'GSM-7' : 'UCS-2',
    segments: message.segmentsCount,
    // The calculator counts UCS-2 texts by code point; a segment holds 16-bit units.
    characters: isGsm ? message.numberOfCharacters : message.messageSize / UCS2_UNIT_BITS,
    nonGsmCharacters: [...new Set(message.getNonGsmCharacters())],
  };
}

/**
 * The text with the characters Twilio's Smart Encoding replaces put as their GSM-7 look-alikes (’ as
 * ', “ as ", – as -, a non-breaking space as a space), and which characters those were: copy pasted
 * from a document otherwise goes as UCS-2, at up to three times the segments. As Twilio does, only
 * when that makes the whole text GSM-7: one that stays UCS-2 (an emoji, Polish letters) costs the
 * same with its own quotes, so it keeps them. Done here rather than left to the provider, so that it
 * holds for any Twilio-compatible one and for a plain sender number, and the preview counts what is sent.
 */
export function smartEncoded(text: string): { text: string; replaced: string[] } {
  const replaced = new Set<string>();
  let encoded = '';
  for (const character of text) {
    const lookAlike = SMART_ENCODING.get(character);
    if (lookAlike === undefined) encoded += character;
    else {
      encoded += lookAlike;
      replaced.add(character);
    }
  }
  if (replaced.size === 0 || new SegmentedMessage(encoded, 'auto').encodingName !== 'GSM-7')
    return { text, replaced: [] };
  return { text: encoded, replaced: [...replaced] };
}
