import { randomInt } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import type { Message } from '../../core/journey.js';
import type { Storage } from '../../storage/storage.js';
import { type Append, appendProfileEvent, isTestSend } from '../email/engagement.js';

/** What a recipient's click on a tracked link in a text is written as, on their profile. */
export const SMS_LINK_CLICKED = 'SMS Link Clicked';

/** 62^10 codes: guessing one that exists takes ~10^17 tries per link sent. */
const CODE_LENGTH = 10;
const CODE_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CODE_PATTERN = new RegExp(`^[${CODE_ALPHABET}]{${CODE_LENGTH}}$`);
/** Codes are drawn again this often when one is taken already, before the send is retried later. */
const CODE_ATTEMPTS = 3;
/** A link as texts write one: http(s):// up to a space, an angle bracket or a double quote of any kind. */
const LINK = /\bhttps?:\/\/[^\s<>"“”«»]+/gi;
/** What ends a sentence or a quotation after a link (`see https://shop.example/sale.`), not the link. */
const TRAILING = new Set([...".,;:!?'’‘"]);
const CLOSING_BRACKETS: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/**
 * Without what follows a link in a sentence: punctuation, and a closing bracket the link did not open.
 * Brackets are counted once and the counts kept as the end is cut: a run of thousands of `)` (a trait
 * is whatever a client sent) costs a pass, not a pass per bracket.
 */
function trimmedLink(candidate: string): string {
  const openings = new Set(Object.values(CLOSING_BRACKETS));
  const count = new Map<string, number>();
  for (const character of candidate)
    if (openings.has(character) || character in CLOSING_BRACKETS)
      count.set(character, (count.get(character) ?? 0) + 1);
  let end = candidate.length;
  while (end > 0) {
    const last = candidate[end - 1] as string;
    const opening = CLOSING_BRACKETS[last];
    const isUnbalanced = opening !== undefined && (count.get(opening) ?? 0) < (count.get(last) ?? 0);
    if (!TRAILING.has(last) && !isUnbalanced) break;
    if (opening !== undefined) count.set(last, (count.get(last) ?? 0) - 1);
    end--;
  }
  return candidate.slice(0, end);
}

/**
 * The longest rendered text links are looked for in: a text may have 1,600 characters once its links
 * are short, and one longer than this never will (a trait stuffed with brackets is refused here).
 */
export const MAX_TEXT_BEFORE_SHORTENING = 16_000;

/** The links of a text, where each starts and ends. */
export function linksIn(text: string): Array<{ url: string; start: number; end: number }> {
  return [...text.matchAll(LINK)].map((match) => {
    const url = trimmedLink(match[0]);
    return { url, start: match.index, end: match.index + url.length };
  });
}

/**
 * The sites a step's text links to as it is written (`https://shop.example/sale/{{ … }}` names
 * shop.example): only links to them are shortened, never one a contact's data brought into the text
 * (a first name sent as `https://evil.example`), which the short link would otherwise forward to under
 * the brand's own address.
 */
export function linkedSites(template: string): Set<string> {
  const sites = new Set<string>();
  for (const { url } of linksIn(template)) {
    const site = siteOf(url);
    if (site) sites.add(site);
  }
  return sites;
}

/** `https://shop.example` for a link to it; undefined for one that is no URL (Liquid in its host). */
export function siteOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.host === '' ? undefined : `${parsed.protocol}//${parsed.host}`;
  } catch {
    return undefined;
  }
}

/** A link as the Location header takes it (an IDN host in punycode, a path percent-encoded); undefined for none. */
export function asciiLink(url: string): string | undefined {
  try {
    return new URL(url).href;
  } catch {
    return undefined;
  }
}

export function shortLinkUrl(publicUrl: string, code: string): string {
  return `${publicUrl}/s/${code}`;
}

