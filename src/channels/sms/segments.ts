import { SegmentedMessage } from 'sms-segments-calculator';

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
