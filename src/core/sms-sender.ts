/** Twilio's id of a messaging service, which picks the sender itself. */
const MESSAGING_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;

/**
 * Who a text comes from: a phone number in E.164 form, a short code (5–6 digits), an alphanumeric
 * sender ID (up to 11 letters, digits and spaces, a letter among them: the usual sender of marketing
 * texts in much of Europe, one-way — nobody can reply to it), or a messaging service SID (`MG…`).
 */
const SMS_SENDER =
  /^(\+[1-9]\d{6,14}|\d{5,6}|(?=[A-Za-z0-9 ]*[A-Za-z])[A-Za-z0-9](?:[A-Za-z0-9 ]{0,9}[A-Za-z0-9])?|MG[0-9a-fA-F]{32})$/;

export function isSmsSender(from: string): boolean {
  return SMS_SENDER.test(from);
}

export function isMessagingService(from: string): boolean {
  return MESSAGING_SERVICE_SID.test(from);
}

/** A number as people write it (`+39 347 000 0001`, `+1 (415) 555-0100`) in E.164; any other sender as it is. */
export function normalisedSender(from: string): string {
  const trimmed = from.trim();
  return /^\+[\d\s().-]+$/.test(trimmed) ? trimmed.replace(/[\s().-]/g, '') : trimmed;
}
