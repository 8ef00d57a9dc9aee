import { randomInt } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import type { Message } from '../../core/journey.js';
import type { Storage } from '../../storage/storage.js';
import { type Append, appendProfileEvent } from '../email/engagement.js';

/** What a recipient's click on a tracked link in a text is written as, on their profile. */
export const SMS_LINK_CLICKED = 'SMS Link Clicked';

/** 62^10 codes: guessing one that exists takes ~10^17 tries per link sent. */
const CODE_LENGTH = 10;
const CODE_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CODE_PATTERN = new RegExp(`^[${CODE_ALPHABET}]{${CODE_LENGTH}}$`);
/** Codes are drawn again this often when one is taken already, before the send is retried later. */
const CODE_ATTEMPTS = 3;
/**
 * A link as texts write one: http(s):// up to a space or a quote. Punctuation ending a sentence
 * (`see https://shop.example/sale.`) or closing a bracket is not part of it.
 */
const LINK = /\bhttps?:\/\/[^\s<>"']+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?)\]}]+$/;

/** The links of a text, where each starts and ends. */
export function linksIn(text: string): Array<{ url: string; start: number; end: number }> {
  return [...text.matchAll(LINK)].map((match) => {
    const url = match[0].replace(TRAILING_PUNCTUATION, '');
    return { url, start: match.index, end: match.index + url.length };
  });
}

export function shortLinkUrl(publicUrl: string, code: string): string {
  return `${publicUrl}/s/${code}`;
}

function newCode(): string {
  let code = '';
  for (let index = 0; index < CODE_LENGTH; index++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

function replaced(text: string, links: ReturnType<typeof linksIn>, replacements: string[]): string {
  let result = '';
  let at = 0;
  links.forEach((link, index) => {
    result += text.slice(at, link.start) + replacements[index];
    at = link.end;
  });
  return result + text.slice(at);
}

/**
 * The text with each link a short link of the workspace's public address, stored with the message it
 * belongs to, so that a click is recorded and redirected (see `followShortLink`). Each link gets a
 * code of its own, the same URL twice two codes: a click names the place it was made in.
 */
export async function shortenLinks(
  storage: Storage,
  input: { text: string; message: Pick<Message, 'id' | 'workspaceId'>; publicUrl: string; now: number },
): Promise<string> {
  const links = linksIn(input.text);
  if (links.length === 0) return input.text;
  for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
    const codes = links.map(() => newCode());
    const stored = await storage.messages.addShortLinks(
      links.map((link, index) => ({
        code: codes[index] as string,
        workspaceId: input.message.workspaceId,
        messageId: input.message.id,
        url: link.url,
        createdAt: input.now,
      })),
    );
    if (stored)
      return replaced(
        input.text,
        links,
        codes.map((code) => shortLinkUrl(input.publicUrl, code)),
      );
  }
  throw new Error('no free short link code was found: the send is retried');
}

/** The text as a preview counts it: each link as long as the short link it would be sent as. */
export function withShortLinksForCounting(text: string, publicUrl: string): string {
  const links = linksIn(text);
  return replaced(
    text,
    links,
    links.map(() => shortLinkUrl(publicUrl, 'x'.repeat(CODE_LENGTH))),
  );
}

/** Where a short link goes, nothing recorded; 404 for a code no text was sent with. */
export async function shortLinkTarget(storage: Storage, code: string): Promise<string> {
  const link = CODE_PATTERN.test(code) ? await storage.messages.findShortLink(code) : undefined;
  if (!link) throw new AppError('not_found', 'this link does not exist, or no longer does');
  return link.url;
}

/**
 * A click on a short link: where it goes, after the click is recorded on the message (`clicked_at`,
 * the first time) and as `SMS Link Clicked` on the recipient's profile (once per link: the same
 * recipient opening it again is one click). 404 for a code no text was sent with.
 */
export async function followShortLink(
  deps: { storage: Storage; clock: Clock; append: Append },
  code: string,
): Promise<string> {
  const link = CODE_PATTERN.test(code) ? await deps.storage.messages.findShortLink(code) : undefined;
  const message = link ? await deps.storage.messages.findById(link.messageId) : undefined;
  if (!link || !message) throw new AppError('not_found', 'this link does not exist, or no longer does');
  await deps.storage.messages.markFirst(message.id, 'clicked_at', deps.clock.now());
  await appendProfileEvent(deps, {
    workspaceId: message.workspaceId,
    profileId: message.profileId,
    name: SMS_LINK_CLICKED,
    messageId: `sms_click:${code}`,
    properties: {
      message_id: message.id,
      journey_id: message.journeyId,
      step_id: message.stepId,
      url: link.url,
    },
  });
  return link.url;
}