function newCode(): string {
  let code = '';
  for (let index = 0; index < CODE_LENGTH; index++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

function replaced(
  text: string,
  links: ReadonlyArray<{ start: number; end: number }>,
  replacements: string[],
): string {
  let result = '';
  let at = 0;
  links.forEach((link, index) => {
    result += text.slice(at, link.start) + replacements[index];
    at = link.end;
  });
  return result + text.slice(at);
}

/**
 * The text with each link to a site the step's own text links to (see `linkedSites`) a short link of
 * the workspace's public address, stored with the message it belongs to, so that a click is recorded
 * and redirected (see `followShortLink`). Each link gets a code of its own, the same URL twice two
 * codes: a click names the place it was made in.
 */
export async function shortenLinks(
  storage: Storage,
  input: {
    text: string;
    sites: ReadonlySet<string>;
    message: Pick<Message, 'id' | 'workspaceId'>;
    publicUrl: string;
    now: number;
  },
): Promise<string> {
  const links = shortenable(input.text, input.sites);
  if (links.length === 0) return input.text;
  for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
    const codes = links.map(() => newCode());
    const stored = await storage.messages.addShortLinks(
      links.map((link, index) => ({
        code: codes[index] as string,
        workspaceId: input.message.workspaceId,
        messageId: input.message.id,
        url: link.target,
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

/** The links of a rendered text that go out shortened: to the step's own sites, and readable as URLs. */
function shortenable(
  text: string,
  sites: ReadonlySet<string>,
): Array<{ start: number; end: number; target: string }> {
  return linksIn(text).flatMap((link) => {
    const site = siteOf(link.url);
    const target = asciiLink(link.url);
    return site && target && sites.has(site) ? [{ start: link.start, end: link.end, target }] : [];
  });
}

/** The text as a preview counts it: each link that would be shortened as long as its short link. */
export function withShortLinksForCounting(
  text: string,
  sites: ReadonlySet<string>,
  publicUrl: string,
): string {
  const links = shortenable(text, sites);
  return replaced(
    text,
    links,
    links.map(() => shortLinkUrl(publicUrl, 'x'.repeat(CODE_LENGTH))),
  );
}

/**
 * The user agents messaging apps and carriers fetch a link with to draw its preview (iMessage goes as
 * facebookexternalhit and Twitterbot), before anyone has clicked it.
 */
const LINK_PREVIEW_AGENTS =
  /facebookexternalhit|facebot|twitterbot|whatsapp|telegrambot|slackbot|slack-imgproxy|skypeuripreview|discordbot|linkedinbot|redditbot|pinterestbot|applebot|googlebot|bingbot|google-pagerenderer|embedly|iframely|vkshare|viber/i;

/** Whether a request is a link preview's, not a person's click. */
export function isLinkPreview(userAgent: string | undefined): boolean {
  return userAgent !== undefined && LINK_PREVIEW_AGENTS.test(userAgent);
}

/** The short link of a code; 404 for a code no text was sent with. */
async function findLink(storage: Storage, code: string): Promise<{ messageId: string; url: string }> {
  const link = CODE_PATTERN.test(code) ? await storage.messages.findShortLink(code) : undefined;
  if (!link) throw new AppError('not_found', 'this link does not exist, or no longer does');
  return link;
}

/** Where a short link goes, nothing recorded; 404 for a code no text was sent with. */
export async function shortLinkTarget(storage: Storage, code: string): Promise<string> {
  return (await findLink(storage, code)).url;
}

/**
 * A click on a short link: where it goes, after the click is recorded on the message (`clicked_at`,
 * the first time) and as `SMS Link Clicked` on the recipient's profile (once per link: the same
 * recipient opening it again is one click; a test send's on the message only). 404 for a code no text
 * was sent with.
 */
export async function followShortLink(
  deps: { storage: Storage; clock: Clock; append: Append },
  code: string,
): Promise<string> {
  const link = await findLink(deps.storage, code);
  const message = await deps.storage.messages.findById(link.messageId);
  if (!message) throw new AppError('not_found', 'this link does not exist, or no longer does');
  await deps.storage.messages.markFirst(message.id, 'clicked_at', deps.clock.now());
  if (isTestSend(message)) return link.url;
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
