import { SegmentedMessage } from 'sms-segments-calculator';

export interface SmsSegments {
  /** GSM-7 when every character is in the GSM alphabet, else UCS-2 (a third of the room per segment). */
  encoding: 'GSM-7' | 'UCS-2';
  segments: number;
  /** Characters as the contact sees them, except that GSM extension characters (€, [, ]…) count twice. */
  characters: number;
  /** The characters that force UCS-2, to find and replace them. */
  nonGsmCharacters: string[];
}

/** How carriers will split and bill a text (Twilio's own calculator). */
export function smsSegments(text: string): SmsSegments {
  const message = new SegmentedMessage(text, 'auto');
  return {
    encoding: message.encodingName === 'GSM-7' ? 'GSM-7' : 'UCS-2',
    segments: message.segmentsCount,
    characters: message.numberOfCharacters,
    nonGsmCharacters: [...new Set(message.getNonGsmCharacters())],
  };
}
